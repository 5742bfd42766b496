//! Shared set-up of the web tests: a fake VirusTotal on loopback, a real SQLite file, and
//! the app on top; helpers to send requests through the router, to wait for a job, and to
//! keep the runner busy while jobs are queued behind it.

#![allow(dead_code)]

pub mod sse;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use tower::ServiceExt;
use vtsum_core::engine::{Engine, EngineConfig};
use vtsum_core::store::Store;
use vtsum_core::vt::{ApiVersion, ClientConfig};
use vtsum_core::ApiKey;
use vtsum_store::sqlite::SqliteStore;
use vtsum_web::{App, WebConfig};

pub const KEYS: [&str; 2] = ["web-test-key-aaaa", "web-test-key-bbbb"];

/// Requests the engine keeps in flight at most: how far past a stop it may go.
pub const CONCURRENCY: usize = 8;

/// What a test gets: the fake, the store file and the app.
pub struct Fixture {
    pub fake: fakevt::FakeVt,
    pub store: Arc<dyn Store>,
    pub app: App,
    pub dir: tempfile::TempDir,
}

pub struct Options {
    /// Each key's sliding windows (count, length), literal: the fake enforces them as
    /// given, and the engine is told them as text (see [`Options::rate`]).
    pub windows: Vec<(u32, Duration)>,
    /// Each key's daily quota.
    pub daily: Option<u32>,
    pub keys: bool,
    pub auth_token: Option<String>,
    pub upload_limit: usize,
    pub bind: Option<std::net::SocketAddr>,
    pub allowed_hosts: Vec<String>,
    pub session_ttl: Option<Duration>,
    /// Tools allowed on `/api/v3` (none: loopback only).
    pub clients: Vec<vtsum_web::ClientToken>,
    pub proxy_wait: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            windows: per_second(50),
            daily: None,
            keys: true,
            auth_token: None,
            upload_limit: vtsum_web::DEFAULT_UPLOAD_LIMIT,
            bind: None,
            allowed_hosts: Vec::new(),
            session_ttl: None,
            clients: Vec::new(),
            proxy_wait: None,
        }
    }
}

/// `n` requests in any second.
pub fn per_second(n: u32) -> Vec<(u32, Duration)> {
    vec![(n, Duration::from_secs(1))]
}

impl Options {
    /// The limits as the text `--rate` takes (`50/1000ms,3/day`), for the engine: written
    /// from the literal values, so if vtsum read it wrongly the engine and the fake would
    /// disagree, and the fake's 429s would show it.
    pub fn rate(&self) -> String {
        let mut parts: Vec<String> = self
            .windows
            .iter()
            .map(|(n, w)| format!("{n}/{}ms", w.as_millis()))
            .collect();
        parts.extend(self.daily.map(|d| format!("{d}/day")));
        parts.join(",")
    }
}

pub async fn fixture(opts: Options) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("web.db")).expect("sqlite store"));
    fixture_on(opts, dir, store).await
}

/// The fake's configuration for these limits.
pub fn fake_config(opts: &Options) -> fakevt::Config {
    vtsum_test_utils::fake_config(&KEYS, &opts.windows, opts.daily)
}

/// The app on an existing store (a restart).
pub async fn fixture_on(opts: Options, dir: tempfile::TempDir, store: Arc<dyn Store>) -> Fixture {
    let fake = fakevt::spawn(fake_config(&opts))
        .await
        .expect("fake VirusTotal");
    let app = app_on(&fake, &opts, store.clone());
    Fixture {
        fake,
        store,
        app,
        dir,
    }
}

pub fn app_on(fake: &fakevt::FakeVt, opts: &Options, store: Arc<dyn Store>) -> App {
    let engine = opts.keys.then(|| {
        Arc::new(
            Engine::new(
                EngineConfig {
                    keys: KEYS.iter().map(ApiKey::new).collect(),
                    rate: opts.rate().parse().expect("rate"),
                    daily_fallback: None,
                    client: ClientConfig {
                        base_url: fake.url(),
                        version: ApiVersion::V3,
                        timeout: Duration::from_secs(10),
                    },
                    concurrency: CONCURRENCY,
                    max_age_found: Duration::from_secs(86_400),
                    max_age_unknown: Duration::from_secs(86_400),
                    retries: 2,
                    backoff: Duration::from_millis(20),
                },
                store.clone(),
            )
            .expect("engine"),
        )
    });
    App::start(
        engine,
        store,
        WebConfig {
            auth_token: opts.auth_token.clone(),
            upload_limit: opts.upload_limit,
            threshold: 3,
            bind: opts.bind,
            allowed_hosts: opts.allowed_hosts.clone(),
            session_ttl: opts.session_ttl,
            clients: opts.clients.clone(),
            proxy_wait: opts.proxy_wait,
            ..WebConfig::default()
        },
    )
    .expect("app")
}

