//! Quota truth beyond one process: windows that outlive an engine on SQLite and on
//! `--store none`'s quota file, VirusTotal's own figures (use elsewhere, a premium
//! allowance), and refusals that rest a key instead of ending its day. Every claim is
//! checked from the fake VirusTotal's counters.

mod common;

use std::sync::Arc;

use common::*;
use vtsum_core::engine::{Engine, RunOptions, RunOutcome};
use vtsum_core::quota::{utc_day, KeyState};
use vtsum_core::store::Store;
use vtsum_core::ApiKey;
use vtsum_store::memory::MemoryStore;
use vtsum_store::sqlite::SqliteStore;

/// Admitted arrival times per key on the fake's clock.
fn times(c: &fakevt::Counters, key: &str) -> Vec<f64> {
    c.arrivals
        .iter()
        .filter(|a| a.key == key && a.status != 429)
        .map(|a| a.at_ms)
        .collect()
}

fn refusals(c: &fakevt::Counters) -> usize {
    c.arrivals.iter().filter(|a| a.status == 429).count()
}

/// Two engines one after the other, each with its own handle on the store, as two
/// `vtsum scan` runs would be: the second starts from the first one's window slots.
async fn back_to_back(open: impl Fn() -> Arc<dyn Store>) {
    const WINDOW_MS: f64 = 2000.0;
    let keys = ["seq-a", "seq-b"];
    let rate = "4/2s";
    let fake = fake(&keys, rate).await;
    let all = hashes(&fake, 16, 0);
    for part in all.chunks(8) {
        let engine = Engine::new(config(&fake, &keys, rate), open()).unwrap();
        let (_, outcome, _) = run(&engine, part, RunOptions::default()).await;
        assert_eq!(outcome, RunOutcome::Done);
    }
    let c = fake.counters();
    assert_eq!(refusals(&c), 0, "no 429 across the two runs");
    for key in keys {
        let t = times(&c, key);
        assert_eq!(t.len(), 8, "{key}: four requests in each run");
        for i in 0..4 {
            assert!(
                t[i + 4] - t[i] >= WINDOW_MS,
                "{key}: the second run's request {i} came {} ms after the first run's",
                t[i + 4] - t[i]
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_on_sqlite_waits_for_the_first_runs_windows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vtsum.db");
    back_to_back(|| Arc::new(SqliteStore::open(&db).unwrap())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_without_a_cache_still_keeps_the_quota_in_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let quota = dir.path().join("quota.db");
    back_to_back(|| Arc::new(MemoryStore::with_quota_file(&quota).unwrap())).await;
    assert!(quota.exists(), "the quota file is where it was asked to be");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn use_elsewhere_that_virustotal_reports_is_not_spent_again() {
    let keys = ["used-a", "fresh-b"];
    let rate = "10/200ms";
    let fake = fake(&keys, "10/200ms,500/day").await;
    fake.set_daily_used("used-a", 497);
    let engine = Engine::new(config(&fake, &keys, rate), memory_store()).unwrap();
    let input = hashes(&fake, 20, 0);
    let (id, outcome, _) = run(&engine, &input, RunOptions::default()).await;
    assert_eq!(outcome, RunOutcome::Done);
    assert_eq!(engine.rows(&id).unwrap().len(), 20);
    let c = fake.counters();
    assert_eq!(refusals(&c), 0, "no 429");
    assert!(
        c.requests_by_key.get("used-a").copied().unwrap_or(0) <= 3,
        "at most the 3 left today: {:?}",
        c.requests_by_key
    );
    assert_eq!(
        c.quota_calls_by_key.get("used-a"),
        Some(&1),
        "figures read once"
    );
    let a = ApiKey::new("used-a").id().clone();
    let status = engine.key_status().unwrap();
    let a = status.iter().find(|s| s.id == a).unwrap();
    assert_eq!(a.state, KeyState::Exhausted);
    assert_eq!(
        a.used_today, 500,
        "VirusTotal's count wins over the ledger's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_premium_allowance_from_virustotal_replaces_the_default_500() {
    let keys = ["premium-a", "plain-b"];
    let fake = fake(&keys, "20/200ms").await;
    fake.set_daily_allowance("premium-a", 1000);
    fake.set_daily_used("premium-a", 500);
    let store = memory_store();
    let a = ApiKey::new("premium-a").id().clone();
    // This store's ledger already counted those 500 (as a run earlier today would have).
    store.ledger_add(&a, &utc_day(), 500).unwrap();
    let mut cfg = config(&fake, &keys, "20/200ms");
    cfg.daily_fallback = Some(500);
    let engine = Engine::new(cfg, store).unwrap();
    let input = hashes(&fake, 20, 0);
    let (_, outcome, _) = run(&engine, &input, RunOptions::default()).await;
    assert_eq!(outcome, RunOutcome::Done);
    let c = fake.counters();
    assert_eq!(refusals(&c), 0);
    assert!(
        c.requests_by_key.get("premium-a").copied().unwrap_or(0) >= 5,
        "the premium key went past 500 today: {:?}",
        c.requests_by_key
    );
    let status = engine.key_status().unwrap();
    let s = status.iter().find(|s| s.id == a).unwrap();
    assert_eq!(s.daily_limit, Some(1000));
    assert_eq!(s.state, KeyState::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_caused_by_another_client_rest_the_key_but_never_end_its_day() {
    // Two engines that do not share a store both use one key: they collide at the fake.
    let key = ["contended"];
    let rate = "4/300ms";
    let fake = fake(&key, rate).await;
    fake.hide_quota_figures();
    let input = hashes(&fake, 24, 0);
    let mut runs = Vec::new();
    for part in input.chunks(12) {
        let engine = Engine::new(config(&fake, &key, rate), memory_store()).unwrap();
        let part = part.to_vec();
        runs.push(tokio::spawn(async move {
            run(&engine, &part, RunOptions::default()).await.1
        }));
    }
    for r in runs {
        assert_eq!(
            r.await.unwrap(),
            RunOutcome::Done,
            "no run gave up the key's day"
        );
    }
    let c = fake.counters();
    assert!(refusals(&c) > 0, "the two engines did collide");
    for h in &input {
        assert_eq!(c.requests_by_hash[h.as_str()], 1, "{h} answered once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_month_stops_the_key_until_the_first_of_next_month() {
    let fake = fake(&["monthly"], "20/200ms,500/day").await;
    // The fake reports 31 x 500 allowed a month: leave two.
    fake.set_monthly_used("monthly", 31 * 500 - 2);
    let engine = Engine::new(config(&fake, &["monthly"], "20/200ms"), memory_store()).unwrap();
    let input = hashes(&fake, 5, 0);
    let (id, outcome, _) = run(&engine, &input, RunOptions::default()).await;
    let RunOutcome::WaitingQuota { resumes_at } = outcome else {
        panic!("expected to wait for the month, got {outcome:?}");
    };
    let next_month = vtsum_core::quota::figures::next_month(chrono::Utc::now());
    assert_eq!(resumes_at, next_month, "resumes on the 1st, 00:00 UTC");
    assert_eq!(engine.rows(&id).unwrap().len(), 2, "the two left were used");
    assert_eq!(fake.counters().requests_by_key["monthly"], 2);
    assert_eq!(refusals(&fake.counters()), 0);
}
