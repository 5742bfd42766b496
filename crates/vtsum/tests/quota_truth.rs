//! Quota truth across processes, as a user meets it: `vtsum scan` run twice in a row, two
//! at once on one SQLite file, `--store none`, and keys that VirusTotal says were used
//! elsewhere or allowed more than the public 500. Real processes, a real SQLite file, the
//! fake VirusTotal's own counters.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;
use vtsum_core::store::Store;

/// A fake in this test process with literal limits, so a parser bug cannot hide on both
/// sides.
async fn fake(keys: &[&str], n: u32, window: Duration, daily: Option<u32>) -> fakevt::FakeVt {
    fakevt::spawn(vtsum_test_utils::fake_config(keys, &[(n, window)], daily))
        .await
        .unwrap()
}

/// `vtsum scan --format json` of `hashes`, with `store` (a `--store` URL).
fn scan(fake: &fakevt::FakeVt, keys: &str, rate: &str, home: &Path, store: &str) -> Command {
    let mut cmd = Command::cargo_bin("vtsum").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("VT_API_URL", fake.url())
        .env("VT_API_KEY", keys)
        .env("VT_RATE", rate)
        .env("VTSUM_RETRY_BACKOFF", "10ms")
        .env("VTSUM_STORE", store)
        .args(["scan", "--format", "json"]);
    cmd
}

/// Writes `hashes` to a file named `name` in `dir`.
fn input(dir: &Path, name: &str, hashes: &[String]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, hashes.join("\n")).unwrap();
    path
}

fn corpus(fake: &fakevt::FakeVt, range: std::ops::Range<usize>) -> Vec<String> {
    fake.corpus().files()[range]
        .iter()
        .map(|f| f.sha256.clone())
        .collect()
}

fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    stderr
}

fn refusals(c: &fakevt::Counters) -> usize {
    c.arrivals.iter().filter(|a| a.status == 429).count()
}

/// Admitted arrival times of a key on the fake's clock.
fn times(c: &fakevt::Counters, key: &str) -> Vec<f64> {
    c.arrivals
        .iter()
        .filter(|a| a.key == key && a.status == 200)
        .map(|a| a.at_ms)
        .collect()
}

