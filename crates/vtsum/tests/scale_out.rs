//! Several vtsum processes on one Redis, as a team would run them: `vtsum worker`s and a
//! `vtsum serve --no-worker` sharing the work queue, the cache and two keys; a worker
//! killed mid-job; Redis restarted mid-job; two `vtsum scan`s of one list at once. Every
//! count comes from the fake VirusTotal's own counters.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;
use support::{inputs, start, stop, submit, wait_done, wait_state};
use vtsum_test_utils::RedisServer;

const KEYS: &str = "scale-key-1,scale-key-2";
const WINDOW_MS: f64 = 1000.0;
const PER_WINDOW: usize = 4;
/// Requests in flight at most per worker.
const CONCURRENCY: usize = 4;

async fn fake(corpus_size: usize) -> fakevt::FakeVt {
    fakevt::spawn(fakevt::Config {
        keys: KEYS.split(',').map(String::from).collect(),
        limits: fakevt::Limits {
            windows: vec![(PER_WINDOW as u32, Duration::from_millis(WINDOW_MS as u64))],
            daily: None,
        },
        seed: 11,
        corpus_size,
        addr: ([127, 0, 0, 1], 0).into(),
    })
    .await
    .unwrap()
}

/// A prefix of its own on the test Redis, so tests run side by side.
fn shared_store(base: Option<String>, name: &str) -> String {
    let base = base
        .or_else(|| std::env::var("VTSUM_TEST_REDIS").ok())
        .unwrap_or_else(|| "redis://127.0.0.1:6379/0".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{base}?prefix=vtsum-scale:{name}:{}:{nanos}:",
        std::process::id()
    )
}

/// A `vtsum` command on the fake and the store, with short timeouts so that the claims
/// of a killed worker lapse within the test.
fn vtsum(fake: &fakevt::FakeVt, store: &str, dir: &Path) -> Command {
    let config = dir.join("vtsum.toml");
    std::fs::write(&config, "timeout = \"3s\"\n").unwrap();
    let mut cmd = Command::cargo_bin("vtsum").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("VT_API_URL", fake.url())
        .env("VT_API_KEY", KEYS)
        .env("VT_RATE", format!("{PER_WINDOW}/{}ms", WINDOW_MS as u64))
        .env("VTSUM_STORE", store)
        .arg("--config")
        .arg(&config);
    cmd
}

fn worker(fake: &fakevt::FakeVt, store: &str, dir: &Path) -> Child {
    let mut cmd = vtsum(fake, store, dir);
    cmd.args(["worker", "--claim-after", "2s", "--concurrency"])
        .arg(CONCURRENCY.to_string());
    start(cmd, "vtsum: worker ").0
}

/// `vtsum serve` and its base URL.
fn serve(fake: &fakevt::FakeVt, store: &str, dir: &Path, no_worker: bool) -> (Child, String) {
    let mut cmd = vtsum(fake, store, dir);
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--claim-after", "2s"]);
    if no_worker {
        cmd.arg("--no-worker");
    }
    start_serve(cmd)
}

fn start_serve(cmd: Command) -> (Child, String) {
    let (child, rest) = start(cmd, "serving on ");
    (child, rest.split_whitespace().next().unwrap().to_string())
}

fn corpus_hashes(fake: &fakevt::FakeVt, n: usize) -> Vec<String> {
    let hashes = fake.corpus().sha256s(n);
    assert_eq!(hashes.len(), n, "the corpus is large enough");
    hashes
}

/// The fake refused nothing and was asked about each hash once.
fn assert_no_429_each_once(c: &fakevt::Counters, hashes: &[String]) {
    assert_eq!(refusals(c), 0, "no 429s");
    assert_eq!(repeated(c, hashes), Vec::<&String>::new(), "each hash once");
}

fn refusals(c: &fakevt::Counters) -> usize {
    c.arrivals.iter().filter(|a| a.status == 429).count()
}

