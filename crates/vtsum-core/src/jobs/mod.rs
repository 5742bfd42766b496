//! The job lifecycle every front door shares: create, resume, run, wait for quota, parts,
//! cancel, and the progress updates watchers read. `vtsum serve` starts [`Jobs`] and routes
//! requests to it; `vtsum worker` runs [`worker::run`]; `vtsum scan` runs its one job on
//! the engine directly (it is its own front door and watcher).
//!
//! | module | role |
//! |---|---|
//! | [`updates`] | [`JobUpdate`]: what watchers hear, in this process and between processes |
//! | `runner` | a store without a work queue: one job at a time here, oldest first |
//! | [`worker`] | a store with a work queue: parts taken by any process on it |
//!
//! Which runs is the store's to say: with a work queue (Redis), jobs are cut into parts
//! that any worker takes, and progress reaches every replica through the queue's channel
//! ([`Jobs::start`] listens to it); without one (SQLite, memory), this process runs them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::engine::{now_unix, Cancel, Engine};
use crate::error::Result;
use crate::hash::Hash;
use crate::queue::WorkQueue;
use crate::store::{self, JobId, JobInfo, JobOrigin, JobSpec, Store};
use crate::target::Target;

mod runner;
pub mod updates;
pub mod worker;

pub use updates::{event_update, snapshot, JobUpdate, Publish};
pub use worker::{WorkerConfig, DEFAULT_CLAIM_AFTER};

/// How a process takes part in running jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role {
    /// The front door whose unfinished jobs the local runner resumes at start.
    pub origin: JobOrigin,
    /// On a store with a work queue: take parts here (`false`: `--no-worker`, leave them
    /// to `vtsum worker` processes).
    pub take_parts: bool,
    /// How long a part may go untouched before another worker takes it over.
    pub claim_after: Duration,
}

/// The state shared by the handle and the task that runs jobs.
pub(crate) struct Control {
    wake: mpsc::UnboundedSender<JobId>,
    /// The job running here now and how to stop it.
    current: Mutex<Option<(JobId, Cancel)>>,
    shutdown: Cancel,
    stopped: watch::Sender<bool>,
    /// Tells the thread listening to the queue's channel to stop.
    listening: Arc<AtomicBool>,
}

impl Control {
    fn set_current(&self, value: Option<(JobId, Cancel)>) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = value;
    }
}

/// The running job machinery of one process: the handle a front door holds.
pub struct Jobs {
    engine: Option<Arc<Engine>>,
    store: Arc<dyn Store>,
    queue: Option<Arc<dyn WorkQueue>>,
    control: Arc<Control>,
}

impl Jobs {
    /// Starts running jobs: the local runner (which first resumes every unfinished job of
    /// `role.origin`), or on a store with a work queue a listener for every worker's
    /// progress and, unless `role.take_parts` is off or there is no engine, a queue worker.
    /// Updates go to `publish`. Call inside a Tokio runtime.
    pub fn start(
        engine: Option<Arc<Engine>>,
        store: Arc<dyn Store>,
        role: Role,
        publish: Publish,
    ) -> Jobs {
        let (wake, inbox) = mpsc::unbounded_channel();
        let control = Arc::new(Control {
            wake,
            current: Mutex::new(None),
            shutdown: Cancel::new(),
            stopped: watch::channel(false).0,
            listening: Arc::new(AtomicBool::new(false)),
        });
        let queue = store.work_queue();
        let jobs = Jobs {
            engine: engine.clone(),
            store: store.clone(),
            queue: queue.clone(),
            control: control.clone(),
        };
        match queue {
            None => {
                let runner = runner::Runner {
                    engine,
                    store,
                    origin: role.origin,
                    publish,
                    control: control.clone(),
                };
                tokio::spawn(async move {
                    runner.run(inbox).await;
                    control.stopped.send_replace(true);
                });
            }
            Some(queue) => {
                listen(queue.clone(), control.listening.clone(), publish);
                tokio::spawn(async move {
                    let stop = control.shutdown.clone();
                    match engine.filter(|_| role.take_parts) {
                        Some(engine) => {
                            let cfg = WorkerConfig::new(role.claim_after);
                            worker::run(engine, queue, cfg, stop).await;
                        }
                        None => stop.cancelled().await,
                    }
                    control.stopped.send_replace(true);
                });
            }
        }
        jobs
    }

