//! `vtsum serve` as a process: killed mid-job (SIGKILL), then stopped (SIGTERM), then
//! started again, its job completes with nothing lost; only what was in flight at the
//! SIGKILL may have been asked twice, and nothing at the SIGTERM. Counts come from the fake
//! VirusTotal's own counters, which also show no 429 across the restarts.

mod support;

use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;
use support::{inputs, start, submit, wait_done, wait_state};

const KEYS: &str = "serve-key-1,serve-key-2";
const CONCURRENCY: u64 = 4;

async fn fake() -> fakevt::FakeVt {
    fakevt::spawn(fakevt::Config {
        keys: KEYS.split(',').map(String::from).collect(),
        limits: fakevt::Limits {
            windows: vec![(3, Duration::from_millis(500))],
            daily: None,
        },
        seed: 9,
        corpus_size: 80,
        addr: ([127, 0, 0, 1], 0).into(),
    })
    .await
    .unwrap()
}

/// Starts the server on a free port and returns it with its base URL.
fn serve(fake: &fakevt::FakeVt, dir: &Path) -> (Child, String) {
    let mut cmd = Command::cargo_bin("vtsum").unwrap();
    cmd.env_clear()
        .env("HOME", dir)
        .env("VT_API_URL", fake.url())
        .env("VT_API_KEY", KEYS)
        .env("VT_RATE", "3/500ms")
        .env(
            "VTSUM_STORE",
            format!("sqlite:{}", dir.join("vtsum.db").display()),
        )
        .args(["serve", "--bind", "127.0.0.1:0", "--concurrency"])
        .arg(CONCURRENCY.to_string());
    let (child, rest) = start(cmd, "serving on ");
    (
        child,
        rest.split_whitespace().next().unwrap_or("").to_string(),
    )
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_then_stopped_server_resumes_its_job_and_repeats_only_what_was_in_flight() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let hashes: Vec<String> = fake
        .corpus()
        .files()
        .iter()
        .take(36)
        .map(|f| f.sha256.clone())
        .collect();
    let client = reqwest::Client::new();

    let (mut child, url) = serve(&fake, dir.path());
    let id = submit(&client, &url, &hashes).await;
    wait_done(&client, &url, &id, 6, 60).await;
    child.kill().unwrap(); // SIGKILL: no chance to tidy up
    child.wait().unwrap();
    let after_kill = fake.counters().arrivals.len() as u64;
    assert!(after_kill < 36, "killed mid-job");

    let (child, url) = serve(&fake, dir.path());
    wait_done(&client, &url, &id, after_kill + 6, 60).await;
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "SIGTERM is a clean stop: {:?}",
        out.status
    );
    let after_term = fake.counters().requests_by_hash.clone();

    let (mut child, url) = serve(&fake, dir.path());
    wait_done(&client, &url, &id, 36, 60).await;
    wait_state(&client, &url, &id, "done").await;
    assert_eq!(inputs(&client, &url, &id).await, hashes, "nothing lost");
    child.kill().unwrap();
    child.wait().unwrap();

    let c = fake.counters();
    // The restarted servers start from the windows the killed one left in the store.
    let refused = c.arrivals.iter().filter(|a| a.status == 429).count();
    assert_eq!(refused, 0, "no 429 across the kill and the restarts");
    let repeated: Vec<&String> = hashes
        .iter()
        .filter(|h| c.requests_by_hash[h.as_str()] > 1)
        .collect();
    assert!(
        repeated.len() as u64 <= CONCURRENCY,
        "more than the requests in flight were repeated: {repeated:?}"
    );
    // Nothing asked before the SIGTERM was asked again after it.
    for (h, n) in &after_term {
        assert_eq!(
            c.requests_by_hash[h], *n,
            "{h} asked again after a clean stop"
        );
    }
}

/// Runs a command to its end, killing it (and failing) if it is still running after 30 s.
fn run_bounded(mut cmd: Command) -> std::process::Output {
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("still running after 30 s: {:?}", child.wait_with_output());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_public_address_without_a_token_is_refused_unless_insecure_no_auth() {
    let dir = tempfile::tempdir().unwrap();
    let vtsum = |args: &[&str]| {
        let mut cmd = Command::cargo_bin("vtsum").unwrap();
        cmd.env_clear()
            .env("HOME", dir.path())
            .env(
                "VTSUM_STORE",
                format!("sqlite:{}", dir.path().join("vtsum.db").display()),
            )
            .arg("serve")
            .args(args);
        cmd
    };
    let out = run_bounded(vtsum(&["--bind", "0.0.0.0:0"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0 without --auth-token")
            && stderr.contains("--insecure-no-auth"),
        "{stderr}"
    );
    // An empty token is no token.
    let mut empty = vtsum(&["--bind", "0.0.0.0:0"]);
    empty.env("VTSUM_AUTH_TOKEN", " ");
    assert_eq!(run_bounded(empty).status.code(), Some(2));

    for extra in [
        vec!["--insecure-no-auth"],
        vec!["--auth-token", "a-long-enough-token"],
    ] {
        let mut cmd = vtsum(&["--bind", "0.0.0.0:0"]);
        cmd.args(&extra);
        let (child, _) = start(cmd, "serving on ");
        support::stop(child);
    }
}
