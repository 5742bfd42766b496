//! The scheduler against the fake VirusTotal over loopback, at compressed rates. Every
//! claim is checked from the fake's own counters: what arrived, when, with which key.

mod common;

use std::collections::BTreeMap;
use std::sync::Mutex;

use common::*;
use vtsum_core::engine::{Cancel, Engine, Event, RunOptions, RunOutcome};
use vtsum_core::report::{ItemResult, Lookup};
use vtsum_core::vt::ApiVersion;
use vtsum_core::ApiKey;
use vtsum_store::sqlite::SqliteStore;

/// Admitted arrivals per key, in milliseconds of the fake's clock.
fn arrivals_by_key(counters: &fakevt::Counters) -> BTreeMap<String, Vec<f64>> {
    let mut by_key: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for a in counters
        .arrivals
        .iter()
        .filter(|a| a.status != 429 && a.status != 401)
    {
        for _ in 0..a.hashes.len().max(1) {
            by_key.entry(a.key.clone()).or_default().push(a.at_ms);
        }
    }
    by_key
}

/// Runs `keys` keys at `n` per `window_ms` over `windows` windows and checks utilisation,
/// the sliding window on the server's clock, zero 429s and one request per hash.
async fn check_utilisation(keys: usize, n: u32, window_ms: u64, windows: usize) {
    let names: Vec<String> = (0..keys).map(|i| format!("key-{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let rate = format!("{n}/{window_ms}ms");
    let fake = fake(&names, &rate).await;
    let engine = Engine::new(config(&fake, &names, &rate), memory_store()).unwrap();
    // One window's worth more than the measured span, so the work never runs dry in it.
    let total = keys * n as usize * (windows + 1);
    let input = hashes(&fake, total.min(250), total.saturating_sub(250));
    let (_, outcome, _) = run(&engine, &input, RunOptions::default()).await;
    assert_eq!(outcome, RunOutcome::Done);

    let c = fake.counters();
    assert_eq!(
        c.arrivals.iter().filter(|a| a.status == 429).count(),
        0,
        "no 429s"
    );
    for h in &input {
        assert_eq!(
            c.requests_by_hash.get(h.as_str()).copied().unwrap_or(0),
            1,
            "{h} asked once"
        );
    }
    let by_key = arrivals_by_key(&c);
    assert_eq!(by_key.len(), keys, "every key was used");
    for (key, times) in &by_key {
        for pair in times.windows(n as usize + 1) {
            assert!(
                pair[n as usize] - pair[0] >= window_ms as f64,
                "{key}: {} requests within {window_ms} ms",
                n + 1
            );
        }
    }
    let t0 = by_key
        .values()
        .flat_map(|t| t.first())
        .fold(f64::INFINITY, |a, &b| a.min(b));
    let span = (windows as u64 * window_ms) as f64;
    let in_span = by_key
        .values()
        .flatten()
        .filter(|&&t| t < t0 + span)
        .count();
    let ideal = keys * n as usize * windows;
    assert!(
        in_span as f64 >= 0.95 * ideal as f64,
        "{in_span} requests in {windows} windows, ideal {ideal}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_keys_run_at_their_full_rate_without_a_429() {
    check_utilisation(2, 4, 1000, 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_keys_with_short_windows_run_at_their_full_rate() {
    check_utilisation(3, 3, 400, 8).await;
}

#[tokio::test]
async fn a_refused_key_hands_its_hashes_to_another_and_nothing_fails() {
    let fake = fake(&["spent", "fresh"], "5/200ms,100/day").await;
    fake.set_daily_used("spent", 100);
    // Without VirusTotal's figures the engine learns of the spent key only by refusals.
    fake.hide_quota_figures();
    let engine = Engine::new(
        config(&fake, &["spent", "fresh"], "5/200ms,100/day"),
        memory_store(),
    )
    .unwrap();
    let input = hashes(&fake, 12, 0);
    let (id, outcome, _) = run(&engine, &input, RunOptions::default()).await;
    assert_eq!(outcome, RunOutcome::Done);
    let rows = engine.rows(&id).unwrap();
    assert_eq!(rows.len(), 12);
    assert!(rows.iter().all(|r| r.error.is_none()), "no error rows");
    let c = fake.counters();
    let refused = c.arrivals.iter().filter(|a| a.status == 429).count();
    // What was in flight when the first refusal came back (a window's worth at most), then
    // one probe after the rest.
    assert!((2..=6).contains(&refused), "refusals: {refused}");
    let spent = ApiKey::new("spent").id().clone();
    let status = engine.key_status().unwrap();
    let spent_status = status.iter().find(|s| s.id == spent).unwrap();
    // Refusals rest a key; only VirusTotal's figures or the ledger end its day. (Whether
    // its last rest is over when the run ends depends on timing: resting or ok, never
    // exhausted.)
    use vtsum_core::quota::KeyState;
    assert!(
        matches!(spent_status.state, KeyState::Resting | KeyState::Ok),
        "a refused key is {:?}, not out for the day",
        spent_status.state
    );
    for h in &input {
        assert_eq!(c.requests_by_hash[h.as_str()], 1, "{h} answered once");
    }
}

#[tokio::test]
async fn a_rejected_key_is_dropped_and_named_by_its_id_only() {
    let fake = fake(&["good-key"], "10/200ms").await;
    let engine = Engine::new(
        config(&fake, &["good-key", "bad-secret-key"], "10/200ms"),
        memory_store(),
    )
    .unwrap();
    let input = hashes(&fake, 8, 2);
    let (id, outcome, events) = run(&engine, &input, RunOptions::default()).await;
    assert_eq!(outcome, RunOutcome::Done);
    assert_eq!(engine.rows(&id).unwrap().len(), 10);
    let bad_id = ApiKey::new("bad-secret-key").id().to_string();
    let rejected: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e, Event::KeyRejected { key, .. } if *key == bad_id))
        .collect();
    assert_eq!(rejected.len(), 1);
    let all = serde_json::to_string(&events).unwrap();
    assert!(
        !all.contains("bad-secret-key"),
        "the key never appears in events"
    );
}

#[tokio::test]
async fn every_key_rejected_fails_with_ids_and_no_secret() {
    let fake = fake(&["good-key"], "10/200ms").await;
    let engine = Engine::new(
        config(&fake, &["wrong-1", "wrong-2"], "10/200ms"),
        memory_store(),
    )
    .unwrap();
    let input = hashes(&fake, 3, 0);
    let (job, _) = engine
        .open_scan(spec(), &vtsum_core::Target::files(&input))
        .unwrap();
    let err = engine
        .run_job(&job.id, RunOptions::default(), &|_| {}, &Cancel::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&ApiKey::new("wrong-1").id().to_string()),
        "{err}"
    );
    assert!(
        !err.contains("wrong-1") && !err.contains("wrong-2"),
        "{err}"
    );
    let state = engine.store().job_get(&job.id).unwrap().unwrap().state;
    assert_eq!(state, vtsum_core::store::JobState::Failed);
}

#[tokio::test]
async fn transient_faults_are_retried_until_answered() {
    let fake = fake(&["k"], "20/200ms").await;
    fake.faults().fail_next(fakevt::Fault::Status(503), 3);
    fake.faults().fail_next(fakevt::Fault::Reset, 2);
    fake.faults().fail_next(fakevt::Fault::Malformed, 2);
    let engine = Engine::new(config(&fake, &["k"], "20/200ms"), memory_store()).unwrap();
    let input = hashes(&fake, 6, 1);
    let (id, outcome, _) = run(&engine, &input, RunOptions::default()).await;
    assert_eq!(outcome, RunOutcome::Done);
    let rows = engine.rows(&id).unwrap();
    assert!(rows.iter().all(|r| r.error.is_none()), "{rows:#?}");
    assert_eq!(
        rows.iter()
            .filter(|r| r.verdict == vtsum_core::Verdict::Unknown)
            .count(),
        1
    );
    let c = fake.counters();
    let total: u64 = input.iter().map(|h| c.requests_by_hash[h.as_str()]).sum();
    // Each of the 7 faults costs exactly one retry of the hash it met.
    assert_eq!(total, 14, "7 hashes, 7 faults: {total} requests");
}

#[tokio::test]
async fn lasting_failures_become_error_rows_after_bounded_retries() {
    let fake = fake(&["k"], "50/200ms").await;
    fake.faults()
        .fail_next(fakevt::Fault::Status(503), u64::MAX);
    let engine = Engine::new(config(&fake, &["k"], "50/200ms"), memory_store()).unwrap();
    let input = hashes(&fake, 3, 0);
    let (id, outcome, _) = run(&engine, &input, RunOptions::default()).await;
    assert_eq!(outcome, RunOutcome::Done);
    let rows = engine.rows(&id).unwrap();
    assert_eq!(rows.len(), 3);
    for row in &rows {
        assert_eq!(row.verdict, vtsum_core::Verdict::Error);
        assert!(
            row.error
                .as_deref()
                .unwrap()
                .contains("gave up after 4 attempts"),
            "{row:?}"
        );
    }
    let c = fake.counters();
    for h in &input {
        assert_eq!(c.requests_by_hash[h.as_str()], 4, "first try + 3 retries");
    }
}

#[tokio::test]
async fn a_spent_day_stops_with_a_resume_time_and_the_ledger_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vtsum.db");
    let fake = fake(&["a", "b"], "10/100ms,3/day").await;
    let input = hashes(&fake, 10, 0);
    let first = {
        let store = std::sync::Arc::new(SqliteStore::open(&db).unwrap());
        let engine = Engine::new(config(&fake, &["a", "b"], "10/100ms,3/day"), store).unwrap();
        let (id, outcome, events) = run(&engine, &input, RunOptions::default()).await;
        let RunOutcome::WaitingQuota { resumes_at } = outcome else {
            panic!("expected to wait for quota, got {outcome:?}");
        };
        assert_eq!(resumes_at % 86_400, 0, "resumes at 00:00 UTC");
        assert!(resumes_at > chrono::Utc::now().timestamp());
        assert!(events.iter().any(|e| matches!(e, Event::Waiting { .. })));
        assert_eq!(engine.rows(&id).unwrap().len(), 6);
        id
    };
    assert_eq!(fake.counters().arrivals.len(), 6);
    // A new process on the same store knows the day is spent and asks nothing.
    let store = std::sync::Arc::new(SqliteStore::open(&db).unwrap());
    let engine = Engine::new(config(&fake, &["a", "b"], "10/100ms,3/day"), store).unwrap();
    let (id, outcome, _) = run(&engine, &input, RunOptions::default()).await;
    assert_eq!(id, first, "the same input resumes the same job");
    assert!(matches!(outcome, RunOutcome::WaitingQuota { .. }));
    assert_eq!(fake.counters().arrivals.len(), 6, "no request was sent");
    let job = engine.store().job_get(&id).unwrap().unwrap();
    assert_eq!((job.done, job.total), (6, 10));
}

#[tokio::test]
async fn cached_answers_are_not_asked_again_by_any_of_the_three_hashes() {
    let fake = fake(&["k"], "50/100ms").await;
    let engine = Engine::new(config(&fake, &["k"], "50/100ms"), memory_store()).unwrap();
    let input = hashes(&fake, 5, 2);
    run(&engine, &input, RunOptions::default()).await;
    let sent = fake.counters().arrivals.len();
    assert_eq!(sent, 7);
    // The same files by md5 and sha1, and the unknown ones again.
    let mut again: Vec<vtsum_core::Hash> = fake.corpus().files()[..5]
        .iter()
        .flat_map(|f| [f.md5.clone(), f.sha1.clone()])
        .map(|h| vtsum_core::Hash::parse(&h).unwrap())
        .collect();
    again.extend(input[5..].iter().cloned());
    let (id, _, _) = run(&engine, &again, RunOptions::default()).await;
    assert_eq!(
        fake.counters().arrivals.len(),
        sent,
        "nothing was requested again"
    );
    let rows = engine.rows(&id).unwrap();
    assert_eq!(rows.len(), 12);
    assert!(rows.iter().all(|r| r.from_cache));
    assert_eq!(rows[0].sha256.as_deref(), Some(input[0].as_str()));
}

#[tokio::test]
async fn refresh_and_max_age_ask_again() {
    let fake = fake(&["k"], "50/100ms").await;
    let mut cfg = config(&fake, &["k"], "50/100ms");
    let engine = Engine::new(cfg.clone(), memory_store()).unwrap();
    let input = hashes(&fake, 3, 1);
    run(&engine, &input, RunOptions::default()).await;
    let mut refresh = spec();
    refresh.refresh = true;
    let (job, _) = engine
        .open_scan(refresh, &vtsum_core::Target::files(&input))
        .unwrap();
    engine
        .run_job(&job.id, RunOptions::default(), &|_| {}, &Cancel::new())
        .await
        .unwrap();
    assert_eq!(
        fake.counters().arrivals.len(),
        8,
        "--refresh asked everything again"
    );
    let rows = engine.rows(&job.id).unwrap();
    assert!(rows.iter().all(|r| !r.from_cache));

    cfg.max_age_found = std::time::Duration::ZERO;
    let store = engine.store().clone();
    let engine = Engine::new(cfg, store).unwrap();
    run(&engine, &input, RunOptions::default()).await;
    // Found files are stale at once; the unknown hash is still fresh.
    assert_eq!(fake.counters().arrivals.len(), 11);
}

#[tokio::test]
async fn v2_sends_four_hashes_a_request_and_spends_four_of_quota() {
    let fake = fake(&["k"], "8/500ms").await;
    let mut cfg = config(&fake, &["k"], "8/500ms");
    cfg.client.version = ApiVersion::V2;
    let engine = Engine::new(cfg, memory_store()).unwrap();
    let input = hashes(&fake, 14, 2);
    let (id, outcome, _) = run(&engine, &input, RunOptions::default()).await;
    assert_eq!(outcome, RunOutcome::Done);
    let c = fake.counters();
    assert_eq!(c.arrivals.iter().filter(|a| a.status == 429).count(), 0);
    assert_eq!(c.arrivals.len(), 4, "16 hashes in four requests");
    assert!(c.arrivals.iter().all(|a| a.hashes.len() == 4));
    let rows = engine.rows(&id).unwrap();
    assert_eq!(
        rows.iter()
            .filter(|r| r.status == vtsum_core::report::Status::Found)
            .count(),
        14
    );
    assert_eq!(
        rows.iter()
            .filter(|r| r.status == vtsum_core::report::Status::Unknown)
            .count(),
        2
    );
}

#[tokio::test]
async fn a_cancelled_job_resumes_without_asking_anything_twice() {
    let fake = fake(&["k"], "2/300ms").await;
    let engine = Engine::new(config(&fake, &["k"], "2/300ms"), memory_store()).unwrap();
    let input = hashes(&fake, 8, 0);
    let (job, _) = engine
        .open_scan(spec(), &vtsum_core::Target::files(&input))
        .unwrap();
    let cancel = Cancel::new();
    let seen = Mutex::new(0);
    let sink = |e: &Event| {
        if let Event::Item {
            result:
                ItemResult::Lookup {
                    lookup: Lookup::Found(_),
                    ..
                },
            ..
        } = e
        {
            let mut n = seen.lock().unwrap();
            *n += 1;
            if *n == 3 {
                cancel.cancel();
            }
        }
    };
    let outcome = engine
        .run_job(&job.id, RunOptions::default(), &sink, &cancel)
        .await
        .unwrap();
    assert_eq!(outcome, RunOutcome::Cancelled);
    let done = engine.store().job_get(&job.id).unwrap().unwrap().done;
    assert!((3..8).contains(&done), "stopped early: {done}");
    let outcome = engine
        .run_job(&job.id, RunOptions::default(), &|_| {}, &Cancel::new())
        .await
        .unwrap();
    assert_eq!(outcome, RunOutcome::Done);
    let c = fake.counters();
    for h in &input {
        assert_eq!(c.requests_by_hash[h.as_str()], 1, "{h} asked once");
    }
    assert_eq!(engine.rows(&job.id).unwrap().len(), 8);
}
