//! A fake VirusTotal for vtsum's tests, benchmarks and `--demo`: it speaks the real API's
//! shapes and status codes, enforces per-key sliding-window and daily quotas exactly, fails
//! on demand, and counts everything it sees. Each object asked for costs one request of
//! quota, whatever its kind:
//!
//! - `GET /api/v3/files/{hash}`: a file object (md5, sha1 or sha256).
//! - `GET /api/v3/urls/{id}`: a URL object; `id` is the URL in unpadded URL-safe base64 or
//!   its SHA-256 hex (the object's `id` is always the SHA-256).
//! - `GET /api/v3/domains/{domain}`: a domain object.
//! - `GET /api/v3/ip_addresses/{ip}`: an IP address object (IPv4 or IPv6).
//! - `GET /vtapi/v2/file/report?apikey=&resource=`: v2 file reports (up to 4 hashes).
//! - `GET /vtapi/v2/url/report?apikey=&resource=`: the v2 report of a URL.
//! - `GET /vtapi/v2/domain/report?apikey=&domain=`: the v2 report of a domain.
//! - `GET /vtapi/v2/ip-address/report?apikey=&ip=`: the v2 report of an IP address.
//! - `GET /api/v3/users/{key}/overall_quotas`: the key's figures (costs no quota).
//! - `POST /_fake/detections` (or [`FakeVt::set_detections`]): a file's analysis changes
//!   from now on, as when engines catch up with a sample (`changes.rs`).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let fake = fakevt::spawn(fakevt::Config::default()).await?;
//! println!("VirusTotal at {}", fake.url());
//! let counters = fake.counters();
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;

mod answers;
mod changes;
mod corpus;
mod corpus_objects;
mod faults;
mod object_answers;
mod object_gen;
mod object_routes;
mod object_tables;
mod objects;
mod quota;
mod rng;
mod state;

/// The v3 file object of a corpus file, as the fake answers it: benches build cached
/// answers of the same shape without asking.
pub use answers::v3_file as v3_file_object;
pub use changes::Detections;
pub use corpus::{unknown_hash, Corpus, CorpusFile, FileKind, HOSTILE_NAMES};
pub use faults::{Fault, Faults};
pub use object_tables::{long_hostile, HOSTILE_TEXTS};
pub use objects::{
    objects_for, unknown_domain, unknown_ip, unknown_url, url_identifier, url_sha256, Analysis,
    CorpusDomain, CorpusIp, CorpusUrl, DnsRecord, ObjectKind,
};
pub use quota::Limits;
pub use state::{Arrival, Counters};

use state::{Gate, State};

/// How to run a fake.
#[derive(Debug, Clone)]
pub struct Config {
    /// Keys it accepts; any other gets 401 (v2: 403).
    pub keys: Vec<String>,
    /// Limits of each key.
    pub limits: Limits,
    /// Seed of the corpus.
    pub seed: u64,
    /// Number of known files; the corpus also holds [`objects_for`]`(corpus_size)` URLs,
    /// domains and IP addresses each.
    pub corpus_size: usize,
    /// Where to listen (port 0 picks a free one).
    pub addr: SocketAddr,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            keys: vec!["demo-key-1".into()],
            limits: Limits {
                windows: vec![(4, Duration::from_secs(60))],
                daily: Some(500),
            },
            seed: 42,
            corpus_size: 200,
            addr: ([127, 0, 0, 1], 0).into(),
        }
    }
}

/// A running fake. Dropping it leaves the server running until the runtime ends; call
/// [`FakeVt::shutdown`] to stop it.
pub struct FakeVt {
    addr: SocketAddr,
    state: Arc<State>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

/// Binds and serves in a background task; returns once it listens.
pub async fn spawn(config: Config) -> std::io::Result<FakeVt> {
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(State::new(
        config.keys,
        config.limits,
        Corpus::generate(config.seed, config.corpus_size),
        format!("http://{addr}"),
    ));
    let app = router(state.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(e) = serve.await {
            tracing::warn!("fake VirusTotal stopped: {e}");
        }
    });
    Ok(FakeVt {
        addr,
        state,
        stop,
        task,
    })
}

