//! The queue worker: takes parts of jobs from the store's work queue and runs them on the
//! engine, until told to stop. `vtsum worker` runs only this; `vtsum serve` on a Redis
//! store runs it beside the web app unless `--no-worker`.
//!
//! While it runs a part it touches it in the queue (so no other worker claims it) and
//! publishes the part's rows and the job's counters, read from the store so that they
//! count every worker's results, to every replica's job pages. A part whose job was
//! deleted stops within one tick. A store outage leaves the part in the queue: it is
//! taken again, by this worker or another, once the store is back.

use std::sync::Arc;
use std::time::Duration;

use super::updates::{event_update, snapshot, JobUpdate};
use crate::engine::{Cancel, Engine, Event, RunOptions, RunOutcome};
use crate::error::{Error, Result};
use crate::queue::{Part, WorkQueue};
use crate::store::{self, off_runtime, JobId, JobInfo};

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

/// Takes and runs parts until `stop` fires; a part running then stops after its requests
/// in flight and stays in the queue for the next worker.
pub async fn run(engine: Arc<Engine>, queue: Arc<dyn WorkQueue>, cfg: WorkerConfig, stop: Cancel) {
    tracing::info!("worker {} taking parts from the work queue", cfg.name);
    let mut backoff = Duration::from_millis(250);
    while !stop.is_cancelled() {
        let next = {
            let (queue, cfg) = (queue.clone(), cfg.clone());
            off_runtime("taking a part", move || {
                queue.next_part(&cfg.name, BLOCK, cfg.claim_after)
            })
            .await
        };
        let result = match next {
            Ok(Some(part)) => run_part(&engine, &queue, &cfg, &part, &stop).await,
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

/// Reads a job's header off the async threads.
async fn job_get(engine: &Engine, id: &JobId) -> Result<Option<JobInfo>> {
    let id = id.clone();
    store::blocking(engine.store(), move |s| s.job_get(&id)).await
}

/// Sends an update to every replica's watchers (best effort: a lost progress message is
/// made good by the next tick).
async fn publish(queue: &Arc<dyn WorkQueue>, job: &JobId, updates: Vec<JobUpdate>) {
    let (queue, job) = (queue.clone(), job.clone());
    let sent = off_runtime("publishing progress", move || {
        updates
            .iter()
            .try_for_each(|u| queue.publish(&job, &u.to_wire()))
    })
    .await;
    if let Err(e) = sent {
        tracing::debug!("cannot publish progress: {e}");
    }
}

/// Removes a finished part from the queue.
async fn finish(queue: &Arc<dyn WorkQueue>, part: &Part) -> Result<()> {
    let (queue, part) = (queue.clone(), part.clone());
    off_runtime("finishing a part", move || queue.finish(&part)).await
}

/// Runs one part. `Err`: the store failed; the part stays in the queue.
async fn run_part(
    engine: &Arc<Engine>,
    queue: &Arc<dyn WorkQueue>,
    cfg: &WorkerConfig,
    part: &Part,
    stop: &Cancel,
) -> Result<()> {
    let Some(job) = job_get(engine, &part.job).await? else {
        tracing::debug!("part {} of deleted job {}: dropped", part.entry, part.job);
        return finish(queue, part).await;
    };
    tracing::debug!("running {}..{} of job {}", part.from, part.to, part.job);
    let options = job.spec.row_options;
    // Rows go out as they land, from the engine's callback (which cannot wait): through a
    // channel to a task that publishes them in order.
    let (rows, mut outbox) = tokio::sync::mpsc::unbounded_channel::<JobUpdate>();
    let sender = {
        let (queue, id) = (queue.clone(), part.job.clone());
        tokio::spawn(async move {
            while let Some(first) = outbox.recv().await {
                let mut batch = vec![first];
                while let Ok(more) = outbox.try_recv() {
                    batch.push(more);
                }
                publish(&queue, &id, batch).await;
            }
        })
    };
    // The sink borrows the channel: the run and its sink end with this block.
    let outcome = {
        let sink = |event: &Event| {
            if let Some(update) = event_update(event, options) {
                let _ = rows.send(update);
            }
        };
        let cancel = Cancel::new();
        // A stop of the worker stops the part; a deleted job stops it too (below).
        let opts = RunOptions {
            wait_for_quota: true,
            ..RunOptions::default()
        };
        let run = engine.run_part(&part.job, (part.from, part.to), opts, &sink, &cancel);
        tokio::pin!(run);
        let mut tick = tokio::time::interval(TICK);
        let mut touched = tokio::time::Instant::now();
        let touch_every = cfg.claim_after / 4;
        loop {
            tokio::select! {
                outcome = &mut run => break outcome,
                _ = stop.cancelled(), if !cancel.is_cancelled() => cancel.cancel(),
                _ = tick.tick() => {
                    if touched.elapsed() >= touch_every {
                        let (q, name, p) = (queue.clone(), cfg.name.clone(), part.clone());
                        if let Err(e) = off_runtime("touching a part", move || q.touch(&name, &p)).await {
                            tracing::debug!("cannot touch part {}: {e}", part.entry);
                        }
                        touched = tokio::time::Instant::now();
                    }
                    match job_get(engine, &part.job).await {
                        Ok(Some(now)) => publish(queue, &part.job, snapshot(Some(engine), &now, None).await).await,
                        Ok(None) => cancel.cancel(),
                        Err(_) => {}
                    }
                }
            }
        }
    };
    drop(rows);
    let _ = sender.await;
    let after = job_get(engine, &part.job).await;
    if let Ok(Some(now)) = &after {
        publish(queue, &part.job, snapshot(Some(engine), now, None).await).await;
    }
    match outcome {
        Ok(RunOutcome::Done) => finish(queue, part).await,
        // Stopped (the worker or the job): a live job's part waits for the next worker.
        Ok(RunOutcome::Cancelled | RunOutcome::WaitingQuota { .. }) => match after? {
            None => finish(queue, part).await,
            Some(_) => Ok(()),
        },
        Err(e) if e.is_unavailable() => Err(e),
        Err(Error::NoSuchJob(_)) => finish(queue, part).await,
        Err(e) => {
            // The engine marked the job failed; running the part again would fail again.
            tracing::error!("job {}: {e}", part.job);
            finish(queue, part).await
        }
    }
}
