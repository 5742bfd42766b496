//! Quota across processes on one SQLite file: two `vtsum scan` runs one right after the
//! other, and two at once, with one and with two keys at 4 requests per second each (the
//! public API's 4/min, compressed). Each run's process starts from the key windows the
//! store holds, so together they stay within the limits; utilisation is what the fake
//! admitted in the first W windows after its first request, divided by the ideal
//! K x 4 x W; 429s and repeats come from the fake's own counters.
//!
//! Needs the release `vtsum` binary beside this one (`cargo build --release -p vtsum`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const N: u32 = 4;
const WINDOW: Duration = Duration::from_secs(1);

struct Outcome {
    in_span: usize,
    ideal: usize,
    refused: usize,
    per_hash_max: u64,
    secs: f64,
}

fn scan(bin: &Path, fake: &fakevt::FakeVt, keys: &[String], dir: &Path, list: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("HOME", dir)
        .env("VT_API_URL", fake.url())
        .env("VT_API_KEY", keys.join(","))
        .env("VT_RATE", format!("{N}/{}ms", WINDOW.as_millis()))
        .env(
            "VTSUM_STORE",
            format!("sqlite:{}", dir.join("vtsum.db").display()),
        )
        .args(["scan", "--quiet", "--format", "csv", "-o"])
        .arg(list.with_extension("csv"))
        .arg(list)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

async fn one(bin: &Path, keys: usize, concurrent: bool, windows: usize) -> Result<Outcome, String> {
    let names: Vec<String> = (0..keys).map(|i| format!("runs-key-{i}")).collect();
    let keys_ref: Vec<&str> = names.iter().map(String::as_str).collect();
    let fake = fakevt::spawn(vtsum_test_utils::fake_config(
        &keys_ref,
        &[(N, WINDOW)],
        None,
    ))
    .await
    .map_err(|e| e.to_string())?;
    let dir = std::env::temp_dir().join(format!(
        "vtsum-bench-runs-{}-{keys}-{concurrent}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    // Each run has work for half the measured span and a window more, so the keys never
    // run dry inside it whichever run holds them.
    let per_run = keys * N as usize * (windows / 2 + 1);
    let files = fake.corpus().files();
    let mut lists = Vec::new();
    for r in 0..2 {
        let text: Vec<&str> = files[r * per_run..(r + 1) * per_run]
            .iter()
            .map(|f| f.sha256.as_str())
            .collect();
        let path = dir.join(format!("list{r}.txt"));
        std::fs::write(&path, text.join("\n")).map_err(|e| e.to_string())?;
        lists.push(path);
    }
    let started = Instant::now();
    if concurrent {
        let children: Vec<_> = lists
            .iter()
            .map(|l| scan(bin, &fake, &names, &dir, l).spawn())
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        for mut c in children {
            c.wait().map_err(|e| e.to_string())?;
        }
    } else {
        for l in &lists {
            scan(bin, &fake, &names, &dir, l)
                .status()
                .map_err(|e| e.to_string())?;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    let c = fake.counters();
    let t0 = c
        .arrivals
        .iter()
        .map(|a| a.at_ms)
        .fold(f64::INFINITY, f64::min);
    let span_ms = windows as f64 * WINDOW.as_secs_f64() * 1000.0;
    Ok(Outcome {
        in_span: c
            .arrivals
            .iter()
            .filter(|a| a.status == 200 && a.at_ms < t0 + span_ms)
            .count(),
        ideal: keys * N as usize * windows,
        refused: c.arrivals.iter().filter(|a| a.status == 429).count(),
        per_hash_max: c.requests_by_hash.values().copied().max().unwrap_or(0),
        secs,
    })
}

pub fn run(args: &[String]) -> Result<(), String> {
    let windows: usize = crate::flag(args, "--windows", 10)?;
    let bin = crate::vtsum_binary()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    println!(
        "keys at {N} per {} ms each, two `vtsum scan` runs on one SQLite file, {windows} windows measured",
        WINDOW.as_millis()
    );
    println!();
    println!("| runs | keys | requests admitted in {windows} windows | ideal K x {N} x {windows} | utilisation | 429s | max requests per hash | wall time |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for concurrent in [false, true] {
        for keys in [1, 2] {
            let o = rt.block_on(one(&bin, keys, concurrent, windows))?;
            println!(
                "| {} | {keys} | {} | {} | {:.1}% | {} | {} | {:.1} s |",
                if concurrent {
                    "two at once"
                } else {
                    "back to back"
                },
                o.in_span,
                o.ideal,
                100.0 * o.in_span as f64 / o.ideal as f64,
                o.refused,
                o.per_hash_max,
                o.secs
            );
        }
    }
    Ok(())
}