impl FakeVt {
    /// The base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn corpus(&self) -> &Corpus {
        &self.state.corpus
    }

    /// A snapshot of what the fake has seen.
    pub fn counters(&self) -> Counters {
        self.state.counters()
    }

    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }

    /// Pretends `key` already spent `used` requests today (elsewhere: a colleague's
    /// script, the web UI).
    pub fn set_daily_used(&self, key: &str, used: u32) {
        self.state.set_daily_used(key, u64::from(used));
    }

    /// Pretends `key` already spent `used` requests this month (reported by
    /// `overall_quotas`; the fake enforces no monthly limit itself).
    pub fn set_monthly_used(&self, key: &str, used: u32) {
        self.state.set_month_used(key, u64::from(used));
    }

    /// Gives `key` a daily allowance of its own (a premium key, a new account), enforced
    /// and reported by `overall_quotas`.
    pub fn set_daily_allowance(&self, key: &str, allowed: u32) {
        self.state.set_daily_allowance(key, allowed);
    }

    /// Makes `overall_quotas` answer 403 (as for a setup without access to it), so tests
    /// see how vtsum does without VirusTotal's figures.
    pub fn hide_quota_figures(&self) {
        self.state
            .hide_figures
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Stops serving and waits for the server task.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/api/v3/files/{hash}", get(v3_file))
        .route("/vtapi/v2/file/report", get(v2_report))
        .route("/api/v3/urls/{id}", get(object_routes::v3_url))
        .route("/api/v3/domains/{domain}", get(object_routes::v3_domain))
        .route("/api/v3/ip_addresses/{ip}", get(object_routes::v3_ip))
        .route("/vtapi/v2/url/report", get(object_routes::v2_url))
        .route("/vtapi/v2/domain/report", get(object_routes::v2_domain))
        .route("/vtapi/v2/ip-address/report", get(object_routes::v2_ip))
        .route("/api/v3/users/{key}/overall_quotas", get(overall_quotas))
        .route("/_fake/counters", get(counters))
        .route("/_fake/faults", post(set_faults))
        .route("/_fake/detections", post(changes::set_detections))
        .route("/_fake/reset", post(reset))
        .route("/_fake/quota", post(set_quota))
        .with_state(state)
}

type Shared = AxState<Arc<State>>;