/// Two scans one right after the other, the first filling both keys' windows.
async fn back_to_back(store: impl Fn(&Path) -> String) -> tempfile::TempDir {
    const WINDOW: Duration = Duration::from_secs(2);
    let fake = fake(&["seq-1", "seq-2"], 4, WINDOW, None).await;
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    for (i, part) in [corpus(&fake, 0..8), corpus(&fake, 8..16)]
        .iter()
        .enumerate()
    {
        let path = input(dir.path(), &format!("run{i}.txt"), part);
        ok(&scan(&fake, "seq-1,seq-2", "4/2s", dir.path(), &store)
            .arg(path)
            .output()
            .unwrap());
    }
    let c = fake.counters();
    assert_eq!(refusals(&c), 0, "no 429 across the two runs");
    for key in ["seq-1", "seq-2"] {
        let t = times(&c, key);
        assert_eq!(t.len(), 8, "{key}");
        for i in 0..4 {
            assert!(
                t[i + 4] - t[i] >= WINDOW.as_millis() as f64,
                "{key}: slot {i} reused after {} ms",
                t[i + 4] - t[i]
            );
        }
    }
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_scan_on_sqlite_starts_from_the_first_scans_windows() {
    back_to_back(|dir| format!("sqlite:{}", dir.join("vtsum.db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_scan_without_a_cache_starts_from_the_first_scans_windows() {
    let home = back_to_back(|_| "none".to_string()).await;
    // README: the quota of `--store none` lives in quota.db in the data directory.
    assert!(home.path().join("data/vtsum/quota.db").exists());
    assert!(
        !home.path().join("data/vtsum/vtsum.db").exists(),
        "no cache kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_scans_at_once_on_one_sqlite_file_share_the_keys_at_full_rate() {
    const WINDOW_MS: f64 = 1000.0;
    const N: usize = 4;
    const WINDOWS: usize = 5;
    let fake = fake(&["conc-1", "conc-2"], 4, Duration::from_secs(1), None).await;
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("vtsum.db").display());
    let lists = [corpus(&fake, 0..40), corpus(&fake, 40..80)];
    let children: Vec<_> = lists
        .iter()
        .enumerate()
        .map(|(i, list)| {
            let path = input(dir.path(), &format!("list{i}.txt"), list);
            scan(&fake, "conc-1,conc-2", "4/1s", dir.path(), &store)
                .arg(path)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        ok(&child.wait_with_output().unwrap());
    }
    let c = fake.counters();
    assert_eq!(refusals(&c), 0, "no 429");
    for h in lists.iter().flatten() {
        assert_eq!(c.requests_by_hash.get(h), Some(&1), "{h} asked once");
    }
    let mut t0 = f64::INFINITY;
    for key in ["conc-1", "conc-2"] {
        let t = times(&c, key);
        t0 = t0.min(t[0]);
        for w in t.windows(N + 1) {
            assert!(w[N] - w[0] >= WINDOW_MS, "{key}: over the window");
        }
    }
    let in_span = c
        .arrivals
        .iter()
        .filter(|a| a.status == 200 && a.at_ms < t0 + WINDOWS as f64 * WINDOW_MS)
        .count();
    let ideal = 2 * N * WINDOWS;
    assert!(
        in_span as f64 >= 0.95 * ideal as f64,
        "{in_span} requests in {WINDOWS} windows, ideal {ideal}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_used_elsewhere_today_sends_only_what_is_left_and_says_so() {
    let fake = fake(
        &["elsewhere-a", "elsewhere-b"],
        20,
        Duration::from_secs(1),
        Some(500),
    )
    .await;
    fake.set_daily_used("elsewhere-a", 497);
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("vtsum.db").display());
    let list = corpus(&fake, 0..20);
    let path = input(dir.path(), "list.txt", &list);
    let out = scan(
        &fake,
        "elsewhere-a,elsewhere-b",
        "20/1s",
        dir.path(),
        &store,
    )
    .arg(path)
    .output()
    .unwrap();
    let stderr = ok(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["results"].as_array().unwrap().len(),
        20,
        "all answered"
    );
    let c = fake.counters();
    assert_eq!(refusals(&c), 0, "no 429");
    assert!(
        c.requests_by_key.get("elsewhere-a").copied().unwrap_or(0) <= 3,
        "{:?}",
        c.requests_by_key
    );
    let id = vtsum_core::ApiKey::new("elsewhere-a").id().to_string();
    assert!(
        stderr.contains(&format!("key {id} is out of quota for the day"))
            && stderr.contains("500 of 500"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("elsewhere-a"),
        "the key itself is never printed"
    );

    // `vtsum quota` shows VirusTotal's count and the ledger's side by side, and which
    // the scheduler goes by.
    let mut quota = Command::cargo_bin("vtsum").unwrap();
    let out = quota
        .env_clear()
        .env("HOME", dir.path())
        .env("VT_API_URL", fake.url())
        .env("VT_API_KEY", "elsewhere-a,elsewhere-b")
        .env("VT_RATE", "20/1s")
        .env("VTSUM_STORE", &store)
        .args(["quota", "--json"])
        .output()
        .unwrap();
    ok(&out);
    let keys: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key"] == id.as_str())
        .unwrap();
    let sent_with_a = c.requests_by_key.get("elsewhere-a").copied().unwrap_or(0);
    assert_eq!(a["ledger_today"], sent_with_a, "{a}");
    assert_eq!(
        a["daily"],
        serde_json::json!([497 + sent_with_a, 500]),
        "{a}"
    );
    assert_eq!(a["scheduler_used_today"], 500, "{a}");
    assert_eq!(a["daily_limit"], 500, "{a}");
    assert_eq!(a["daily_source"], "virus_total", "{a}");
    assert_eq!(a["state"], "exhausted", "{a}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_virustotal_allows_1000_a_day_is_scheduled_past_500() {
    let fake = fake(&["premium-a", "plain-b"], 20, Duration::from_secs(1), None).await;
    fake.set_daily_allowance("premium-a", 1000);
    fake.set_daily_used("premium-a", 500);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vtsum.db");
    // This store's ledger counted those 500 (earlier runs today), as it would have.
    let id = vtsum_core::ApiKey::new("premium-a").id().clone();
    vtsum_store::sqlite::SqliteStore::open(&db)
        .unwrap()
        .ledger_add(&id, &vtsum_core::quota::utc_day(), 500)
        .unwrap();
    let list = corpus(&fake, 0..20);
    let path = input(dir.path(), "list.txt", &list);
    // `--rate` names no daily limit: VirusTotal's allowance applies, not the public 500.
    let out = scan(
        &fake,
        "premium-a,plain-b",
        "4/1s",
        dir.path(),
        &format!("sqlite:{}", db.display()),
    )
    .arg(path)
    .output()
    .unwrap();
    ok(&out);
    let c = fake.counters();
    assert_eq!(refusals(&c), 0);
    assert!(
        c.requests_by_key.get("premium-a").copied().unwrap_or(0) >= 5,
        "premium-a went past 500: {:?}",
        c.requests_by_key
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_virustotal_s_figures_it_says_so_once_and_goes_by_rate_and_ledger() {
    let fake = fake(&["blind-a", "blind-b"], 20, Duration::from_secs(1), None).await;
    fake.hide_quota_figures();
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("vtsum.db").display());
    let path = input(dir.path(), "list.txt", &corpus(&fake, 0..10));
    // `--rate` names no day: the public 500 a day applies while the figures are unknown.
    let stderr = ok(&scan(&fake, "blind-a,blind-b", "20/1s", dir.path(), &store)
        .arg(path)
        .output()
        .unwrap());
    let said = stderr
        .matches("cannot read VirusTotal's quota figures")
        .count();
    assert_eq!(said, 1, "said once for both keys: {stderr}");
    assert!(stderr.contains("--rate and the local ledger"), "{stderr}");
    let c = fake.counters();
    assert_eq!(c.requests_by_hash.len(), 10, "all looked up");
    assert_eq!(
        c.quota_calls_by_key.values().sum::<u64>(),
        2,
        "one try per key"
    );
}
