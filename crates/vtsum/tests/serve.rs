//! `vtsum serve` as a process: killed mid-job (SIGKILL), then stopped (SIGTERM), then
//! started again, its job completes with nothing lost; only what was in flight at the
//! SIGKILL may have been asked twice, and nothing at the SIGTERM. Counts come from the fake
//! VirusTotal's own counters.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

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
    let mut child = Command::cargo_bin("vtsum")
        .unwrap()
        .env_clear()
        .env("HOME", dir)
        .env("VT_API_URL", fake.url())
        .env("VT_API_KEY", KEYS)
        .env("VT_RATE", "3/500ms")
        .env(
            "VTSUM_STORE",
            format!("sqlite:{}", dir.join("vtsum.db").display()),
        )
        .args(["serve", "--bind", "127.0.0.1:0", "--concurrency"])
        .arg(CONCURRENCY.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("serving on ").nth(1) {
                let url = rest.split_whitespace().next().unwrap_or("").to_string();
                let _ = tx.send(url);
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the server never said where it listens");
    (child, url)
}

async fn job(client: &reqwest::Client, url: &str, id: &str) -> Value {
    client
        .get(format!("{url}/api/v1/jobs/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Polls until `done` reaches `n` (bounded).
async fn wait_done(client: &reqwest::Client, url: &str, id: &str, n: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let j = job(client, url, id).await;
        if j["done"].as_u64().unwrap_or(0) >= n {
            return j;
        }
        assert!(Instant::now() < deadline, "stuck at {j}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
    let res = client
        .post(format!("{url}/api/v1/jobs"))
        .header("content-type", "text/plain")
        .body(hashes.join("\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_done(&client, &url, &id, 6).await;
    child.kill().unwrap(); // SIGKILL: no chance to tidy up
    child.wait().unwrap();
    let after_kill = fake.counters().arrivals.len() as u64;
    assert!(after_kill < 36, "killed mid-job");

    let (child, url) = serve(&fake, dir.path());
    wait_done(&client, &url, &id, after_kill + 6).await;
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
    let done = wait_done(&client, &url, &id, 36).await;
    assert_eq!(done["state"], "done");
    let rows: Value = client
        .get(format!("{url}/api/v1/jobs/{id}/results?format=json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let inputs: Vec<&str> = rows["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["input"].as_str().unwrap())
        .collect();
    assert_eq!(
        inputs,
        hashes.iter().map(String::as_str).collect::<Vec<_>>(),
        "nothing lost"
    );
    child.kill().unwrap();
    child.wait().unwrap();

    let c = fake.counters();
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
