//! Cached one-hash lookups over HTTP: `GET /api/v1/files/{hash}` and the
//! VirusTotal-compatible `GET /api/v3/files/{hash}` (a loopback client, counted as `local`)
//! on `vtsum serve` with a cache of N files (SQLite, then Redis), random cached hashes,
//! `wrk` at 32 connections;
//! `/healthz` on the same server in the same run is the anchor (the ceiling of the HTTP
//! stack). Also a `vtsum scan` of all N hashes when every one is already in the SQLite
//! cache (rows/s): the CLI's cached path, with no HTTP in the way.
//!
//! Needs the release `vtsum` binary beside this one (`cargo build --release -p vtsum`),
//! `wrk` on the PATH (Debian's `wrk`) and `redis-server` (one is started on a free port and
//! stopped afterwards; `--redis URL` or `VTSUM_BENCH_REDIS` names another, `--redis none`
//! skips Redis). The caches are filled by a `vtsum scan` against the fake VirusTotal, as a
//! user's would be.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vtsum_test_utils::RedisServer;

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
    // Non-2xx answers would make a fast but wrong figure.
    if let Some(line) = text.lines().find(|l| l.contains("Non-2xx")) {
        return Err(format!("wrk saw errors: {}", line.trim()));
    }
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
    let url = crate::served_url(&mut child)?;
    Ok((child, url))
}

/// One bench run's fixed parts: the binary, the fake, the hashes and where files go.
struct Bench {
    bin: PathBuf,
    fake: fakevt::FakeVt,
    dir: PathBuf,
    list: PathBuf,
    /// wrk scripts asking `/api/v1/files/…` and `/api/v3/files/…`.
    scripts: [PathBuf; 2],
    secs: u64,
}

impl Bench {
    /// `vtsum scan` of every hash into `store`; returns how long it took.
    fn scan(&self, store: &str, out: &str) -> Result<Duration, String> {
        let started = Instant::now();
        let status = Command::new(&self.bin)
            .env_clear()
            .env("HOME", &self.dir)
            .env("VT_API_URL", self.fake.url())
            .env("VT_API_KEY", KEY)
            .env("VT_RATE", "1000000/1s")
            .env("VTSUM_STORE", store)
            .args(["scan", "-q", "--concurrency", "32", "--format", "csv", "-o"])
            .arg(self.dir.join(out))
            .arg(&self.list)
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("vtsum scan into {store} failed: {status}"));
        }
        Ok(started.elapsed())
    }

    /// `/healthz` then the lookups, on one server over `store`.
    fn http(&self, store: &str) -> Result<(Measured, [Measured; 2]), String> {
        let (mut server, url) = serve(&self.bin, &self.fake, store, &self.dir)?;
        let health = wrk(&format!("{url}/healthz"), None, self.secs);
        let v1 = wrk(&url, Some(&self.scripts[0]), self.secs);
        let v3 = wrk(&url, Some(&self.scripts[1]), self.secs);
        let _ = server.kill();
        let _ = server.wait();
        Ok((health?, [v1?, v3?]))
    }
}

fn table(title: &str, health: &Measured, [v1, v3]: &[Measured; 2]) {
    println!("{title}");
    println!();
    println!("| route | requests/s | p50 | p99 | vs /healthz |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (route, m) in [
        ("GET /healthz (anchor)", health),
        ("GET /api/v1/files/{hash}", v1),
        ("GET /api/v3/files/{hash}", v3),
    ] {
        println!(
            "| {route} | {:.0} | {:.2} ms | {:.2} ms | {:.2}x |",
            m.requests_per_sec,
            m.p50_ms,
            m.p99_ms,
            m.requests_per_sec / health.requests_per_sec
        );
    }
    println!();
}

pub fn run(args: &[String]) -> Result<(), String> {
    let n: usize = crate::flag(args, "--files", 30_000)?;
    let secs: u64 = crate::flag(args, "--seconds", 10)?;
    let given = crate::flag(
        args,
        "--redis",
        std::env::var("VTSUM_BENCH_REDIS").unwrap_or_default(),
    )?;
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
    let hashes = fake.corpus().sha256s(n);
    let list = dir.join("hashes.txt");
    std::fs::write(&list, hashes.join("\n")).map_err(|e| e.to_string())?;
    // wrk picks a random cached hash for every request.
    let quoted: Vec<String> = hashes.iter().map(|h| format!("\"{h}\"")).collect();
    let scripts = ["v1", "v3"].map(|version| dir.join(format!("random-{version}.lua")));
    for (script, version) in scripts.iter().zip(["v1", "v3"]) {
        std::fs::write(
            script,
            format!(
                "local h = {{{}}}\nrequest = function()\n  return wrk.format(nil, \"/api/{version}/files/\" .. h[math.random(#h)])\nend\n",
                quoted.join(",")
            ),
        )
        .map_err(|e| e.to_string())?;
    }
    let bench = Bench {
        bin,
        fake,
        dir: dir.clone(),
        list,
        scripts,
        secs,
    };
    let result = measure(&bench, n, &given);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn measure(bench: &Bench, n: usize, given: &str) -> Result<(), String> {
    let secs = bench.secs;
    let sqlite = format!("sqlite:{}", bench.dir.join("vtsum.db").display());
    bench.scan(&sqlite, "fill.csv")?;
    let on_disk = ["vtsum.db", "vtsum.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(bench.dir.join(f)).ok())
        .map(|m| m.len())
        .sum::<u64>();
    println!(
        "SQLite cache of {n} files on disk (file and WAL): {:.1} MB, {} bytes per file",
        on_disk as f64 / 1e6,
        on_disk / n as u64
    );
    // The cache's own tables and indexes, apart from the fill job's rows (sqlite3's dbstat).
    let db = bench.dir.join("vtsum.db");
    let sizes = Command::new("sqlite3")
        .arg(&db)
        .arg(
            "PRAGMA wal_checkpoint(TRUNCATE); SELECT SUM(pgsize) FROM dbstat WHERE name IN \
             ('answers', 'documents', 'answers_md5', 'answers_sha1', 'sqlite_autoindex_answers_1');",
        )
        .output()
        .map_err(|e| format!("sqlite3: {e} (install Debian's sqlite3)"))?;
    let text = String::from_utf8_lossy(&sizes.stdout);
    let cache_bytes: u64 = text
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    println!(
        "of which the cache's tables and indexes: {:.1} MB, {} bytes per file",
        cache_bytes as f64 / 1e6,
        cache_bytes / n as u64
    );
    let cached = bench.scan(&sqlite, "cached.csv")?;
    let (health, lookups) = bench.http(&sqlite)?;
    table(
        &format!("SQLite cache of {n} files, wrk -t2 -c32 -d{secs}s, random cached hashes"),
        &health,
        &lookups,
    );
    println!(
        "`vtsum scan` of {n} hashes all in the SQLite cache: {:.2} s, {:.0} rows/s",
        cached.as_secs_f64(),
        n as f64 / cached.as_secs_f64()
    );
    println!();
    if given == "none" {
        return Ok(());
    }
    let own = if given.is_empty() {
        Some(RedisServer::spawn(false)?)
    } else {
        None
    };
    let base = own.as_ref().map_or(given.to_string(), RedisServer::url);
    let redis = format!("{base}?prefix=vtsum-bench-lookups:{}:", std::process::id());
    bench.scan(&redis, "fill-redis.csv")?;
    let (health, lookups) = bench.http(&redis)?;
    table(
        &format!("Redis cache of {n} files, wrk -t2 -c32 -d{secs}s, random cached hashes"),
        &health,
        &lookups,
    );
    Ok(())
}
