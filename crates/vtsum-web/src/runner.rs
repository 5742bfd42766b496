//! The background job runner: one job at a time, oldest first, on the shared engine (the
//! keys' quota is the bottleneck, so running jobs side by side would only interleave them).
//!
//! Jobs live in the store before the runner hears of them, so the queue itself is only a
//! wake-up: at start the runner resumes every unfinished web job, oldest first, and a job
//! that ran out of daily quota sleeps until its `resumes_at` while the others go on
//! (they may be answerable from the cache).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use vtsum_core::engine::{now_unix, Cancel, Engine, Event, Progress, RunOptions, RunOutcome};
use vtsum_core::report::{Row, RowOptions};
use vtsum_core::store::{JobId, JobInfo, JobOrigin, JobState};

use crate::hub::Update;
use crate::view::{self, JobView};
use crate::{App, WebError};

/// How often a running job's counters and the keys' quota go out to watchers.
const TICK: Duration = Duration::from_millis(250);

/// The handle the rest of the app holds.
pub struct Runner {
    wake: mpsc::UnboundedSender<JobId>,
    inbox: Mutex<Option<mpsc::UnboundedReceiver<JobId>>>,
    /// The job running now and how to stop it.
    current: Mutex<Option<(JobId, Cancel)>>,
    shutdown: Cancel,
    stopped: watch::Sender<bool>,
}

impl Runner {
    pub fn new() -> Runner {
        let (wake, inbox) = mpsc::unbounded_channel();
        Runner {
            wake,
            inbox: Mutex::new(Some(inbox)),
            current: Mutex::new(None),
            shutdown: Cancel::new(),
            stopped: watch::channel(false).0,
        }
    }

    /// Tells the runner a new job is in the store.
    pub fn submit(&self, id: JobId) {
        // An error means the runner has stopped; the job stays queued for the next start.
        let _ = self.wake.send(id);
    }

    /// Stops the job if it is running (it is being deleted).
    pub fn cancel(&self, id: &JobId) {
        if let Some((running, cancel)) = &*self.current.lock().unwrap_or_else(|e| e.into_inner()) {
            if running == id {
                cancel.cancel();
            }
        }
    }

    pub fn shutdown(&self) {
        self.shutdown.cancel();
        if let Some((_, cancel)) = &*self.current.lock().unwrap_or_else(|e| e.into_inner()) {
            cancel.cancel();
        }
    }

    pub async fn stopped(&self) {
        let _ = self.stopped.subscribe().wait_for(|&s| s).await;
    }

    /// The signal [`Runner::shutdown`] fires, for the queue worker that stands in for the
    /// runner on a shared store.
    pub(crate) fn stop_signal(&self) -> Cancel {
        self.shutdown.clone()
    }

    /// Says the background work has stopped ([`Runner::stopped`] resolves).
    pub(crate) fn mark_stopped(&self) {
        self.stopped.send_replace(true);
    }

    fn set_current(&self, value: Option<(JobId, Cancel)>) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = value;
    }
}

/// Starts the runner task.
pub fn spawn(app: App) -> Result<(), WebError> {
    let inbox = app
        .inner
        .runner
        .inbox
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .ok_or_else(|| WebError::Internal("the runner was started twice".into()))?;
    let mut unfinished: Vec<JobInfo> = app
        .inner
        .store
        .job_list()?
        .into_iter()
        .filter(|j| j.spec.origin == JobOrigin::Web && !j.state.is_final())
        .collect();
    // The list is newest first, to the creation order within a second: reversed and
    // sorted stably, it is oldest first.
    unfinished.reverse();
    unfinished.sort_by_key(|j| j.created_at);
    if !unfinished.is_empty() {
        tracing::info!("resuming {} unfinished job(s)", unfinished.len());
    }
    let queue = unfinished.into_iter().map(|j| j.id).collect();
    tokio::spawn(async move {
        run_loop(&app, inbox, queue).await;
        app.inner.runner.mark_stopped();
    });
    Ok(())
}

async fn run_loop(
    app: &App,
    mut inbox: mpsc::UnboundedReceiver<JobId>,
    mut queue: VecDeque<JobId>,
) {
    let runner = &app.inner.runner;
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
        if runner.shutdown.is_cancelled() {
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
                _ = runner.shutdown.cancelled() => return,
            }
            continue;
        };
        match run_one(app, &id).await {
            Ok(Some(RunOutcome::WaitingQuota { resumes_at })) => waiting.push((id, resumes_at)),
            Ok(_) => {}
            Err(e) => tracing::error!("job {id}: {e}"),
        }
    }
}

/// Runs one job until it is done, out of quota, cancelled or failed. `None`: nothing to do.
async fn run_one(app: &App, id: &JobId) -> Result<Option<RunOutcome>, WebError> {
    let (Some(engine), Some(job)) = (app.inner.engine.clone(), app.inner.store.job_get(id)?) else {
        return Ok(None);
    };
    if job.state.is_final() {
        return Ok(None);
    }
    let runner = &app.inner.runner;
    let cancel = Cancel::new();
    runner.set_current(Some((id.clone(), cancel.clone())));
    let live = Mutex::new(Progress {
        total: job.total,
        done: job.done,
        cache_hits: job.cache_hits,
        errors: job.errors,
        eta_secs: None,
    });
    let hub = &app.inner.hub;
    let options = job.spec.row_options;
    let sink = |event: &Event| {
        if let Event::Progress(p) = event {
            *live.lock().unwrap_or_else(|e| e.into_inner()) = p.clone();
        }
        if let Some(update) = event_update(event, options) {
            hub.publish(id, update);
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
                publish_job(app, &now, p.eta_secs);
            }
        }
    };
    runner.set_current(None);
    if let Some(done) = app.inner.store.job_get(id)? {
        publish_job(app, &done, None);
    }
    Ok(Some(outcome?))
}

/// Sends a job's view and the keys' quota to its watchers.
pub fn publish_job(app: &App, job: &JobInfo, eta_secs: Option<u64>) {
    for update in job_updates(app.inner.engine.as_deref(), job, eta_secs) {
        app.inner.hub.publish(&job.id, update);
    }
}

/// The update a job page reads for an engine event, if it reads one: a finished row, or a
/// notice about a rejected key. Counters go out separately, on a tick.
pub fn event_update(event: &Event, options: RowOptions) -> Option<Update> {
    match event {
        Event::Item {
            index,
            hash,
            result,
        } => {
            let row = Row::from_result(hash, result, options);
            let data = serde_json::json!({ "index": index, "row": row }).to_string();
            Some(Update { event: "row", data })
        }
        Event::KeyRejected { key, reason } => {
            let message =
                format!("key {key} was rejected by VirusTotal ({reason}); going on without it");
            let data = serde_json::json!({ "message": message }).to_string();
            Some(Update {
                event: "notice",
                data,
            })
        }
        Event::Progress(_) | Event::Waiting { .. } => None,
    }
}

/// A job's view and the keys' quota, as the updates a job page reads: what the runner
/// sends as a job moves and what a new watcher is sent first.
pub fn job_updates(engine: Option<&Engine>, job: &JobInfo, eta_secs: Option<u64>) -> Vec<Update> {
    let view = JobView::new(job, eta_secs);
    let mut updates = vec![Update {
        event: "job",
        data: serde_json::to_string(&view).expect("views serialise"),
    }];
    match view::keys(engine) {
        Ok(keys) => updates.push(Update {
            event: "keys",
            data: serde_json::to_string(&keys).expect("views serialise"),
        }),
        Err(e) => tracing::warn!("cannot read the keys' quota: {e}"),
    }
    updates
}