/// An answer, read whole.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }
}

/// Sends a request through the router (no network).
pub async fn send(app: &App, req: Request<Body>) -> Answer {
    let res = vtsum_web::router(app.clone())
        .oneshot(req)
        .await
        .expect("the router is infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .expect("body")
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("request")
}

pub fn post(uri: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri)
        .header("content-type", content_type)
        .body(body.into())
        .expect("request")
}

/// A multipart body with one file field.
pub fn multipart(file_name: &str, content: &str, text: &str) -> (String, String) {
    let boundary = "vtsum-test-boundary-1234";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: text/plain\r\n\r\n{content}\r\n--{boundary}\r\n\
         Content-Disposition: form-data; name=\"text\"\r\n\r\n{text}\r\n--{boundary}--\r\n"
    );
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Polls the API until the job's state is one of `states` (a condition, not a sleep).
pub async fn wait_state(
    app: &App,
    id: &str,
    states: &[&str],
    timeout: Duration,
) -> serde_json::Value {
    let deadline = Instant::now() + timeout;
    loop {
        let job = send(app, get(&format!("/api/v1/jobs/{id}"))).await.json();
        if states.contains(&job["state"].as_str().unwrap_or("")) {
            return job;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} never reached {states:?}: {job}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `n` hashes of the fake's corpus (sha256), then `unknown` hashes it does not know.
pub fn hashes(fake: &fakevt::FakeVt, n: usize, unknown: usize) -> Vec<String> {
    let mut out: Vec<String> = fake
        .corpus()
        .files()
        .iter()
        .take(n)
        .map(|f| f.sha256.clone())
        .collect();
    out.extend((0..unknown as u64).map(fakevt::unknown_hash));
    out
}

/// Submits hashes as text and returns the job id.
pub async fn submit(app: &App, hashes: &[String]) -> String {
    let res = send(app, post("/api/v1/jobs", "text/plain", hashes.join("\n"))).await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
    res.json()["id"].as_str().expect("id").to_string()
}

/// How long the fake holds the request of [`hold_runner`]'s job: the time a test has to
/// submit jobs and open their streams while they are still queued.
pub const HOLD: Duration = Duration::from_secs(2);

/// A hash no other helper hands out, for [`hold_runner`]'s job.
pub fn holding_hash() -> String {
    fakevt::unknown_hash(900_000)
}

/// Keeps the runner busy for [`HOLD`]: submits a one-hash job whose request the fake holds,
/// and returns its id once that request has reached the fake. Web jobs run one at a time,
/// so jobs submitted next stay `queued` until the hold ends.
pub async fn hold_runner(f: &Fixture) -> String {
    let before = f.fake.counters().arrivals.len();
    f.fake
        .faults()
        .fail_next(fakevt::Fault::DelayMs(HOLD.as_millis() as u64), 1);
    let id = submit(&f.app, &[holding_hash()]).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while f.fake.counters().arrivals.len() == before {
        assert!(Instant::now() < deadline, "the holding request never came");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    id
}

/// The requests the fake received (admitted or not) for any of `hashes`.
pub fn arrivals_of(fake: &fakevt::FakeVt, hashes: &[String]) -> usize {
    fake.counters()
        .arrivals
        .iter()
        .filter(|a| a.hashes.iter().any(|h| hashes.contains(h)))
        .count()
}

/// The fake refused nothing: the engine kept to the limits it was told as text, so it read
/// that text as the fake's literal limits say.
pub fn assert_no_429(fake: &fakevt::FakeVt) {
    let refused = fake.counters().quota_refusals_by_key;
    assert_eq!(
        refused.values().sum::<u64>(),
        0,
        "the fake refused requests over its limits: {refused:?}"
    );
}
