//! Killing `vtsum scan` mid-run (SIGKILL, SIGINT, SIGTERM) loses nothing and asks nothing
//! twice: the scan is a job in the SQLite store, written before the first request, and
//! each answer is written as it arrives. Counts come from the fake VirusTotal's own per-hash counters.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;
use vtsum_test_utils::report_inputs;

const RATE: &str = "3/400ms";

async fn fake() -> fakevt::FakeVt {
    fakevt::spawn(fakevt::Config {
        keys: vec!["k1".into()],
        limits: fakevt::Limits {
            windows: vec![(3, Duration::from_millis(400))],
            daily: None,
        },
        seed: 5,
        corpus_size: 60,
        addr: ([127, 0, 0, 1], 0).into(),
    })
    .await
    .unwrap()
}

fn scan(fake: &fakevt::FakeVt, dir: &Path, input: &Path) -> Command {
    let mut cmd = Command::cargo_bin("vtsum").unwrap();
    cmd.env_clear()
        .env("HOME", dir)
        .env("VT_API_URL", fake.url())
        .env("VT_API_KEY", "k1")
        .env("VT_RATE", RATE)
        .env(
            "VTSUM_STORE",
            format!("sqlite:{}", dir.join("vtsum.db").display()),
        )
        .args(["scan", "--format", "json", "--concurrency", "1"])
        .arg(input)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn write_input(fake: &fakevt::FakeVt, dir: &Path, n: usize) -> (std::path::PathBuf, Vec<String>) {
    let hashes = fake.corpus().sha256s(n);
    let path = dir.join("in.txt");
    std::fs::write(&path, hashes.join("\n")).unwrap();
    (path, hashes)
}

/// Waits until the fake has admitted `n` requests (bounded: fails after 30 s).
async fn wait_for_requests(fake: &fakevt::FakeVt, n: usize) {
    let start = Instant::now();
    while fake.counters().arrivals.len() < n {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the scan never got going"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn finish(child: Child) -> std::process::Output {
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_scan_loses_nothing_and_repeats_at_most_the_request_in_flight() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let (input, hashes) = write_input(&fake, dir.path(), 15);
    let mut child = scan(&fake, dir.path(), &input).spawn().unwrap();
    wait_for_requests(&fake, 5).await;
    child.kill().unwrap(); // SIGKILL
    let _ = finish(child);
    let before = fake.counters().arrivals.len();
    assert!(before < 15, "killed mid-scan ({before} requests)");

    let out = finish(scan(&fake, dir.path(), &input).spawn().unwrap());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report_inputs(&v), hashes, "nothing lost");
    let c = fake.counters();
    let repeated: Vec<&String> = hashes
        .iter()
        .filter(|h| c.requests_by_hash[h.as_str()] > 1)
        .collect();
    // With one request in flight at most, only that one can have been lost with the process.
    assert!(repeated.len() <= 1, "asked twice: {repeated:?}");
    assert!(hashes.iter().all(|h| c.requests_by_hash[h.as_str()] <= 2));
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_mid_scan_exits_130_and_the_rerun_asks_nothing_twice() {
    interrupted_mid_scan("-INT").await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_scan_exits_130_and_the_rerun_asks_nothing_twice() {
    interrupted_mid_scan("-TERM").await;
}

/// Sends `signal` mid-scan: exit 130 with the partial report, then a rerun resumes.
async fn interrupted_mid_scan(signal: &str) {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let (input, hashes) = write_input(&fake, dir.path(), 15);
    let child = scan(&fake, dir.path(), &input).spawn().unwrap();
    wait_for_requests(&fake, 5).await;
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = finish(child);
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let partial: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kept = partial["results"].as_array().unwrap().len();
    assert!((5..15).contains(&kept), "partial report of {kept} rows");
    assert_eq!(partial["summary"]["pending"], 15 - kept);

    let out = finish(scan(&fake, dir.path(), &input).spawn().unwrap());
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("resuming"), "{stderr}");
    let c = fake.counters();
    for h in &hashes {
        assert_eq!(c.requests_by_hash[h.as_str()], 1, "{h} asked once");
    }
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["results"].as_array().unwrap().len(), 15);
}
