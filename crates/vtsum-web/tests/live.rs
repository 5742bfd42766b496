//! A job's Server-Sent Events as a job page reads them: the true state first, then every
//! row once and never behind the counters, a `notice` when VirusTotal rejects a key, and a
//! `resync` for a watcher that fell too far behind. Each stream is opened while its job is
//! still queued behind a held one, so nothing it should carry happens before it opens.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use support::sse::{last_state_is, read_events, Event, Events};
use support::*;
use vtsum_core::report::{CacheEntry, Lookup};
use vtsum_core::Hash;

const T: Duration = Duration::from_secs(30);

/// The `(index, input)` of every `row` event, in the order they came.
fn rows(events: &[Event]) -> Vec<(u64, String)> {
    events
        .iter()
        .filter(|(n, _)| n == "row")
        .map(|(_, d)| {
            let index = d["index"].as_u64().expect("a row has its index");
            let input = d["row"]["input"].as_str().expect("a row has its input");
            (index, input.to_string())
        })
        .collect()
}

/// Opens a queued job's stream and checks that it opens with the job, still queued.
async fn open_queued(f: &Fixture, id: &str) -> Events {
    let mut events = Events::open(&f.app, id).await;
    events.until(T, |ev| !ev.is_empty()).await;
    let (name, first) = &events.seen[0];
    assert_eq!(name, "job", "the stream opens with the job");
    assert_eq!(
        first["state"], "queued",
        "the stream opened after the job started: the hold ({HOLD:?}) was too short"
    );
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_arrives_live_once_and_never_behind_the_counters() {
    // Slow keys (2 x 4/s): the rows arrive over a few seconds, between counter ticks.
    let f = fixture(Options {
        windows: per_second(4),
        ..Options::default()
    })
    .await;
    let input = hashes(&f.fake, 10, 2);
    hold_runner(&f).await;
    let id = submit(&f.app, &input).await;
    let mut stream = open_queued(&f, &id).await;
    let events = stream.until(T, |ev| last_state_is(ev, "done")).await;

    assert!(events
        .iter()
        .any(|(n, d)| n == "keys" && d.as_array().is_some_and(|k| k.len() == 2)));
    // Every row, once, at its index, holding its input.
    let got = rows(events);
    let mut indices: Vec<u64> = got.iter().map(|(i, _)| *i).collect();
    indices.sort_unstable();
    assert_eq!(
        indices,
        (0..12).collect::<Vec<u64>>(),
        "every row once: {got:?}"
    );
    for (index, row_input) in &got {
        assert_eq!(row_input, &input[*index as usize], "row {index}");
    }
    // In order: no counter ever runs ahead of the rows sent before it, so a page that
    // shows "n done" has n rows; the final `done` comes after the last row.
    let mut seen = 0;
    let mut running = Vec::new();
    for (name, data) in events {
        match name.as_str() {
            "row" => seen += 1,
            "job" => {
                let done = data["done"].as_u64().unwrap();
                assert!(done <= seen, "job says {done} done after {seen} rows");
                if data["state"] == "running" {
                    running.push(done);
                }
            }
            _ => {}
        }
    }
    assert!(
        running.windows(2).all(|w| w[0] <= w[1]),
        "progress never goes back: {running:?}"
    );
    assert!(running.len() >= 2, "progress is reported while running");
    let last = &events.iter().rev().find(|(n, _)| n == "job").unwrap().1;
    assert_eq!(
        (last["done"].as_u64(), last["total"].as_u64()),
        (Some(12), Some(12))
    );
    assert!(
        events.iter().all(|(n, _)| n != "resync" && n != "notice"),
        "nothing to resync or notice here"
    );
    assert_no_429(&f.fake);

    // A watcher arriving after the end sees the true state at once.
    let late = read_events(&f.app, &id, T, |ev| !ev.is_empty()).await;
    assert_eq!(late[0].1["state"], "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rejected_mid_job_is_a_notice_by_id_and_the_job_goes_on() {
    let f = fixture(Options {
        windows: per_second(4),
        ..Options::default()
    })
    .await;
    let input = hashes(&f.fake, 16, 0);
    hold_runner(&f).await;
    let id = submit(&f.app, &input).await;
    let mut stream = open_queued(&f, &id).await;
    stream
        .until(T, |ev| ev.iter().any(|(n, _)| n == "row"))
        .await;
    // The job is running: VirusTotal now refuses the next request's key.
    f.fake.faults().fail_next(fakevt::Fault::Status(401), 1);
    let events = stream
        .until(T, |ev| {
            ev.iter().any(|(n, _)| n == "notice") || last_state_is(ev, "done")
        })
        .await;
    let notices: Vec<&serde_json::Value> = events
        .iter()
        .filter(|(n, _)| n == "notice")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(
        notices.len(),
        1,
        "one notice for the rejected key: {events:?}"
    );
    let message = notices[0]["message"].as_str().expect("a message");
    let quota = send(&f.app, get("/api/v1/quota")).await.json();
    let keys = quota["keys"].as_array().unwrap();
    let rejected: Vec<&str> = keys
        .iter()
        .filter(|k| k["state"] == "rejected")
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(rejected.len(), 1, "{quota}");
    assert!(
        message.contains(rejected[0]) && message.contains("HTTP 401"),
        "the notice names the key by id and says why: {message}"
    );
    for key in KEYS {
        assert!(!message.contains(key), "the notice shows a key");
    }
    // The other key finishes the job; the refused hash is asked again, not lost.
    let events = stream.until(T, |ev| last_state_is(ev, "done")).await;
    let last = &events.iter().rev().find(|(n, _)| n == "job").unwrap().1;
    assert_eq!(
        (last["done"].as_u64(), last["errors"].as_u64()),
        (Some(16), Some(0))
    );
    assert_eq!(rows(events).len(), 16);
    assert_no_429(&f.fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_that_falls_behind_gets_a_resync_and_the_results_hold_everything() {
    let f = fixture(Options::default()).await;
    // More cached answers than a watcher's buffer holds (1024 updates): the job sends a
    // row for each, as fast as the store takes them.
    const N: u64 = 1_100;
    let input: Vec<String> = (0..N).map(|i| fakevt::unknown_hash(10_000 + i)).collect();
    let now = chrono::Utc::now().timestamp();
    for h in &input {
        f.store
            .cache_put(&CacheEntry {
                queried: Hash::parse(h).unwrap(),
                lookup: Lookup::Unknown,
                fetched_at: now,
            })
            .unwrap();
    }
    hold_runner(&f).await;
    let id = submit(&f.app, &input).await;
    let mut stream = open_queued(&f, &id).await;
    // The page stops reading (a busy tab) while the whole job runs.
    wait_state(&f.app, &id, &["done"], T).await;
    let events = stream
        .until(T, |ev| {
            ev.iter().any(|(n, _)| n == "resync") || last_state_is(ev, "done")
        })
        .await;
    let names: BTreeMap<&str, usize> = events.iter().fold(BTreeMap::new(), |mut m, (n, _)| {
        *m.entry(n.as_str()).or_default() += 1;
        m
    });
    assert_eq!(
        names.get("resync"),
        Some(&1),
        "a watcher that fell behind is told to reload: {names:?}"
    );
    // What it reloads holds every row, all from the cache.
    let results = send(&f.app, get(&format!("/api/v1/jobs/{id}/results")))
        .await
        .json();
    assert_eq!(results["results"].as_array().unwrap().len(), N as usize);
    assert_eq!(arrivals_of(&f.fake, &input), 0, "answered from the cache");
}
