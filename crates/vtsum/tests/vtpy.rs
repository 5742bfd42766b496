//! vt-py, VirusTotal's own Python client, unchanged, against a real `vtsum serve` in front
//! of the fake VirusTotal: three clients at once get exactly the fake's objects, the fake
//! sees each hash once and no 429 while the pooled keys run at their full rate, a second
//! round costs nothing, and vt-py raises VirusTotal's own errors (NotFoundError,
//! WrongCredentialsError, QuotaExceededError with Retry-After); client tokens from a file
//! are checked and their use shows in `vtsum quota`.
//!
//! vt-py comes from the Python package registry into `target/vtpy` (scripts/test.sh
//! installs it there); `VTSUM_VTPY_PYTHON` may name another interpreter that has it.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{bare, start, stop};

const TOKENS: [&str; 3] = [
    "vtpy-client-a-0123456789abcdef",
    "vtpy-client-b-0123456789abcdef",
    "vtpy-client-c-0123456789abcdef",
];
const KEYS: [&str; 3] = ["vtpy-key-1", "vtpy-key-2", "vtpy-key-3"];
/// Each key's window: N requests per window.
const N: usize = 4;
const WINDOW_MS: f64 = 1000.0;

/// Runs the vt-py script with `plan` and returns what it printed.
fn vtpy(plan: &Value) -> Value {
    vtsum_test_utils::vtpy::run(plan).unwrap_or_else(|e| panic!("{e}"))
}

