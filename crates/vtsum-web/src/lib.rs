//! vtsum's web app: the front page (upload or paste), durable background jobs with live
//! progress over Server-Sent Events, the report page, downloads, and a JSON API under
//! `/api/v1` — all on the same [`Engine`] and report rows as `vtsum scan`.
//!
//! [`App::start`] resumes the jobs a previous process left unfinished and returns the
//! state that [`router`] serves. Pages are server-rendered shells with every value escaped;
//! the script (embedded, no CDN) fills them from the JSON API.

use std::sync::Arc;

use vtsum_core::engine::Engine;
use vtsum_core::store::Store;

mod api;
mod assets;
mod auth;
mod error;
mod events;
mod hub;
mod input;
mod metrics;
mod openapi;
mod pages;
mod router;
mod runner;
mod view;
pub mod xlsx;

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
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("auth_token", &self.auth_token.as_ref().map(|_| "***"))
            .field("upload_limit", &self.upload_limit)
            .field("threshold", &self.threshold)
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
    pub runner: runner::Runner,
}

impl App {
    /// Builds the app and starts its job runner, which first resumes every web job a
    /// previous process left unfinished. Call inside a Tokio runtime.
    pub fn start(
        engine: Option<Arc<Engine>>,
        store: Arc<dyn Store>,
        config: WebConfig,
    ) -> Result<App, WebError> {
        let hub = hub::Hub::default();
        let runner = runner::Runner::new();
        let app = App {
            inner: Arc::new(Inner {
                engine,
                store,
                config,
                hub,
                runner,
            }),
        };
        runner::spawn(app.clone())?;
        Ok(app)
    }

    /// Stops the runner: a running job stops after its requests in flight and stays
    /// `queued` in the store, so the next start resumes it.
    pub fn shutdown(&self) {
        self.inner.runner.shutdown();
        self.inner.hub.close_all();
    }

    /// Resolves once the runner has stopped after [`App::shutdown`].
    pub async fn stopped(&self) {
        self.inner.runner.stopped().await;
    }
}
