//! Shared set-up for the engine tests: a fake VirusTotal on a loopback port and an engine
//! pointed at it, with compressed quota windows so tests run in seconds.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use vtsum_core::engine::{Cancel, Engine, EngineConfig, Event, RunOptions, RunOutcome};
use vtsum_core::store::{JobId, JobSpec, Store};
use vtsum_core::vt::{ApiVersion, ClientConfig};
use vtsum_core::{ApiKey, Hash, RowOptions};
use vtsum_store::memory::MemoryStore;

/// Starts a fake with these keys and limits. `rate` is read here by [`literal_limits`],
/// not by vtsum's own parser, so a parser bug cannot shape the engine and the fake alike.
pub async fn fake(keys: &[&str], rate: &str) -> fakevt::FakeVt {
    let (windows, daily) = literal_limits(rate);
    fakevt::spawn(vtsum_test_utils::fake_config(keys, &windows, daily))
        .await
        .expect("fake VirusTotal starts")
}

/// The tests' own reading of `N/Xms`, `N/Xs`, `N/min`, `N/day` lists: deliberately
/// minimal, and independent of `vtsum_core::rate`.
pub fn literal_limits(rate: &str) -> (Vec<(u32, Duration)>, Option<u32>) {
    let mut windows = Vec::new();
    let mut daily = None;
    for part in rate.split(',').map(str::trim) {
        let (n, per) = part.split_once('/').expect("N/PERIOD");
        let n: u32 = n.parse().expect("a count");
        let ms = |digits: &str, unit: u64| digits.parse::<u64>().unwrap_or(1) * unit;
        let window = match per {
            "day" => {
                daily = Some(n);
                continue;
            }
            "min" => 60_000,
            p if p.ends_with("ms") => ms(&p[..p.len() - 2], 1),
            p if p.ends_with('s') => ms(&p[..p.len() - 1], 1000),
            p => panic!("the tests' rate reader does not know {p:?}"),
        };
        windows.push((n, Duration::from_millis(window)));
    }
    (windows, daily)
}

/// Engine settings for a fake: `rate` for every key, fast retries.
pub fn config(fake: &fakevt::FakeVt, keys: &[&str], rate: &str) -> EngineConfig {
    EngineConfig {
        keys: keys.iter().map(ApiKey::new).collect(),
        rate: rate.parse().unwrap(),
        daily_fallback: None,
        client: ClientConfig {
            base_url: fake.url(),
            version: ApiVersion::V3,
            timeout: Duration::from_secs(5),
        },
        concurrency: 8,
        max_age_found: Duration::from_secs(7 * 86_400),
        max_age_unknown: Duration::from_secs(86_400),
        retries: 3,
        backoff: Duration::from_millis(20),
    }
}

pub fn memory_store() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

/// `n` hashes the fake knows (sha256), then `unknown` it does not.
pub fn hashes(fake: &fakevt::FakeVt, n: usize, unknown: usize) -> Vec<Hash> {
    let mut out: Vec<Hash> = fake
        .corpus()
        .files()
        .iter()
        .take(n)
        .map(|f| Hash::parse(&f.sha256).unwrap())
        .collect();
    assert_eq!(out.len(), n, "the corpus is large enough");
    out.extend((0..unknown as u64).map(|i| Hash::parse(&fakevt::unknown_hash(i)).unwrap()));
    out
}

pub fn spec() -> JobSpec {
    JobSpec {
        label: "test".into(),
        row_options: RowOptions::default(),
        refresh: false,
        lines_without_hash: 0,
        duplicates: 0,
        origin: Default::default(),
        non_file_hashes: 0,
        ..JobSpec::default()
    }
}

/// Creates a job of `hashes` on `engine` and runs it in the background, its events dropped.
pub fn spawn_run(
    engine: &Arc<Engine>,
    hashes: &[Hash],
    opts: RunOptions,
) -> tokio::task::JoinHandle<vtsum_core::Result<RunOutcome>> {
    let (job, _) = engine
        .open_scan(spec(), &vtsum_core::Target::files(hashes))
        .unwrap();
    let engine = engine.clone();
    tokio::spawn(async move { engine.run_job(&job.id, opts, &|_| {}, &Cancel::new()).await })
}

/// Waits until the fake has had `n` requests; after 20 s fails, saying `never`.
pub async fn wait_for_arrivals(fake: &fakevt::FakeVt, n: usize, never: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while fake.counters().arrivals.len() < n {
        assert!(std::time::Instant::now() < deadline, "{never}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Creates a job of `hashes` and runs it to its end, collecting the events.
pub async fn run(
    engine: &Engine,
    hashes: &[Hash],
    opts: RunOptions,
) -> (JobId, RunOutcome, Vec<Event>) {
    let (job, _) = engine
        .open_scan(spec(), &vtsum_core::Target::files(hashes))
        .unwrap();
    let events = Mutex::new(Vec::new());
    let sink = |e: &Event| events.lock().unwrap().push(e.clone());
    let outcome = engine
        .run_job(&job.id, opts, &sink, &Cancel::new())
        .await
        .expect("the job runs");
    (job.id, outcome, events.into_inner().unwrap())
}

#[allow(unused_imports)]
pub use vtsum_test_utils::{redis_url, unique_prefix};
