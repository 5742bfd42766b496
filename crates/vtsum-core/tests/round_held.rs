//! A re-check round held back by a job (the re-check lane, `engine/lane.rs`) gives up
//! before its claims run out, leaving its items due, so another round never checks them
//! while this one still might. Against the fake VirusTotal and a real SQLite store.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use vtsum_core::engine::{Cancel, Engine, RunOptions};
use vtsum_core::store::Store;
use vtsum_core::watch::round::{run_round, RoundConfig};
use vtsum_core::watch::WatchList;
use vtsum_core::Target;
use vtsum_store::sqlite::SqliteStore;

const KEY: &str = "held-key-1";
/// One request per 200 ms, and a day too large to limit the round's budget.
const RATE: &str = "1/200ms,100000000/day";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_held_back_by_a_job_stops_before_its_claims_end() {
    let fake = fake(&[KEY], RATE).await;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("v.db")).unwrap());
    let watches = store.clone().watches().unwrap();
    let engine = Arc::new(Engine::new(config(&fake, &[KEY], RATE), store).unwrap());
    let all = hashes(&fake, 65, 0);
    let (watched, busy) = all.split_at(5);
    // A job with 12 s of requests: it has work the whole time the round waits.
    let running = spawn_run(&engine, busy, RunOptions::default());
    wait_for_arrivals(&fake, 1, "the job never ran").await;
    let now = vtsum_core::engine::now_unix();
    watches
        .watch_put(&WatchList {
            name: "edr".into(),
            every: 3600,
            every_unknown: 3600,
            threshold: 3,
            created_at: now,
        })
        .unwrap();
    watches
        .watch_add("edr", &Target::files(watched), now)
        .unwrap();

    let cfg = RoundConfig {
        share: 1.0,
        claim_secs: 4,
        ..RoundConfig::default()
    };
    let round = Arc::new(engine.beside(Duration::from_secs(3600)));
    let report = run_round(&round, watches.clone(), &cfg, &Cancel::new())
        .await
        .unwrap();
    assert!(!running.is_finished(), "the job still has work");
    assert_eq!((report.claimed, report.checked), (5, 0), "{report:?}");
    assert_eq!(report.requests, 0, "{report:?}");
    let asked = fake.counters().requests_by_hash;
    assert!(
        watched.iter().all(|h| !asked.contains_key(h.as_str())),
        "a re-check was sent while the job had work"
    );
    // Nothing was recorded: once the claims end, every item is due again.
    let again = watches
        .watch_claim_due(now + cfg.claim_secs + 1, now + 100, 10)
        .unwrap();
    assert_eq!(again.len(), 5);
    running.abort();
}
