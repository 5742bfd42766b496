//! Helpers for tests that run vtsum as a process: a fake VirusTotal and `vtsum` pointed at
//! it with nothing from the outside environment, an input file, a run's output; start a
//! server and wait until it is ready, stop it, and drive a job through the web API.
#![allow(dead_code)] // each test file uses its own share of these

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

use serde_json::Value;

/// A fake VirusTotal in this test process accepting `keys`, 100 requests per 100 ms each.
pub async fn fake(keys: &[&str]) -> fakevt::FakeVt {
    let windows = [(100, Duration::from_millis(100))];
    fakevt::spawn(vtsum_test_utils::fake_config(keys, &windows, None))
        .await
        .unwrap()
}

/// `vtsum` with nothing from the outside environment but what is set here.
pub fn bare(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("vtsum").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("VTSUM_RETRY_BACKOFF", "10ms");
    cmd
}

/// `vtsum` pointed at `fake` with key `k1` at 100 per 100 ms and a SQLite store in `home`
/// (later `.env` calls override any of these).
pub fn vtsum(fake: &fakevt::FakeVt, home: &Path) -> Command {
    let mut cmd = bare(home);
    cmd.env("VT_API_URL", fake.url())
        .env("VT_API_KEY", "k1")
        .env("VT_RATE", "100/100ms")
        .env(
            "VTSUM_STORE",
            format!("sqlite:{}", home.join("vtsum.db").display()),
        );
    cmd
}

/// `known` corpus sha256s and `unknown` unknown hashes, one a line, in a file.
pub fn input(
    fake: &fakevt::FakeVt,
    dir: &Path,
    known: usize,
    unknown: u64,
) -> (PathBuf, Vec<String>) {
    let mut hashes = fake.corpus().sha256s(known);
    hashes.extend((0..unknown).map(fakevt::unknown_hash));
    let path = dir.join("in.txt");
    std::fs::write(&path, hashes.join("\n")).unwrap();
    (path, hashes)
}

/// The run's output, once it is known to have succeeded (its stderr in the message if not).
pub fn success(out: Output) -> Output {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    out
}

/// The stdout of a run that succeeded.
pub fn ok(out: &Output) -> String {
    String::from_utf8_lossy(&success(out.clone()).stdout).into_owned()
}

/// The JSON on the stdout of a run that succeeded.
pub fn json(out: &Output) -> Value {
    serde_json::from_str(&ok(out)).expect("JSON on stdout")
}

/// Starts a process and waits until a line of its stderr contains `ready`; returns the
/// process and the rest of that line.
pub fn start(mut cmd: Command, ready: &'static str) -> (Child, String) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split(ready).nth(1) {
                let _ = tx.send(rest.to_string());
            }
        }
    });
    let rest = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("the process never said {ready:?}"));
    (child, rest)
}

/// SIGTERM, then waits: a clean stop.
pub fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// Submits hashes as a web job; returns its id.
pub async fn submit(client: &reqwest::Client, url: &str, hashes: &[String]) -> String {
    let res = client
        .post(format!("{url}/api/v1/jobs"))
        .header("content-type", "text/plain")
        .body(hashes.join("\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Polls the job until `done` reaches `n`, riding out errors (Redis may be down).
pub async fn wait_done(client: &reqwest::Client, url: &str, id: &str, n: u64, secs: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut last = Value::Null;
    loop {
        let got = client.get(format!("{url}/api/v1/jobs/{id}")).send().await;
        if let Ok(res) = got.and_then(|r| r.error_for_status()) {
            last = res.json().await.unwrap();
            if last["done"].as_u64().unwrap_or(0) >= n {
                return last;
            }
        }
        assert!(Instant::now() < deadline, "stuck at {last}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The job's rows' inputs, in order.
pub async fn inputs(client: &reqwest::Client, url: &str, id: &str) -> Vec<String> {
    let rows: Value = client
        .get(format!("{url}/api/v1/jobs/{id}/results?format=json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    vtsum_test_utils::report_inputs(&rows)
}

/// Polls until the job's state is `state`.
pub async fn wait_state(client: &reqwest::Client, url: &str, id: &str, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = client.get(format!("{url}/api/v1/jobs/{id}")).send().await;
        let mut last = String::from("no answer");
        if let Ok(res) = got.and_then(|r| r.error_for_status()) {
            let j: Value = res.json().await.unwrap();
            if j["state"] == state {
                return j;
            }
            last = j.to_string();
        }
        // Checked whatever the server answered, so a dead server fails instead of hanging.
        assert!(Instant::now() < deadline, "stuck at {last}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Peak resident memory of a process, read from /proc while it runs.
pub fn peak_rss_kib(child: &mut std::process::Child) -> u64 {
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        if let Ok(text) = std::fs::read_to_string(&status) {
            if let Some(kib) = text
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
            {
                peak = kib;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    peak
}
