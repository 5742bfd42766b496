//! vtsum's web app: the front page (upload or paste), durable background jobs with live
//! progress over Server-Sent Events, the report page, downloads, and a JSON API under
//! `/api/v1` — all on the same [`Engine`] and report rows as `vtsum scan`.
//!
//! [`App::start`] resumes the jobs a previous process left unfinished and returns the
//! state that [`router`] serves. Pages are server-rendered shells with every value escaped;
//! the script (embedded, no CDN) fills them from the JSON API.

use std::sync::Arc;

use std::sync::atomic::{AtomicBool, Ordering};

use vtsum_core::engine::Engine;
use vtsum_core::queue::WorkQueue;
use vtsum_core::store::Store;

mod api;
mod assets;
mod auth;
mod error;
mod events;
mod hub;
pub mod input;
mod metrics;
mod openapi;
mod pages;
mod router;
mod runner;
pub mod server;
mod site;
mod view;
pub mod worker;

pub use error::WebError;
pub use openapi::OPENAPI;
pub use router::router;

/// Settings of the web app.
#[derive(Clone, Default)]
pub struct WebConfig {
    /// Required on every page and API call when set (cookie after login, or Bearer).
    pub auth_token: Option<String>,
    /// Largest accepted request body in bytes.
    pub upload_limit: usize,
    /// Malicious detections needed for the `malicious` verdict.
    pub threshold: u32,
    /// On a store with a work queue: leave the jobs to `vtsum worker` processes.
    pub no_worker: bool,
    /// On a store with a work queue: how long a part may go untouched before another
    /// worker takes it over (`None`: [`worker::DEFAULT_CLAIM_AFTER`]).
    pub claim_after: Option<std::time::Duration>,
    /// The address the server listens on: a `Host` naming this IP is accepted (any IP when
    /// it is 0.0.0.0 or ::). `None`: loopback only.
    pub bind: Option<std::net::SocketAddr>,
    /// Host names accepted in `Host` besides `localhost` and the bound address (`*`: any).
    pub allowed_hosts: Vec<String>,
    /// How long a login lasts (`None`: 7 days).
    pub session_ttl: Option<std::time::Duration>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("auth_token", &self.auth_token.as_ref().map(|_| "***"))
            .field("upload_limit", &self.upload_limit)
            .field("threshold", &self.threshold)
            .field("no_worker", &self.no_worker)
            .field("claim_after", &self.claim_after)
            .field("bind", &self.bind)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("session_ttl", &self.session_ttl)
            .finish()
    }
}

/// Default upload limit: 10 MiB.
pub const DEFAULT_UPLOAD_LIMIT: usize = 10 << 20;

/// The shared state behind every request.
#[derive(Clone)]
pub struct App {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// `None` when no API key is configured: pages say how to add one.
    pub engine: Option<Arc<Engine>>,
    pub store: Arc<dyn Store>,
    pub config: WebConfig,
    pub hub: hub::Hub,
    pub access: auth::Access,
    pub runner: runner::Runner,
    /// The store's work queue, when it has one: jobs then run on whichever worker takes
    /// their parts, and progress arrives from the queue's channel.
    pub queue: Option<Arc<dyn WorkQueue>>,
    /// Tells the thread listening to the queue's channel to stop.
    pub listening: Arc<AtomicBool>,
}

impl App {
    /// Builds the app and starts its job runner, which first resumes every web job a
    /// previous process left unfinished — or, on a store with a work queue, its queue
    /// worker (unless `config.no_worker`) and a listener for every worker's progress.
    /// Call inside a Tokio runtime.
    pub fn start(
        engine: Option<Arc<Engine>>,
        store: Arc<dyn Store>,
        config: WebConfig,
    ) -> Result<App, WebError> {
        let hub = hub::Hub::default();
        let runner = runner::Runner::new();
        let queue = store.work_queue();
        let access = auth::Access::new(config.session_ttl);
        let app = App {
            inner: Arc::new(Inner {
                engine,
                store,
                config,
                hub,
                access,
                runner,
                queue,
                listening: Arc::new(AtomicBool::new(false)),
            }),
        };
        match app.inner.queue.clone() {
            None => runner::spawn(app.clone())?,
            Some(queue) => {
                listen(&app, queue.clone());
                worker::spawn(app.clone(), queue);
            }
        }
        Ok(app)
    }

    /// Stops the runner: a running job stops after its requests in flight and stays
    /// `queued` in the store, so the next start resumes it.
    pub fn shutdown(&self) {
        self.inner.runner.shutdown();
        self.inner.listening.store(true, Ordering::Relaxed);
        self.inner.hub.close_all();
    }

    /// How many jobs have a live-update channel now (jobs someone watches): tests read it
    /// to see that closed or refused watchers leave nothing behind.
    pub fn watched_jobs(&self) -> usize {
        self.inner.hub.channels()
    }

    /// Resolves once the runner has stopped after [`App::shutdown`].
    pub async fn stopped(&self) {
        self.inner.runner.stopped().await;
    }
}

/// Forwards every worker's progress messages to this replica's job pages, on a thread of
/// its own (the subscription blocks), reconnecting after a store outage.
fn listen(app: &App, queue: Arc<dyn WorkQueue>) {
    let app = app.clone();
    let stop = app.inner.listening.clone();
    let spawned = std::thread::Builder::new()
        .name("vtsum-listen".into())
        .spawn(move || {
            let mut failing = false;
            while !stop.load(Ordering::Relaxed) {
                let forwarded = queue.listen(&stop, &mut |job, text| {
                    failing = false;
                    if let Some(update) = hub::Update::from_wire(&text) {
                        app.inner.hub.publish(&job, update);
                    }
                });
                if let Err(e) = forwarded {
                    if !failing {
                        tracing::warn!("progress from other workers paused: {e}");
                        failing = true;
                    }
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the progress listener: {e}");
    }
}
