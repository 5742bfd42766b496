//! What README promises about a scan's life beyond the happy path: retries with backoff and
//! jitter, then `error` rows and exit code 5, every failed request counted in the ledger;
//! the demo offline with its own store; completions and the man page; the server's log
//! never holding a key; and memory that does not grow with the input's size.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

async fn fake(keys: &[&str]) -> fakevt::FakeVt {
    let windows = [(100, Duration::from_millis(100))];
    fakevt::spawn(vtsum_test_utils::fake_config(keys, &windows, Some(500)))
        .await
        .unwrap()
}

fn vtsum(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("vtsum").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"));
    cmd
}

fn at(fake: &fakevt::FakeVt, home: &Path, keys: &str) -> Command {
    let mut cmd = vtsum(home);
    cmd.env("VT_API_URL", fake.url())
        .env("VT_API_KEY", keys)
        .env("VT_RATE", "100/100ms")
        .env(
            "VTSUM_STORE",
            format!("sqlite:{}", home.join("vtsum.db").display()),
        );
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lasting_failures_back_off_with_jitter_end_as_error_rows_exit_5_and_count_in_the_ledger() {
    let fake = fake(&["k1"]).await;
    let dir = tempfile::tempdir().unwrap();
    let hashes = fake.corpus().sha256s(3);
    let path = dir.path().join("in.txt");
    std::fs::write(&path, hashes.join("\n")).unwrap();
    fake.faults().fail_next(fakevt::Fault::Status(503), 1000);
    let out = at(&fake, dir.path(), "k1")
        .env("VTSUM_RETRY_BACKOFF", "40ms")
        .args(["scan", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = report["results"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["status"] == "error"
        && r["error"]
            .as_str()
            .unwrap()
            .contains("gave up after 5 attempts")));
    let c = fake.counters();
    assert_eq!(
        c.arrivals.len(),
        15,
        "1 try + 4 retries for each of 3 hashes"
    );
    // The gaps between one hash's tries grow (doubling) and differ between hashes (jitter).
    let mut first_gaps = Vec::new();
    for h in &hashes {
        let t: Vec<f64> = c
            .arrivals
            .iter()
            .filter(|a| a.hashes.contains(h))
            .map(|a| a.at_ms)
            .collect();
        let gaps: Vec<f64> = t.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(gaps.len(), 4);
        assert!(
            gaps[0] >= 20.0,
            "the first retry waits at least half the backoff: {gaps:?}"
        );
        assert!(gaps[3] >= 2.0 * gaps[0], "backoff grows: {gaps:?}");
        first_gaps.push(gaps.iter().sum::<f64>());
    }
    // Without jitter each hash would wait exactly 40 + 80 + 160 + 320 ms; jitter draws
    // each wait from its upper half, so the totals fall below that.
    let shortest = first_gaps.iter().cloned().fold(f64::MAX, f64::min);
    assert!(
        shortest < 0.9 * 600.0,
        "jitter shortens waits: {first_gaps:?}"
    );
    // Every request counts against the quota, failed ones too.
    let quota = at(&fake, dir.path(), "k1")
        .args(["quota", "--json"])
        .output()
        .unwrap();
    let keys: Value = serde_json::from_slice(&quota.stdout).unwrap();
    assert_eq!(keys[0]["ledger_today"], 15, "{keys}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_scans_offline_into_a_store_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hashes.txt");
    let run = || {
        vtsum(dir.path())
            .args(["scan", "--demo", "--format", "json"])
            .arg(&examples)
            .output()
            .unwrap()
    };
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = report["results"].as_array().unwrap();
    assert_eq!(rows.len(), 28, "examples/hashes.txt holds 28 hashes");
    for verdict in ["malicious", "suspicious", "clean", "unanalysed", "unknown"] {
        assert!(
            rows.iter().any(|r| r["verdict"] == verdict),
            "a {verdict} row"
        );
    }
    let data = dir.path().join("data/vtsum");
    assert!(data.join("vtsum-demo.db").exists(), "the demo's own store");
    assert!(!data.join("vtsum.db").exists(), "the real store untouched");
    let again: Value = serde_json::from_slice(&run().stdout).unwrap();
    assert!(again["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["from_cache"] == true));
}

#[test]
fn completions_for_each_shell_and_the_man_page_exit_0() {
    for (shell, mark) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef vtsum"),
        ("fish", "complete -c vtsum"),
    ] {
        let out = Command::cargo_bin("vtsum")
            .unwrap()
            .args(["completions", shell])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(mark) && text.contains("scan"),
            "{shell}: {text:.200}"
        );
    }
    let man = Command::cargo_bin("vtsum")
        .unwrap()
        .arg("man")
        .output()
        .unwrap();
    assert_eq!(man.status.code(), Some(0));
    let text = String::from_utf8_lossy(&man.stdout);
    assert!(text.contains(".TH") && text.contains("scan"), "{text:.200}");
}

/// Starts `vtsum serve` from `cmd`; returns it, its base URL, and its whole log once it
/// stops.
fn serve_logged(
    cmd: &mut Command,
) -> (std::process::Child, String, std::thread::JoinHandle<String>) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let log = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("serving on ").nth(1) {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the server starts");
    (child, url, log)
}

/// Submits `text` as a web job and waits (at most 60 s) until it is done; returns it.
async fn run_web_job(url: &str, text: String) -> Value {
    let client = reqwest::Client::new();
    let res = client
        .post(format!("{url}/api/v1/jobs"))
        .header("content-type", "text/plain")
        .body(text)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job: Value = client
            .get(format!("{url}/api/v1/jobs/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if job["state"] == "done" {
            return job;
        }
        assert!(Instant::now() < deadline, "stuck: {job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// SIGTERM: a clean stop.
fn stop(mut child: std::process::Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_log_never_holds_a_key() {
    let fake = fake(&["good-key-0123456789abcdef"]).await;
    let dir = tempfile::tempdir().unwrap();
    let keys = "good-key-0123456789abcdef,wrong-key-fedcba9876543210";
    let (child, url, log) =
        serve_logged(at(&fake, dir.path(), keys).env("RUST_LOG", "trace").args([
            "serve",
            "--bind",
            "127.0.0.1:0",
        ]));
    run_web_job(&url, fake.corpus().sha256s(6).join("\n")).await;
    stop(child);
    let log = log.join().unwrap();
    let wrong = vtsum_core::ApiKey::new("wrong-key-fedcba9876543210")
        .id()
        .to_string();
    assert!(
        log.contains(&wrong),
        "the rejected key is named by its id: {log}"
    );
    for secret in [
        "good-key-0123456789abcdef",
        "wrong-key-fedcba9876543210",
        "0123456789abcdef",
        "fedcba9876543210",
    ] {
        assert!(!log.contains(secret), "{secret} in the server's log");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_mb_input_is_streamed_in_bounded_memory() {
    let fake = fake(&["k1"]).await;
    let dir = tempfile::tempdir().unwrap();
    let hashes = fake.corpus().sha256s(20);
    let path = dir.path().join("big.log");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let noise = "2026-11-26T10:00:00Z host=pc-17 proc=svchost.exe action=allowed bytes=1234 path=C:\\\\Windows\\\\System32\\\\\n";
        let lines = 520 * 1024 * 1024 / noise.len();
        for i in 0..lines {
            if i % 200_000 == 0 {
                writeln!(f, "alert file={}", hashes[(i / 200_000) % hashes.len()]).unwrap();
            } else {
                f.write_all(noise.as_bytes()).unwrap();
            }
        }
    }
    assert!(std::fs::metadata(&path).unwrap().len() >= 500 * 1024 * 1024);
    let mut child = at(&fake, dir.path(), "k1")
        .args(["scan", "-q", "--format", "csv", "-o"])
        .arg(dir.path().join("out.csv"))
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let peak = support::peak_rss_kib(&mut child);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + hashes.len());
    assert!(peak > 0, "the peak was read");
    assert!(peak < 100 * 1024, "peak RSS {peak} KiB for a 500 MB input");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_runs_a_job_offline_in_its_own_store() {
    let dir = tempfile::tempdir().unwrap();
    let (child, url, _log) =
        serve_logged(vtsum(dir.path()).args(["serve", "--demo", "--bind", "127.0.0.1:0"]));
    let front = reqwest::get(&url).await.unwrap();
    assert_eq!(front.status(), 200);
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hashes.txt");
    let job = run_web_job(&url, std::fs::read_to_string(examples).unwrap()).await;
    assert_eq!(
        (job["total"].as_u64(), job["done"].as_u64()),
        (Some(28), Some(28))
    );
    stop(child);
    let data = dir.path().join("data/vtsum");
    assert!(data.join("vtsum-demo.db").exists(), "the demo's own store");
    assert!(!data.join("vtsum.db").exists(), "the real store untouched");
}

#[test]
fn serve_refuses_bad_settings_with_exit_2_even_into_an_unwritable_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    // Refusing a non-loopback bind without a token, saying so into /dev/full: no panic.
    let out = vtsum(dir.path())
        .args(["serve", "--bind", "0.0.0.0:0"])
        .stderr(full())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // A threshold of 0 is refused by serve as by scan.
    let out = vtsum(dir.path())
        .args(["serve", "--bind", "127.0.0.1:0", "--threshold", "0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("threshold"), "{stderr}");
}