/// Hashes asked for more than once.
fn repeated<'a>(c: &fakevt::Counters, hashes: &'a [String]) -> Vec<&'a String> {
    hashes
        .iter()
        .filter(|h| c.requests_by_hash.get(h.as_str()).copied().unwrap_or(0) > 1)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_share_two_keys_at_full_rate_asking_each_hash_once() {
    let fake = fake(220).await;
    let dir = tempfile::tempdir().unwrap();
    let store = shared_store(None, "three");
    let workers: Vec<Child> = (0..3).map(|_| worker(&fake, &store, dir.path())).collect();
    // Two replicas, neither running a worker: the job is submitted to one that holds no
    // key (the workers hold them) and watched on the other.
    let (web, url) = serve(&fake, &store, dir.path(), true);
    let mut keyless = vtsum(&fake, &store, dir.path());
    keyless
        .env_remove("VT_API_KEY")
        .args(["serve", "--bind", "127.0.0.1:0", "--no-worker"]);
    let (other_web, other_url) = start_serve(keyless);
    let client = reqwest::Client::new();
    let hashes = corpus_hashes(&fake, 200);
    let front = client.get(&other_url).send().await.unwrap();
    let front = front.text().await.unwrap();
    assert!(
        front.contains("run by the"),
        "the keyless replica says who runs jobs"
    );

    let id = submit(&client, &other_url, &hashes).await;
    let watch = tokio::spawn(watch_rows(client.clone(), url.clone(), id.clone()));
    wait_done(&client, &url, &id, 200, 90).await;
    let done = wait_state(&client, &url, &id, "done").await;
    assert_eq!(
        inputs(&client, &url, &id).await,
        hashes,
        "every row, in order"
    );
    assert_eq!(done["cache_hits"], 0, "{done}");
    let (done_at_open, rows) = tokio::time::timeout(Duration::from_secs(30), watch)
        .await
        .expect("the watching replica's stream never said the job was done")
        .unwrap();
    assert!(
        rows.len() as u64 + done_at_open >= 200,
        "the watching replica relayed {} rows live after {done_at_open} done",
        rows.len()
    );
    stop(other_web);

    let c = fake.counters();
    assert_no_429_each_once(&c, &hashes);
    assert_eq!(c.arrivals.len(), 200);
    for w in workers {
        stop(w);
    }
    stop(web);
    // Throughput: requests from the first arrival over 20 windows, against 2 keys x 4.
    let t0 = c
        .arrivals
        .iter()
        .map(|a| a.at_ms)
        .fold(f64::INFINITY, f64::min);
    let windows = 20.0;
    let in_span = c
        .arrivals
        .iter()
        .filter(|a| a.at_ms < t0 + windows * WINDOW_MS)
        .count();
    let ideal = 2.0 * PER_WINDOW as f64 * windows;
    assert!(
        in_span as f64 >= 0.95 * ideal,
        "{in_span} requests in {windows} windows, ideal {ideal}"
    );
}

