//! The local job runner, for a store without a work queue (SQLite, memory): one job at a
//! time, oldest first, on the shared engine (the keys' quota is the bottleneck, so running
//! jobs side by side would only interleave them).
//!
//! Jobs live in the store before the runner hears of them, so its inbox is only a wake-up:
//! at start it resumes every unfinished job of the front door that started it, oldest
//! first, and a job that ran out of daily quota sleeps until its `resumes_at` while the
//! others go on (they may be answerable from the cache).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use super::updates::{event_update, snapshot, Publish};
use super::Control;
use crate::engine::{now_unix, Cancel, Engine, Event, Progress, RunOptions, RunOutcome};
use crate::error::Result;
use crate::store::{self, JobId, JobInfo, JobOrigin, JobState, Store};

/// How often a running job's counters and the keys' quota go out to watchers.
const TICK: Duration = Duration::from_millis(250);

/// What the runner task owns.
pub(super) struct Runner {
    pub engine: Option<Arc<Engine>>,
    pub store: Arc<dyn Store>,
    pub origin: JobOrigin,
    pub publish: Publish,
    pub control: Arc<Control>,
}

impl Runner {
    /// Resumes the unfinished jobs of `origin`, then runs what arrives in `inbox` until
    /// shutdown.
    pub async fn run(self, mut inbox: mpsc::UnboundedReceiver<JobId>) {
        let mut queue = match self.unfinished().await {
            Ok(queue) => queue,
            Err(e) => {
                tracing::error!("cannot list the jobs to resume: {e}");
                VecDeque::new()
            }
        };
        let shutdown = &self.control.shutdown;
        // Jobs out of daily quota, with the Unix time they may go on.
        let mut waiting: Vec<(JobId, i64)> = Vec::new();
        loop {
            while let Ok(id) = inbox.try_recv() {
                queue.push_back(id);
            }
            let now = now_unix();
            if let Some(pos) = waiting.iter().position(|(_, at)| *at <= now) {
                queue.push_back(waiting.remove(pos).0);
            }
            if shutdown.is_cancelled() {
                return;
            }
            let Some(id) = queue.pop_front() else {
                let next_wake = waiting.iter().map(|(_, at)| *at).min();
                let sleep = next_wake.map_or(Duration::from_secs(3600), |at| {
                    Duration::from_secs((at - now).max(1) as u64)
                });
                tokio::select! {
                    got = inbox.recv() => match got {
                        Some(id) => queue.push_back(id),
                        None => return,
                    },
                    _ = tokio::time::sleep(sleep) => {}
                    _ = shutdown.cancelled() => return,
                }
                continue;
            };
            match self.run_one(&id).await {
                Ok(Some(RunOutcome::WaitingQuota { resumes_at })) => waiting.push((id, resumes_at)),
                Ok(_) => {}
                Err(e) => tracing::error!("job {id}: {e}"),
            }
        }
    }

    /// The unfinished jobs of this runner's front door, oldest first.
    async fn unfinished(&self) -> Result<VecDeque<JobId>> {
        let origin = self.origin;
        let mut jobs: Vec<JobInfo> = store::blocking(&self.store, |s| s.job_list())
            .await?
            .into_iter()
            .filter(|j| j.spec.origin == origin && !j.state.is_final())
            .collect();
        // The list is newest first, to the creation order within a second: reversed and
        // sorted stably, it is oldest first.
        jobs.reverse();
        jobs.sort_by_key(|j| j.created_at);
        if !jobs.is_empty() {
            tracing::info!("resuming {} unfinished job(s)", jobs.len());
        }
        Ok(jobs.into_iter().map(|j| j.id).collect())
    }

    /// Runs one job until it is done, out of quota, cancelled or failed. `None`: nothing
    /// to do.
    async fn run_one(&self, id: &JobId) -> Result<Option<RunOutcome>> {
        let Some(engine) = self.engine.clone() else {
            return Ok(None);
        };
        let job = {
            let id = id.clone();
            store::blocking(&self.store, move |s| s.job_get(&id)).await?
        };
        let Some(job) = job.filter(|j| !j.state.is_final()) else {
            return Ok(None);
        };
        let cancel = Cancel::new();
        self.control.set_current(Some((id.clone(), cancel.clone())));
        let live = Mutex::new(Progress {
            total: job.total,
            done: job.done,
            cache_hits: job.cache_hits,
            errors: job.errors,
            eta_secs: None,
        });
        let options = job.spec.row_options;
        let sink = |event: &Event| {
            if let Event::Progress(p) = event {
                *live.lock().unwrap_or_else(|e| e.into_inner()) = p.clone();
            }
            if let Some(update) = event_update(event, options) {
                (self.publish)(id, update);
            }
        };
        let run = engine.run_job(id, RunOptions::default(), &sink, &cancel);
        tokio::pin!(run);
        let mut tick = tokio::time::interval(TICK);
        let outcome = loop {
            tokio::select! {
                outcome = &mut run => break outcome,
                _ = tick.tick() => {
                    let p = live.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    let mut now = job.clone();
                    now.state = JobState::Running;
                    (now.done, now.cache_hits, now.errors) = (p.done, p.cache_hits, p.errors);
                    self.send(&now, p.eta_secs).await;
                }
            }
        };
        self.control.set_current(None);
        let id2 = id.clone();
        if let Some(done) = store::blocking(&self.store, move |s| s.job_get(&id2)).await? {
            self.send(&done, None).await;
        }
        Ok(Some(outcome?))
    }

    async fn send(&self, job: &JobInfo, eta_secs: Option<u64>) {
        for update in snapshot(self.engine.as_ref(), job, eta_secs).await {
            (self.publish)(&job.id, update);
        }
    }
}
