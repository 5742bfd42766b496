//! vtsum's web app: the front page (upload or paste), durable background jobs with live
//! progress over Server-Sent Events, the report page, downloads, and a JSON API under
//! `/api/v1` — all on the same [`Engine`] and report rows as `vtsum scan`.
//!
//! [`App::start`] resumes the jobs a previous process left unfinished and returns the
//! state that [`router`] serves. Pages are server-rendered shells with every value escaped;
//! the script (embedded, no CDN) fills them from the JSON API.

use std::sync::Arc;

use vtsum_core::engine::Engine;
use vtsum_core::jobs::{Jobs, Role, DEFAULT_CLAIM_AFTER};
use vtsum_core::store::{JobOrigin, Store};

mod api;
mod assets;
mod auth;
mod download;
mod error;
mod events;
mod hub;
pub mod input;
mod lookup;
mod metrics;
mod openapi;
mod pages;
mod paging;
mod router;
pub mod server;
mod site;
mod v3;
mod view;
mod watch;

pub use error::WebError;
pub use lookup::DEFAULT_PROXY_WAIT;
pub use openapi::OPENAPI;
pub use router::router;
pub use v3::clients::{today as client_use_today, ClientToken, ClientTokenError, ClientUse};

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
    /// worker takes it over (`None`: [`DEFAULT_CLAIM_AFTER`]).
    pub claim_after: Option<std::time::Duration>,
    /// The address the server listens on: a `Host` naming this IP is accepted (any IP when
    /// it is 0.0.0.0 or ::). `None`: loopback only.
    pub bind: Option<std::net::SocketAddr>,
    /// Host names accepted in `Host` besides `localhost` and the bound address (`*`: any).
    pub allowed_hosts: Vec<String>,
    /// How long a login lasts (`None`: 7 days).
    pub session_ttl: Option<std::time::Duration>,
    /// How long a one-hash lookup waits for a key (`None`: [`DEFAULT_PROXY_WAIT`]).
    pub proxy_wait: Option<std::time::Duration>,
    /// The tools allowed on the VirusTotal-compatible endpoint (`/api/v3`); without any,
    /// it answers loopback clients only.
    pub clients: Vec<ClientToken>,
    /// Domains, IPs and URL prefixes a job never looks up (the config file's `skip`).
    pub skip: vtsum_core::extract::ioc::SkipList,
}

impl WebConfig {
    /// How long a one-hash lookup waits for a key.
    pub fn proxy_wait(&self) -> std::time::Duration {
        self.proxy_wait.unwrap_or(DEFAULT_PROXY_WAIT)
    }
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
            .field("proxy_wait", &self.proxy_wait)
            .field("clients", &self.clients)
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
    /// The job lifecycle (vtsum-core): creates, runs or hands to workers, deletes.
    pub jobs: Jobs,
    /// The counts of recently paged jobs.
    pub counts: paging::CountsCache,
    /// Each `/api/v3` client's lookups and cache hits not yet written to the ledger.
    pub uses: v3::clients::Tally,
}

impl App {
    /// Builds the app and starts running jobs ([`Jobs::start`]): here, first resuming every
    /// web job a previous process left unfinished — or, on a store with a work queue, a
    /// queue worker (unless `config.no_worker`) and a listener for every worker's
    /// progress. Updates reach the job pages through the hub. Call inside a Tokio runtime.
    pub fn start(
        engine: Option<Arc<Engine>>,
        store: Arc<dyn Store>,
        config: WebConfig,
    ) -> Result<App, WebError> {
        let hub = hub::Hub::default();
        let role = Role {
            origin: JobOrigin::Web,
            take_parts: !config.no_worker,
            claim_after: config.claim_after.unwrap_or(DEFAULT_CLAIM_AFTER),
        };
        let to_pages = hub.clone();
        let jobs = Jobs::start(
            engine.clone(),
            store.clone(),
            role,
            Arc::new(move |id, update| to_pages.publish(id, events::to_sse(&update))),
        );
        let access = auth::Access::new(config.session_ttl);
        Ok(App {
            inner: Arc::new(Inner {
                engine,
                store,
                config,
                hub,
                access,
                jobs,
                counts: paging::CountsCache::default(),
                uses: v3::clients::Tally::default(),
            }),
        })
    }

    /// Stops running jobs: a running job stops after its requests in flight and stays
    /// `queued` in the store, so the next start resumes it.
    pub fn shutdown(&self) {
        // The last second's lookup counts: a few ledger writes.
        let uses = self.inner.uses.take();
        if let Err(e) = v3::clients::write(self.inner.store.as_ref(), &uses) {
            tracing::warn!("cannot write the clients' last lookup counts: {e}");
        }
        self.inner.jobs.shutdown();
        self.inner.hub.close_all();
    }

    /// How many jobs have a live-update channel now (jobs someone watches): tests read it
    /// to see that closed or refused watchers leave nothing behind.
    pub fn watched_jobs(&self) -> usize {
        self.inner.hub.channels()
    }

    /// Resolves once the runner has stopped after [`App::shutdown`].
    pub async fn stopped(&self) {
        self.inner.jobs.stopped().await;
    }
}