fn is_hash(s: &str) -> bool {
    matches!(s.len(), 32 | 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Applies an admitted request's fault; `None` means answer normally.
async fn faulted(state: &State, arrival: usize, fault: Option<Fault>) -> Option<Response> {
    if let Some(delay) = faults::delay_of(fault) {
        tokio::time::sleep(delay).await;
        return None;
    }
    let (status, response) = match fault? {
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let name = if code == 504 {
                "DeadlineExceededError"
            } else {
                "TransientError"
            };
            (
                code,
                (status, Json(answers::v3_error(name, "injected fault"))).into_response(),
            )
        }
        Fault::Malformed => (
            200,
            (StatusCode::OK, "{\"data\": {\"attributes\": [").into_response(),
        ),
        Fault::Reset => {
            let broken =
                tokio_stream::once(Err::<Bytes, std::io::Error>(std::io::Error::other("reset")));
            (0, Response::new(Body::from_stream(broken)))
        }
        Fault::DelayMs(_) => return None,
    };
    state.answered(arrival, status);
    Some(response)
}

async fn v3_file(AxState(state): Shared, Path(hash): Path<String>, headers: HeaderMap) -> Response {
    let now = Instant::now();
    let key = headers.get("x-apikey").and_then(|v| v.to_str().ok());
    let hash = hash.to_ascii_lowercase();
    let gate = state.gate(key, std::slice::from_ref(&hash), now);
    if let Some(refused) = object_routes::v3_refusal(&gate, key) {
        return refused;
    }
    let Gate::Admitted { arrival, fault } = gate else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Some(r) = faulted(&state, arrival, fault).await {
        return r;
    }
    if !is_hash(&hash) {
        state.answered(arrival, 400);
        let msg = format!("Invalid file id: {hash:.80}");
        return (
            StatusCode::BAD_REQUEST,
            Json(answers::v3_error("InvalidArgumentError", &msg)),
        )
            .into_response();
    }
    match state.file(&hash) {
        Some(f) => Json(answers::v3_file(&f, &state.base_url)).into_response(),
        None => {
            state.answered(arrival, 404);
            let msg = format!("File \"{hash}\" not found");
            (
                StatusCode::NOT_FOUND,
                Json(answers::v3_error("NotFoundError", &msg)),
            )
                .into_response()
        }
    }
}

#[derive(serde::Deserialize)]
struct V2Query {
    apikey: Option<String>,
    resource: Option<String>,
}

async fn v2_report(AxState(state): Shared, Query(q): Query<V2Query>) -> Response {
    let now = Instant::now();
    let resources: Vec<String> = q
        .resource
        .unwrap_or_default()
        .split(',')
        .map(|r| r.trim().to_ascii_lowercase())
        .filter(|r| !r.is_empty())
        .take(25)
        .collect();
    let (arrival, fault) = match state.gate(q.apikey.as_deref(), &resources, now) {
        Gate::Unauthorized => return StatusCode::FORBIDDEN.into_response(),
        Gate::OverQuota => return StatusCode::NO_CONTENT.into_response(),
        Gate::Admitted { arrival, fault } => (arrival, fault),
    };
    if let Some(r) = faulted(&state, arrival, fault).await {
        return r;
    }
    if resources.is_empty() || resources.len() > 4 {
        state.answered(arrival, 400);
        return StatusCode::BAD_REQUEST.into_response();
    }
    let reports: Vec<Value> = resources
        .iter()
        .map(|r| answers::v2_report(r, state.file(r).as_deref()))
        .collect();
    if reports.len() == 1 {
        Json(reports.into_iter().next().expect("one report")).into_response()
    } else {
        Json(Value::Array(reports)).into_response()
    }
}

async fn overall_quotas(
    AxState(state): Shared,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    let header = headers.get("x-apikey").and_then(|v| v.to_str().ok());
    if header.is_none_or(|h| !state.keys.iter().any(|k| k == h)) || header != Some(key.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(answers::v3_error("WrongCredentialsError", "Wrong API key")),
        )
            .into_response();
    }
    state.quota_call(&key);
    if state
        .hide_figures
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        return (
            StatusCode::FORBIDDEN,
            Json(answers::v3_error(
                "ForbiddenError",
                "You are not allowed to perform the requested operation",
            )),
        )
            .into_response();
    }
    let [hour, day, month] = state.usage(&key);
    let pair = |(used, allowed): (u64, u64)| serde_json::json!({"user": {"used": used, "allowed": allowed}});
    Json(serde_json::json!({
        "data": {
            "api_requests_hourly": pair(hour),
            "api_requests_daily": pair(day),
            "api_requests_monthly": pair(month),
        }
    }))
    .into_response()
}

async fn counters(AxState(state): Shared) -> Json<Counters> {
    Json(state.counters())
}

#[derive(serde::Deserialize)]
struct FaultRequest {
    fault: Fault,
    #[serde(default = "one")]
    count: u64,
}

fn one() -> u64 {
    1
}

async fn set_faults(AxState(state): Shared, Json(req): Json<FaultRequest>) -> StatusCode {
    state.faults.fail_next(req.fault, req.count);
    StatusCode::NO_CONTENT
}

/// A key's preset use and allowance for today, for tests that run the fake as a process.
#[derive(serde::Deserialize)]
struct QuotaPreset {
    key: String,
    used_today: Option<u32>,
    daily_allowed: Option<u32>,
}

async fn set_quota(AxState(state): Shared, Json(p): Json<QuotaPreset>) -> StatusCode {
    if let Some(allowed) = p.daily_allowed {
        state.set_daily_allowance(&p.key, allowed);
    }
    if let Some(used) = p.used_today {
        state.set_daily_used(&p.key, u64::from(used));
    }
    StatusCode::NO_CONTENT
}

async fn reset(AxState(state): Shared) -> StatusCode {
    state.reset();
    StatusCode::NO_CONTENT
}
