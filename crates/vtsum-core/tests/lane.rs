//! The interactive lane: a one-hash lookup someone waits for gets the next free slot ahead
//! of batch jobs' queued hashes, and batch jobs slow down under a stream of lookups but
//! never stop. Positions are read from the fake VirusTotal's own arrival log.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use vtsum_core::engine::{Cancel, Engine, Lane, RunOptions, BATCH_SHARE};
use vtsum_core::Hash;

const KEY: &str = "lane-key-1";
/// One request per window: every slot is contested.
const RATE: &str = "1/200ms";
const BATCH_JOBS: usize = 6;

/// Starts `BATCH_JOBS` batch jobs of 40 hashes each, running until the test ends.
async fn busy_engine() -> (fakevt::FakeVt, Arc<Engine>, Vec<Hash>) {
    let fake = fake(&[KEY], RATE).await;
    let engine = Arc::new(Engine::new(config(&fake, &[KEY], RATE), memory_store()).unwrap());
    let all = hashes(&fake, 0, BATCH_JOBS * 40 + 40);
    for part in all[..BATCH_JOBS * 40].chunks(40) {
        spawn_run(&engine, part, RunOptions::default());
    }
    wait_for_arrivals(&fake, BATCH_JOBS, "the batch jobs never ran").await;
    let spare = all[BATCH_JOBS * 40..].to_vec();
    (fake, engine, spare)
}

async fn interactive(engine: &Engine, hash: &Hash) {
    let (job, _) = engine
        .open_scan(
            spec(),
            &vtsum_core::Target::files(std::slice::from_ref(hash)),
        )
        .unwrap();
    let opts = RunOptions {
        lane: Lane::Interactive,
        ..RunOptions::default()
    };
    engine
        .run_job(&job.id, opts, &|_| {}, &Cancel::new())
        .await
        .unwrap();
}

fn position(fake: &fakevt::FakeVt, hash: &Hash) -> usize {
    fake.counters()
        .arrivals
        .iter()
        .position(|a| a.hashes.iter().any(|h| h == hash.as_str()))
        .expect("the lookup was sent")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_takes_the_next_free_slot_ahead_of_six_busy_jobs() {
    let (fake, engine, spare) = busy_engine().await;
    let mut ahead = Vec::new();
    for hash in &spare[..3] {
        let asked_after = fake.counters().arrivals.len();
        interactive(&engine, hash).await;
        ahead.push(position(&fake, hash) - asked_after);
    }
    // Without the lane each lookup is one of seven runs contending for a slot, and about
    // six batch requests go first.
    assert!(
        ahead.iter().sum::<usize>() <= 2,
        "batch requests sent ahead of each lookup: {ahead:?}"
    );
    assert_eq!(fake.counters().quota_refusals_by_key.len(), 0, "no 429");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_jobs_keep_a_share_of_the_slots_under_a_stream_of_lookups() {
    let (fake, engine, spare) = busy_engine().await;
    let from = fake.counters().arrivals.len();
    let lookups: Vec<Hash> = spare[..24].to_vec();
    let mut tasks = tokio::task::JoinSet::new();
    for hash in lookups.clone() {
        let engine = engine.clone();
        tasks.spawn(async move { interactive(&engine, &hash).await });
    }
    while tasks.join_next().await.is_some() {}
    let arrivals = fake.counters().arrivals;
    let last = lookups.iter().map(|h| position(&fake, h)).max().unwrap();
    let window = &arrivals[from..=last];
    let batch = window
        .iter()
        .filter(|a| {
            !a.hashes
                .iter()
                .any(|h| lookups.iter().any(|l| l.as_str() == h))
        })
        .count();
    let share = 1.0 / f64::from(BATCH_SHARE + 1);
    let expected = (window.len() as f64 * share).floor() as usize;
    assert!(
        batch + 1 >= expected,
        "{batch} of {} slots went to the jobs while lookups queued, expected about {expected}",
        window.len()
    );
    assert!(
        batch <= expected + 2,
        "the lookups did not go first: {batch} of {} slots went to the jobs",
        window.len()
    );
}

/// A re-check round's engine (`Engine::beside`) asks for 20 hashes; a job of 10 starts
/// once the round is going. From the job's first request to its last, every slot is the
/// job's: not one re-check is sent between them, and the round finishes afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_checks_never_take_a_slot_while_a_job_has_work() {
    let fake = fake(&[KEY], RATE).await;
    let engine = Arc::new(Engine::new(config(&fake, &[KEY], RATE), memory_store()).unwrap());
    let rechecks = Arc::new(engine.beside(Duration::from_secs(3600)));
    let all = hashes(&fake, 30, 0);
    let (watched, job_hashes) = all.split_at(20);
    let opts = RunOptions {
        lane: Lane::Recheck,
        ..RunOptions::default()
    };
    let round_run = spawn_run(&rechecks, watched, opts);
    wait_for_arrivals(&fake, 2, "the re-checks never ran").await;
    let (job, _) = engine
        .open_scan(spec(), &vtsum_core::Target::files(job_hashes))
        .unwrap();
    engine
        .run_job(&job.id, RunOptions::default(), &|_| {}, &Cancel::new())
        .await
        .unwrap();
    round_run.await.unwrap().unwrap();
    let first = job_hashes.iter().map(|h| position(&fake, h)).min().unwrap();
    let last = job_hashes.iter().map(|h| position(&fake, h)).max().unwrap();
    let arrivals = fake.counters().arrivals;
    assert_eq!(
        last - first + 1,
        job_hashes.len(),
        "re-checks sent while the job had work"
    );
    assert_eq!(
        arrivals.len(),
        30,
        "every re-check sent in the end, each once"
    );
    assert_eq!(
        (rechecks.sent_by_runs(), engine.sent_by_runs()),
        (20, 10),
        "each engine counts its own runs' requests"
    );
    let total = |e: &Engine| e.metrics().requests.values().sum::<u64>();
    assert_eq!(
        (total(&rechecks), total(&engine)),
        (30, 30),
        "the process's counters (/metrics) have both"
    );
    assert_eq!(fake.counters().quota_refusals_by_key.len(), 0, "no 429");
}