/// Reads a job's event stream until a `job` event says `done`; returns the `done` count
/// the stream opened with and the distinct row indices that arrived live.
async fn watch_rows(
    client: reqwest::Client,
    url: String,
    id: String,
) -> (u64, std::collections::BTreeSet<u64>) {
    let mut res = client
        .get(format!("{url}/api/v1/jobs/{id}/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (mut buf, mut opened, mut rows) = (String::new(), None, std::collections::BTreeSet::new());
    while let Some(chunk) = res.chunk().await.unwrap() {
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let field = |name: &str| {
                frame
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(str::trim)
                    .unwrap_or("")
                    .to_string()
            };
            let data: Value = serde_json::from_str(&field("data:")).unwrap_or(Value::Null);
            match field("event:").as_str() {
                "row" => {
                    rows.insert(data["index"].as_u64().unwrap());
                }
                "job" => {
                    let done = data["done"].as_u64().unwrap_or(0);
                    let opened = *opened.get_or_insert(done);
                    if data["state"] == "done" {
                        return (opened, rows);
                    }
                }
                _ => {}
            }
        }
    }
    panic!("the stream ended before the job was done");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_s_part_is_taken_over_and_only_its_requests_in_flight_repeat() {
    let fake = fake(220).await;
    let dir = tempfile::tempdir().unwrap();
    let store = shared_store(None, "kill");
    let mut workers: Vec<Child> = (0..3).map(|_| worker(&fake, &store, dir.path())).collect();
    let (web, url) = serve(&fake, &store, dir.path(), true);
    let client = reqwest::Client::new();
    let hashes = corpus_hashes(&fake, 200);

    let id = submit(&client, &url, &hashes).await;
    wait_done(&client, &url, &id, 40, 60).await;
    let mut victim = workers.remove(0);
    victim.kill().unwrap(); // SIGKILL: its part stays claimed in the queue
    victim.wait().unwrap();
    let at_kill = fake.counters().arrivals.len();
    assert!(at_kill < 190, "killed mid-job ({at_kill} requests)");

    wait_done(&client, &url, &id, 200, 120).await;
    wait_state(&client, &url, &id, "done").await;
    assert_eq!(inputs(&client, &url, &id).await, hashes, "nothing lost");
    for w in workers {
        stop(w);
    }
    stop(web);
    let c = fake.counters();
    assert_eq!(refusals(&c), 0, "no 429s");
    let again = repeated(&c, &hashes);
    assert!(
        again.len() <= CONCURRENCY,
        "more than the killed worker's requests in flight were repeated: {again:?}"
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_mid_job_loses_nothing_and_spends_nothing_twice() {
    let mut redis = RedisServer::start();
    let fake = fake(80).await;
    let dir = tempfile::tempdir().unwrap();
    let store = shared_store(Some(redis.url()), "restart");
    let (web, url) = serve(&fake, &store, dir.path(), false);
    let w = worker(&fake, &store, dir.path());
    let client = reqwest::Client::new();
    let hashes = corpus_hashes(&fake, 60);

    let id = submit(&client, &url, &hashes).await;
    wait_done(&client, &url, &id, 15, 60).await;
    redis.stop();
    let at_stop = fake.counters().arrivals.len();
    // Down for a while: the processes must wait, not fail the job or drop answers.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let while_down = fake.counters().arrivals.len();
    redis.restart();

    wait_done(&client, &url, &id, 60, 90).await;
    wait_state(&client, &url, &id, "done").await;
    assert_eq!(inputs(&client, &url, &id).await, hashes, "nothing lost");
    stop(w);
    stop(web);
    let c = fake.counters();
    assert!(at_stop < 60, "stopped mid-job ({at_stop} requests)");
    assert!(
        while_down <= at_stop + 2 * CONCURRENCY,
        "requests went on without the store: {at_stop} then {while_down}"
    );
    assert_no_429_each_once(&c, &hashes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_scans_of_one_list_at_once_ask_each_hash_once() {
    let fake = fake(80).await;
    let dir = tempfile::tempdir().unwrap();
    let store = shared_store(None, "scans");
    let hashes = corpus_hashes(&fake, 40);
    let input = dir.path().join("hashes.txt");
    std::fs::write(&input, hashes.join("\n")).unwrap();
    let scan = || {
        let mut cmd = vtsum(&fake, &store, dir.path());
        cmd.args(["scan", "--format", "csv"])
            .arg(&input)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (scan(), scan());
    for out in [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let csv = String::from_utf8(out.stdout).unwrap();
        for h in &hashes {
            assert!(csv.contains(h.as_str()), "{h} in both reports");
        }
    }
    let c = fake.counters();
    assert_no_429_each_once(&c, &hashes);
    assert_eq!(c.arrivals.len(), 40, "together, each hash once");
}
