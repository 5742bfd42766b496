//! Exit code 3 when every key is out of daily quota, then `--wait` sleeping through the
//! reset at 00:00 UTC and finishing the scan — tested across a real midnight: the fake
//! VirusTotal and vtsum run as processes whose wall clock libfaketime sets a few seconds
//! before midnight (the same offset for both; monotonic time untouched, so timers are
//! real). `scripts/test.sh` installs Debian's `faketime`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// Runs `cmd` with its wall clock `offset` seconds ahead of the real one.
fn faked(cmd: &mut Command, offset: i64) -> &mut Command {
    cmd.env("LD_PRELOAD", LIBFAKETIME)
        .env("FAKETIME", format!("{offset:+}s"))
        .env("DONT_FAKE_MONOTONIC", "1")
}

/// Seconds to add to now so that it is `before` seconds to the next 00:00 UTC.
fn offset_to_midnight(before: i64) -> i64 {
    let now = chrono::Utc::now().timestamp();
    let midnight = (now / 86_400 + 1) * 86_400;
    midnight - before - now
}

/// `vtsum fakevt` as a process; returns it and its base URL.
fn fakevt(offset: i64) -> (Child, String) {
    let mut cmd = Command::cargo_bin("vtsum").unwrap();
    faked(&mut cmd, offset)
        .args(["fakevt", "--keys", "k1", "--rate", "100/100ms,3/day"])
        .args(["--seed", "5", "--corpus-size", "40"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.starts_with("http://"),
        "the fake prints its URL: {line:?}"
    );
    (child, line.trim().to_string())
}

fn scan(url: &str, home: &Path, input: &PathBuf, offset: i64) -> Command {
    let mut cmd = Command::cargo_bin("vtsum").unwrap();
    faked(&mut cmd, offset)
        .env("HOME", home)
        .env("VT_API_URL", url)
        .env("VT_API_KEY", "k1")
        .env("VT_RATE", "100/100ms,3/day")
        .env(
            "VTSUM_STORE",
            format!("sqlite:{}", home.join("vtsum.db").display()),
        )
        .args(["scan", "--format", "json"])
        .arg(input);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_day_exits_3_and_wait_sleeps_through_midnight_then_finishes() {
    assert!(
        Path::new(LIBFAKETIME).exists(),
        "{LIBFAKETIME} is missing: install Debian's faketime (scripts/test.sh does)"
    );
    let offset = offset_to_midnight(8);
    let (mut fake, url) = fakevt(offset);
    let dir = tempfile::tempdir().unwrap();
    let list = Command::cargo_bin("vtsum")
        .unwrap()
        .args(["fakevt", "--seed", "5", "--corpus-size", "40", "--list"])
        .output()
        .unwrap();
    let hashes: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .take(6)
        .map(|l| l.split_whitespace().nth(2).unwrap().to_string())
        .collect();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, hashes.join("\n")).unwrap();

    let first = scan(&url, dir.path(), &input, offset).output().unwrap();
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("00:00") && stderr.contains("--wait"),
        "{stderr}"
    );
    let partial: Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(partial["results"].as_array().unwrap().len(), 3);

    let second = scan(&url, dir.path(), &input, offset)
        .arg("--wait")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("waiting until"),
        "it said it waits: {stderr}"
    );
    let report: Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(
        report["results"].as_array().unwrap().len(),
        6,
        "finished after the reset"
    );

    let counters: Value = reqwest::get(format!("{url}/_fake/counters"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let arrivals = counters["arrivals"].as_array().unwrap();
    assert_eq!(
        arrivals.len(),
        6,
        "3 before midnight, 3 after: no 429, nothing twice"
    );
    assert!(arrivals.iter().all(|a| a["status"] == 200));
    let _ = fake.kill();
    let _ = fake.wait();
}