    /// Whether jobs here run through a work queue shared with other processes.
    pub fn has_queue(&self) -> bool {
        self.queue.is_some()
    }

    /// The engine jobs run on, if this process has keys.
    pub fn engine(&self) -> Option<&Arc<Engine>> {
        self.engine.as_ref()
    }

    /// Stores a new job with its items (hashes, URLs, domains, IP addresses; with a work
    /// queue, its parts too) and wakes the runner. The store's own check that the job is
    /// whole comes first: nothing runs a job that is not stored.
    /// `groups` are the `(strong, weak)` hashes of one file among the items
    /// ([`Engine::group_hashes`]).
    pub async fn create(
        &self,
        spec: JobSpec,
        hashes: Vec<Target>,
        groups: &[(Hash, Hash)],
    ) -> Result<JobInfo> {
        let id = JobId::random();
        let mut spec = spec;
        spec.objects = crate::engine::count_objects(&hashes);
        if let Some(engine) = &self.engine {
            engine.group_hashes(&id, groups);
        }
        let job = {
            let id = id.clone();
            store::blocking(&self.store, move |s| {
                s.job_create(&id, &spec, &hashes, now_unix())?;
                s.job_get(&id)?
                    .ok_or_else(|| crate::Error::NoSuchJob(id.0.clone()))
            })
            .await?
        };
        // With a work queue the store queued the job's parts as it created it.
        if self.queue.is_none() {
            // An error means the runner has stopped; the job stays queued for the next start.
            let _ = self.control.wake.send(id);
        }
        Ok(job)
    }

    /// Stops a job if it runs here and deletes it with its results (cached answers stay).
    /// A part running on another worker stops within a tick, when it sees the job gone.
    pub async fn delete(&self, id: &JobId) -> Result<bool> {
        if let Some((running, cancel)) = &*self
            .control
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
        {
            if running == id {
                cancel.cancel();
            }
        }
        let id = id.clone();
        store::blocking(&self.store, move |s| s.job_delete(&id)).await
    }

    /// Stops running jobs: a running job stops after its requests in flight and stays
    /// unfinished in the store, so the next start resumes it.
    pub fn shutdown(&self) {
        self.control.shutdown.cancel();
        self.control.listening.store(true, Ordering::Relaxed);
        if let Some((_, cancel)) = &*self
            .control
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
        {
            cancel.cancel();
        }
    }

    /// Resolves once the runner or worker has stopped after [`Jobs::shutdown`].
    pub async fn stopped(&self) {
        let _ = self.control.stopped.subscribe().wait_for(|&s| s).await;
    }
}

/// Forwards every worker's progress messages to `publish`, on a thread of its own (the
/// subscription blocks), reconnecting after a store outage.
fn listen(queue: Arc<dyn WorkQueue>, stop: Arc<AtomicBool>, publish: Publish) {
    let spawned = std::thread::Builder::new()
        .name("vtsum-listen".into())
        .spawn(move || {
            let mut failing = false;
            while !stop.load(Ordering::Relaxed) {
                let forwarded = queue.listen(&stop, &mut |job, text| {
                    failing = false;
                    if let Some(update) = JobUpdate::from_wire(&text) {
                        publish(&job, update);
                    }
                });
                if let Err(e) = forwarded {
                    if !failing {
                        tracing::warn!("progress from other workers paused: {e}");
                        failing = true;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the progress listener: {e}");
    }
}
