//! Several processes' engines on one Redis store, or on one SQLite file, share each key's
//! quota: together they never go over a key's sliding window (on the fake VirusTotal's
//! clock), get no 429, ask each hash once, and still keep every key busy. Each engine here
//! has its own connection and key pool, exactly as separate processes would.

mod common;

use std::sync::Arc;

use common::*;
use vtsum_core::engine::{Engine, RunOptions, RunOutcome};
use vtsum_core::store::Store;
use vtsum_store::redis::RedisStore;
use vtsum_store::sqlite::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_engines_on_one_redis_share_two_keys_without_going_over() {
    let url = format!("{}?prefix={}", redis_url(), unique_prefix());
    three_engines_share_two_keys(|| Arc::new(RedisStore::open(&url).unwrap())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_engines_on_one_sqlite_file_share_two_keys_without_going_over() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vtsum.db");
    three_engines_share_two_keys(|| Arc::new(SqliteStore::open(&db).unwrap())).await;
}

async fn three_engines_share_two_keys(open: impl Fn() -> Arc<dyn Store>) {
    const N: usize = 4;
    const WINDOW_MS: f64 = 1000.0;
    const WINDOWS: usize = 5;
    let keys = ["shared-key-1", "shared-key-2"];
    let rate = "4/1s";
    let fake = fake(&keys, rate).await;
    // Enough work for every engine to stay busy past the measured span.
    let all = hashes(&fake, 2 * N * (WINDOWS + 2), 0);
    let parts: Vec<Vec<vtsum_core::Hash>> = all
        .chunks(all.len().div_ceil(3))
        .map(<[_]>::to_vec)
        .collect();
    let mut runs = Vec::new();
    for part in parts {
        let store = open();
        let engine = Engine::new(config(&fake, &keys, rate), store).unwrap();
        runs.push(tokio::spawn(async move {
            run(&engine, &part, RunOptions::default()).await.1
        }));
    }
    for r in runs {
        assert_eq!(r.await.unwrap(), RunOutcome::Done);
    }

    let c = fake.counters();
    assert_eq!(
        c.arrivals.iter().filter(|a| a.status == 429).count(),
        0,
        "no 429s"
    );
    for h in &all {
        assert_eq!(
            c.requests_by_hash.get(h.as_str()),
            Some(&1),
            "{h} asked once"
        );
    }
    let mut t0 = f64::INFINITY;
    for key in keys {
        let mut times: Vec<f64> = c
            .arrivals
            .iter()
            .filter(|a| a.key == key)
            .map(|a| a.at_ms)
            .collect();
        times.sort_by(f64::total_cmp);
        t0 = t0.min(times[0]);
        for w in times.windows(N + 1) {
            assert!(
                w[N] - w[0] >= WINDOW_MS,
                "{key}: {} requests within a window together",
                N + 1
            );
        }
    }
    let in_span = c
        .arrivals
        .iter()
        .filter(|a| a.at_ms < t0 + WINDOWS as f64 * WINDOW_MS)
        .count();
    let ideal = keys.len() * N * WINDOWS;
    assert!(
        in_span as f64 >= 0.95 * ideal as f64,
        "{in_span} requests in {WINDOWS} windows, ideal {ideal}"
    );
}

/// A command the server refuses (here the quota script meets a key of the wrong type) is a
/// bug to fail on, not an outage: the job fails with the reason instead of pausing for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_redis_command_fails_the_job_instead_of_pausing_it() {
    let fake = fake(&["wrongtype-key"], "4/1s").await;
    let prefix = unique_prefix();
    let url = format!("{}?prefix={prefix}", redis_url());
    let store: Arc<dyn Store> = Arc::new(RedisStore::open(&url).unwrap());
    // The quota script keeps a sorted set per key and window (1 s plus a 3 ms margin).
    let id = vtsum_core::ApiKey::new("wrongtype-key").id().to_string();
    let mut raw = redis::Client::open(redis_url())
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(format!("{prefix}q:{id}:1003"))
        .arg("not a sorted set")
        .query(&mut raw)
        .unwrap();
    let engine = Engine::new(config(&fake, &["wrongtype-key"], "4/1s"), store).unwrap();
    let (job, _) = engine
        .open_scan(spec(), &vtsum_core::Target::files(&hashes(&fake, 2, 0)))
        .unwrap();
    let cancel = vtsum_core::engine::Cancel::new();
    let run = engine.run_job(&job.id, RunOptions::default(), &|_| {}, &cancel);
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(20), run)
        .await
        .expect("the run ends instead of waiting for an outage that is not one");
    let err = outcome.expect_err("the run fails");
    assert!(err.to_string().contains("WRONGTYPE"), "{err}");
    let job = engine.store().job_get(&job.id).unwrap().unwrap();
    assert_eq!(job.state, vtsum_core::store::JobState::Failed);
    assert!(job.error.unwrap().contains("WRONGTYPE"));
}
