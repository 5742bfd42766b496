//! Cached one-hash lookups over HTTP: `GET /api/v1/files/{hash}` on `vtsum serve` with a
//! SQLite cache of N files, random cached hashes, `wrk` at 32 connections; `/healthz` on
//! the same server in the same run is the anchor (the ceiling of the HTTP stack).
//!
//! Needs the release `vtsum` binary beside this one (`cargo build --release -p vtsum`) and
//! `wrk` on the PATH (Debian's `wrk`). The cache is filled by a `vtsum scan` against the
//! fake VirusTotal, as a user's would be.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const KEY: &str = "bench-lookup-key";

/// What wrk measured for one route.
struct Measured {
    requests_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Reads wrk's `--latency` report.
fn parse_wrk(text: &str) -> Result<Measured, String> {
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix(prefix)
                    .map(str::trim)
                    .map(str::to_string)
            })
            .ok_or_else(|| format!("wrk printed no {prefix:?}: {text}"))
    };
    let ms = |v: String| -> Result<f64, String> {
        let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
        let n: f64 = num.parse().map_err(|_| format!("bad latency {v:?}"))?;
        Ok(match unit {
            "us" => n / 1000.0,
            "s" => n * 1000.0,
            _ => n,
        })
    };
    Ok(Measured {
        requests_per_sec: field("Requests/sec:")?
            .parse()
            .map_err(|_| "bad Requests/sec".to_string())?,
        p50_ms: ms(field("50%")?)?,
        p99_ms: ms(field("99%")?)?,
    })
}

fn wrk(url: &str, script: Option<&Path>, secs: u64) -> Result<Measured, String> {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t2", "-c32", &format!("-d{secs}s"), "--latency"]);
    if let Some(s) = script {
        cmd.arg("-s").arg(s);
    }
    let out = cmd
        .arg(url)
        .output()
        .map_err(|e| format!("cannot run wrk ({e}): install Debian's wrk"))?;
    parse_wrk(&String::from_utf8_lossy(&out.stdout))
}

/// Starts `vtsum serve` on a free port; returns it and its base URL.
fn serve(
    bin: &Path,
    fake: &fakevt::FakeVt,
    store: &str,
    home: &Path,
) -> Result<(Child, String), String> {
    let mut child = Command::new(bin)
        .env_clear()
        .env("HOME", home)
        .env("VT_API_URL", fake.url())
        .env("VT_API_KEY", KEY)
        .env("VTSUM_STORE", store)
        .env("RUST_LOG", "warn")
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(rest) = line.split("serving on ").nth(1) {
                    break rest.split_whitespace().next().unwrap_or("").to_string();
                }
            }
            _ => return Err("vtsum serve did not start".into()),
        }
    };
    // Keep reading so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.map_while(Result::ok).count());
    Ok((child, url))
}

pub fn run(args: &[String]) -> Result<(), String> {
    let n: usize = crate::flag(args, "--files", 30_000)?;
    let secs: u64 = crate::flag(args, "--seconds", 10)?;
    let bin = crate::vtsum_binary()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let fake = rt
        .block_on(fakevt::spawn(fakevt::Config {
            corpus_size: n,
            ..vtsum_test_utils::fake_config(&[KEY], &[(1_000_000, Duration::from_secs(1))], None)
        }))
        .map_err(|e| e.to_string())?;
    let dir = std::env::temp_dir().join(format!("vtsum-bench-lookups-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let store = format!("sqlite:{}", dir.join("vtsum.db").display());
    let hashes = fake.corpus().sha256s(n);
    let list = dir.join("hashes.txt");
    std::fs::write(&list, hashes.join("\n")).map_err(|e| e.to_string())?;
    let filled = Command::new(&bin)
        .env_clear()
        .env("HOME", &dir)
        .env("VT_API_URL", fake.url())
        .env("VT_API_KEY", KEY)
        .env("VT_RATE", "1000000/1s")
        .env("VTSUM_STORE", &store)
        .args(["scan", "-q", "--concurrency", "32", "--format", "csv", "-o"])
        .arg(dir.join("fill.csv"))
        .arg(&list)
        .status()
        .map_err(|e| e.to_string())?;
    if !filled.success() {
        return Err(format!("filling the cache failed: {filled}"));
    }
    // wrk picks a random cached hash for every request.
    let script = dir.join("random.lua");
    let table: Vec<String> = hashes.iter().map(|h| format!("\"{h}\"")).collect();
    std::fs::write(
        &script,
        format!(
            "local h = {{{}}}\nrequest = function()\n  return wrk.format(nil, \"/api/v1/files/\" .. h[math.random(#h)])\nend\n",
            table.join(",")
        ),
    )
    .map_err(|e| e.to_string())?;
    let (mut server, url) = serve(&bin, &fake, &store, &dir)?;
    let health = wrk(&format!("{url}/healthz"), None, secs);
    let lookups = wrk(&url, Some(&script), secs);
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let (health, lookups) = (health?, lookups?);
    println!("SQLite cache of {n} files, wrk -t2 -c32 -d{secs}s, random cached hashes");
    println!();
    println!("| route | requests/s | p50 | p99 | vs /healthz |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (route, m) in [
        ("GET /healthz (anchor)", &health),
        ("GET /api/v1/files/{hash}", &lookups),
    ] {
        println!(
            "| {route} | {:.0} | {:.2} ms | {:.2} ms | {:.2}x |",
            m.requests_per_sec,
            m.p50_ms,
            m.p99_ms,
            m.requests_per_sec / health.requests_per_sec
        );
    }
    Ok(())
}