/// `vtsum serve` on a free loopback port, pointed at `fake`; returns it and its URL.
fn serve(
    fake: &fakevt::FakeVt,
    home: &std::path::Path,
    keys: &[&str],
    rate: &str,
    extra: &[String],
) -> (std::process::Child, String) {
    let mut cmd = bare(home);
    cmd.env("VT_API_URL", fake.url())
        .env("VT_API_KEY", keys.join(","))
        .env("VT_RATE", rate)
        .env(
            "VTSUM_STORE",
            format!("sqlite:{}", home.join("vtsum.db").display()),
        )
        .args(["serve", "--bind", "127.0.0.1:0"])
        .args(extra);
    let (child, rest) = start(cmd, "serving on ");
    let url = rest.split_whitespace().next().unwrap().to_string();
    (child, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_vt_py_clients_share_the_cache_and_the_pooled_keys() {
    let windows = [(N as u32, Duration::from_millis(WINDOW_MS as u64))];
    let fake = fakevt::spawn(vtsum_test_utils::fake_config(&KEYS, &windows, None))
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let tokens: Vec<String> = ["a", "b", "c"]
        .iter()
        .zip(TOKENS)
        .flat_map(|(name, token)| ["--client-token".to_string(), format!("{name}={token}")])
        .collect();
    let (server, url) = serve(&fake, home.path(), &KEYS, "4/1000ms", &tokens);

    let hashes = fake.corpus().sha256s(60);
    // Three overlapping lists of 40: every hash is asked by two clients.
    let lists: Vec<Vec<String>> = (0..3)
        .map(|i| (0..40).map(|j| hashes[(i * 20 + j) % 60].clone()).collect())
        .collect();
    let unknown = fakevt::unknown_hash(77);
    let got = vtpy(&json!({
        "mode": "crowd",
        "url": url,
        "tokens": TOKENS,
        "lists": lists,
        "in_flight": 16,
        "unknown": unknown,
        "wrong_token": "not-a-client-token-at-all",
    }));

    // Every object is what the fake holds.
    let objects = got["objects"].as_object().unwrap();
    assert_eq!(objects.len(), 60);
    for file in fake.corpus().files().iter().take(60) {
        let held = fakevt::v3_file_object(file, &fake.url());
        let obj = &objects[&file.sha256];
        assert_eq!(obj["id"], held["data"]["id"]);
        assert_eq!(obj["type"], "file");
        assert_eq!(
            obj["attributes"], held["data"]["attributes"],
            "{}",
            file.sha256
        );
    }
    assert_eq!(
        got["same_again"], true,
        "the second round saw the same objects"
    );
    assert_eq!(got["unknown_code"], "NotFoundError");
    assert_eq!(got["wrong_code"], "WrongCredentialsError");

    // The fake saw each hash once (the second round and the second asker cost nothing)
    // and no 429.
    let c = fake.counters();
    for h in hashes.iter().chain([&unknown]) {
        assert_eq!(c.requests_by_hash.get(h).copied().unwrap_or(0), 1, "{h}");
    }
    assert_eq!(c.arrivals.len(), 61);
    assert!(c.arrivals.iter().all(|a| a.status != 429), "no 429");
    // While misses queued, the keys ran at their full rate: 4 windows of K x N.
    let t0 = c
        .arrivals
        .iter()
        .map(|a| a.at_ms)
        .fold(f64::INFINITY, f64::min);
    let in_span = c
        .arrivals
        .iter()
        .filter(|a| a.at_ms < t0 + 4.0 * WINDOW_MS)
        .count();
    let ideal = KEYS.len() * N * 4;
    assert!(
        in_span as f64 >= 0.95 * ideal as f64,
        "{in_span} requests in 4 windows, ideal {ideal}"
    );

    // Per client: 2 x 40 lookups each (+1 unknown for a); upstream requests add up to
    // the fake's count.
    let metrics = reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let figure = |name: &str, client: &str| -> u64 {
        let prefix = format!("vtsum_client_{name}_today{{client=\"{client}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("{prefix} missing:\n{metrics}"))
            .parse()
            .unwrap()
    };
    let lookups: Vec<u64> = ["a", "b", "c"]
        .iter()
        .map(|c| figure("lookups", c))
        .collect();
    assert_eq!(lookups, [81, 80, 80]);
    let upstream: u64 = ["a", "b", "c"].iter().map(|c| figure("upstream", c)).sum();
    assert_eq!(upstream, 61, "one upstream request per hash, whoever asked");
    for token in TOKENS {
        assert!(!metrics.contains(token));
    }
    stop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_spent_for_the_day_reach_vt_py_as_quota_exceeded_with_retry_after() {
    let windows = [(N as u32, Duration::from_millis(WINDOW_MS as u64))];
    let fake = fakevt::spawn(vtsum_test_utils::fake_config(&KEYS[..1], &windows, Some(1)))
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    // No client token: loopback clients only, whatever key they send.
    let (server, url) = serve(&fake, home.path(), &KEYS[..1], "4/1000ms,1/day", &[]);
    let hashes = fake.corpus().sha256s(2);
    let got = vtpy(&json!({
        "mode": "spent",
        "url": url,
        "token": "anything-on-loopback",
        "hashes": hashes,
    }));
    assert_eq!(got["first_id"], hashes[0].as_str());
    assert_eq!(got["second_code"], "QuotaExceededError");
    assert_eq!(got["status"], 429);
    let retry: i64 = got["retry_after"].as_str().unwrap().parse().unwrap();
    let to_midnight = vtsum_core::quota::next_utc_midnight() - chrono::Utc::now().timestamp();
    assert!((retry - to_midnight).abs() <= 5, "{retry} vs {to_midnight}");
    assert!(fake.counters().arrivals.iter().all(|a| a.status != 429));
    stop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_tokens_come_from_a_file_are_checked_and_show_up_in_vtsum_quota() {
    let windows = [(N as u32, Duration::from_millis(WINDOW_MS as u64))];
    let fake = fakevt::spawn(vtsum_test_utils::fake_config(&KEYS[..1], &windows, None))
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("tokens.txt");

    // A bad line is refused, naming the line and never the token.
    std::fs::write(
        &file,
        "# tools\nsoar=0123456789abcdef0123\nnb=short-secret\n",
    )
    .unwrap();
    let out = bare(home.path())
        .args(["serve", "--bind", "127.0.0.1:0", "--client-tokens"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("line 3"), "{stderr}");
    assert!(!stderr.contains("short-secret"), "{stderr}");
    let out = bare(home.path())
        .args(["serve", "--bind", "127.0.0.1:0", "--proxy-wait", "0s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("proxy-wait"));

    std::fs::write(&file, "# tools\nsoar=0123456789abcdef0123\n").unwrap();
    let extra = ["--client-tokens".to_string(), file.display().to_string()];
    let (server, url) = serve(&fake, home.path(), &KEYS[..1], "4/1000ms", &extra);
    let hash = fake.corpus().sha256s(1).remove(0);
    let client = reqwest::Client::new();
    let lookup = |token: Option<&'static str>| {
        let mut req = client.get(format!("{url}/api/v3/files/{hash}"));
        if let Some(t) = token {
            req = req.header("x-apikey", t);
        }
        req.send()
    };
    assert_eq!(lookup(None).await.unwrap().status(), 401);
    assert_eq!(
        lookup(Some("0123456789abcdef0123")).await.unwrap().status(),
        200
    );
    assert_eq!(
        lookup(Some("0123456789abcdef0123")).await.unwrap().status(),
        200
    );
    stop(server);

    let out = bare(home.path())
        .env("VT_API_URL", fake.url())
        .env("VT_API_KEY", KEYS[0])
        .env("VT_RATE", "4/1000ms")
        .env(
            "VTSUM_STORE",
            format!("sqlite:{}", home.path().join("vtsum.db").display()),
        )
        .arg("quota")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = stdout
        .lines()
        .find(|l| l.starts_with("soar "))
        .unwrap_or_else(|| panic!("no client row:\n{stdout}"));
    let figures: Vec<&str> = row.split_whitespace().skip(1).collect();
    assert_eq!(figures, ["2", "1", "1"], "lookups, cache hits, upstream");
}
