//! The queue worker: takes parts of web jobs from the store's work queue and runs them on
//! the engine, until told to stop. `vtsum worker` runs only this; `vtsum serve` on a
//! Redis store runs it beside the web app unless `--no-worker`.
//!
//! While it runs a part it touches it in the queue (so no other worker claims it) and
//! publishes the part's rows and the job's counters, read from the store so that they
//! count every worker's results, to every replica's job pages. A part whose job was
//! deleted stops within one tick. A store outage leaves the part in the queue: it is
//! taken again, by this worker or another, once the store is back.

use std::sync::Arc;
use std::time::Duration;

use vtsum_core::engine::{Cancel, Engine, Event, RunOptions, RunOutcome};
use vtsum_core::queue::{Part, WorkQueue};
use vtsum_core::store::JobId;
use vtsum_core::Error;

use crate::hub::Update;
use crate::runner::{event_update, job_updates};
use crate::App;

/// How long a part may go untouched before another worker takes it over.
pub const DEFAULT_CLAIM_AFTER: Duration = Duration::from_secs(15);
/// How often the job's counters and the keys' quota go out while a part runs.
const TICK: Duration = Duration::from_millis(250);
/// How long one wait for a new part lasts, so a stop is noticed.
const BLOCK: Duration = Duration::from_secs(1);

/// A worker's settings.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// This worker's name in the queue (unique among workers).
    pub name: String,
    /// How long a part may go untouched before another worker takes it over.
    pub claim_after: Duration,
}

impl WorkerConfig {
    /// A unique name from the host and the process, and the given claim timeout.
    pub fn new(claim_after: Duration) -> WorkerConfig {
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "host".to_string());
        let id = JobId::random().0;
        WorkerConfig {
            name: format!("{host}-{}-{}", std::process::id(), &id[..6]),
            claim_after,
        }
    }
}

/// Starts this process's queue worker (a store with a work queue), unless the config says
/// `no_worker` or there is no key; the runner's shutdown stops it.
pub(crate) fn spawn(app: App, queue: Arc<dyn WorkQueue>) {
    tokio::spawn(async move {
        let runner = &app.inner.runner;
        let stop = runner.stop_signal();
        match (&app.inner.engine, app.inner.config.no_worker) {
            (Some(engine), false) => {
                let claim_after = app.inner.config.claim_after.unwrap_or(DEFAULT_CLAIM_AFTER);
                let cfg = WorkerConfig::new(claim_after);
                run(engine.clone(), queue, cfg, stop).await;
            }
            _ => stop.cancelled().await,
        }
        runner.mark_stopped();
    });
}

/// Takes and runs parts until `stop` fires; a part running then stops after its requests
/// in flight and stays in the queue for the next worker.
pub async fn run(engine: Arc<Engine>, queue: Arc<dyn WorkQueue>, cfg: WorkerConfig, stop: Cancel) {
    tracing::info!("worker {} taking parts from the work queue", cfg.name);
    let mut backoff = Duration::from_millis(250);
    while !stop.is_cancelled() {
        let next = {
            let (queue, cfg) = (queue.clone(), cfg.clone());
            tokio::task::spawn_blocking(move || queue.next_part(&cfg.name, BLOCK, cfg.claim_after))
                .await
                .unwrap_or_else(|e| Err(Error::Http(format!("queue task failed: {e}"))))
        };
        let result = match next {
            Ok(Some(part)) => run_part(&engine, queue.as_ref(), &cfg, &part, &stop).await,
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => backoff = Duration::from_millis(250),
            Err(e) => {
                tracing::warn!("worker {}: {e}; trying again in {backoff:?}", cfg.name);
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.cancelled() => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
    tracing::info!("worker {} stopped", cfg.name);
}

/// Runs one part. `Err`: the store failed; the part stays in the queue.
async fn run_part(
    engine: &Engine,
    queue: &dyn WorkQueue,
    cfg: &WorkerConfig,
    part: &Part,
    stop: &Cancel,
) -> Result<(), Error> {
    let store = engine.store();
    let Some(job) = store.job_get(&part.job)? else {
        tracing::debug!("part {} of deleted job {}: dropped", part.entry, part.job);
        return queue.finish(part);
    };
    tracing::debug!("running {}..{} of job {}", part.from, part.to, part.job);
    let options = job.spec.row_options;
    let publish = |update: Update| {
        if let Err(e) = queue.publish(&part.job, &update.to_wire()) {
            tracing::debug!("cannot publish progress: {e}");
        }
    };
    let sink = |event: &Event| {
        if let Some(update) = event_update(event, options) {
            publish(update);
        }
    };
    let cancel = Cancel::new();
    // A stop of the worker stops the part; a deleted job stops it too (below).
    let opts = RunOptions {
        wait_for_quota: true,
    };
    let run = engine.run_part(&part.job, (part.from, part.to), opts, &sink, &cancel);
    tokio::pin!(run);
    let mut tick = tokio::time::interval(TICK);
    let mut touched = tokio::time::Instant::now();
    let touch_every = cfg.claim_after / 4;
    let outcome = loop {
        tokio::select! {
            outcome = &mut run => break outcome,
            _ = stop.cancelled(), if !cancel.is_cancelled() => cancel.cancel(),
            _ = tick.tick() => {
                if touched.elapsed() >= touch_every {
                    if let Err(e) = queue.touch(&cfg.name, part) {
                        tracing::debug!("cannot touch part {}: {e}", part.entry);
                    }
                    touched = tokio::time::Instant::now();
                }
                match store.job_get(&part.job) {
                    Ok(Some(now)) => job_updates(Some(engine), &now, None).into_iter().for_each(&publish),
                    Ok(None) => cancel.cancel(),
                    Err(_) => {}
                }
            }
        }
    };
    let after = store.job_get(&part.job);
    if let Ok(Some(now)) = &after {
        job_updates(Some(engine), now, None)
            .into_iter()
            .for_each(&publish);
    }
    match outcome {
        Ok(RunOutcome::Done) => queue.finish(part),
        // Stopped (the worker or the job): a live job's part waits for the next worker.
        Ok(RunOutcome::Cancelled | RunOutcome::WaitingQuota { .. }) => match after? {
            None => queue.finish(part),
            Some(_) => Ok(()),
        },
        Err(e) if e.is_unavailable() => Err(e),
        Err(Error::NoSuchJob(_)) => queue.finish(part),
        Err(e) => {
            // The engine marked the job failed; running the part again would fail again.
            tracing::error!("job {}: {e}", part.job);
            queue.finish(part)
        }
    }
}
