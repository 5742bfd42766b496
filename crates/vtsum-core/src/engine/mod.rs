//! The engine: one place that turns a job's hashes into results, shared by the CLI and the
//! web app. It owns the store, the VirusTotal client and the key pool; [`Engine::run_job`]
//! is the scheduler loop (in [`run`]).
//!
//! A job is written to the store before any request is sent, and every result is written as
//! it arrives, so a job interrupted at any moment resumes where it stopped.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::key::ApiKey;
use crate::quota::{KeyPool, KeyStatus};
use crate::rate::RateSpec;
use crate::render::source::{writing, RowSource, Visit};
use crate::report::{ItemResult, Row, RowOptions};
use crate::store::{JobId, JobInfo, JobSpec, Store};
use crate::target::Target;
use crate::vt::{ClientConfig, VtClient};

mod cache_first;
mod cached;
mod cancel;
mod figures;
mod flight;
mod group;
mod io;
mod lane;
mod lease;
mod record;
mod run;
mod take;

pub use cache_first::{RunMisses, ScanRows, ScanStart};
pub use cached::{fill_engines, report_row};
pub use cancel::Cancel;
pub use figures::FiguresRead;
pub use lane::{Lane, BATCH_SHARE};

/// Everything the engine needs to know, resolved from flags, environment and config.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub keys: Vec<ApiKey>,
    pub rate: RateSpec,
    /// The daily allowance per key when neither `rate` nor VirusTotal's figures name one
    /// (the public API's 500 when `--rate` is not given).
    pub daily_fallback: Option<u32>,
    pub client: ClientConfig,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// How long a found file's cached answer stays fresh.
    pub max_age_found: Duration,
    /// How long an "unknown to VirusTotal" answer stays fresh.
    pub max_age_unknown: Duration,
    /// Retries of a transient failure before the hash gets an `error` row.
    pub retries: u32,
    /// The first retry's delay; each further retry doubles it (with jitter).
    pub backoff: Duration,
}

/// What a running job tells its watchers.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// An item (a hash, a URL, a domain or an IP address) has its result.
    Item {
        index: u64,
        target: Target,
        result: ItemResult,
    },
    /// Counters after a change.
    Progress(Progress),
    /// Every key is out of daily quota until `resumes_at` (Unix seconds).
    Waiting { resumes_at: i64 },
    /// A key was rejected by VirusTotal and is no longer used.
    KeyRejected { key: String, reason: String },
}

/// A job's counters, with an estimate of the time left.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Progress {
    pub total: u64,
    pub done: u64,
    pub cache_hits: u64,
    pub errors: u64,
    /// Seconds until done at the keys' steady rate, if known.
    pub eta_secs: Option<u64>,
}

/// How [`Engine::run_job`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// Every hash has a result.
    Done,
    /// Every key is out of daily quota; nothing more can be done before `resumes_at`.
    WaitingQuota { resumes_at: i64 },
    /// Stopped on request; the job can be resumed.
    Cancelled,
}

/// Options of one run of a job.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Sleep through an exhausted daily quota instead of returning.
    pub wait_for_quota: bool,
    /// Who goes first when runs contend for a key (`lane.rs`): a one-off lookup someone
    /// waits for goes ahead of jobs' queued hashes, and watchlist re-checks take only what
    /// both leave.
    pub lane: Lane,
}

/// The shared engine. Cheap to share behind an `Arc`.
pub struct Engine {
    cfg: EngineConfig,
    store: Arc<dyn Store>,
    client: Arc<VtClient>,
    /// Shared with the engines made by [`Engine::beside`].
    pool: Arc<Mutex<KeyPool>>,
    /// Shared with the engines made by [`Engine::beside`].
    lanes: Arc<lane::Lanes>,
    groups: group::Groups,
    /// The process's counters (`/metrics`), shared with the engines made by
    /// [`Engine::beside`].
    metrics: Arc<Mutex<Metrics>>,
    /// Requests this engine's own runs sent (a round's spending).
    sent_by_runs: std::sync::atomic::AtomicU64,
}

/// How a request to VirusTotal ended, as `/metrics` labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestOutcome {
    /// Answered (found or unknown).
    Ok,
    /// Refused for quota (429).
    Quota,
    /// The key was refused (401/403).
    Rejected,
    /// Worth retrying (5xx, timeouts, connection failures).
    Transient,
    /// Not worth retrying (a malformed answer, 400).
    Permanent,
}

impl RequestOutcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestOutcome::Ok => "ok",
            RequestOutcome::Quota => "quota",
            RequestOutcome::Rejected => "rejected",
            RequestOutcome::Transient => "transient",
            RequestOutcome::Permanent => "permanent",
        }
    }
}

/// Counters since the engine started, for `/metrics`. Keys are named by id only.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Metrics {
    /// Requests by key id and outcome.
    pub requests: std::collections::BTreeMap<(String, RequestOutcome), u64>,
    pub cache_hits: u64,
    pub cache_misses: u64,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("store", &self.store.describe())
            .field("keys", &self.cfg.keys.len())
            .finish()
    }
}

impl Engine {
    /// Builds an engine. Fails without keys or when the HTTP client cannot be built.
    pub fn new(cfg: EngineConfig, store: Arc<dyn Store>) -> Result<Engine> {
        if cfg.keys.is_empty() {
            return Err(Error::NoKeys);
        }
        let client = Arc::new(VtClient::new(cfg.client.clone())?);
        // A request lives at most the client's timeout; the margin covers landing it.
        let hold = cfg.client.timeout + Duration::from_secs(10);
        let pool = KeyPool::new(cfg.keys.clone(), &cfg.rate, store.clone())
            .with_hold(hold)
            .with_daily_fallback(cfg.daily_fallback);
        let pool = Arc::new(Mutex::new(pool));
        Ok(Engine {
            cfg,
            store,
            client,
            pool,
            lanes: Arc::default(),
            groups: group::Groups::default(),
            metrics: Arc::default(),
            sent_by_runs: Default::default(),
        })
    }

    /// Another engine on the same keys, key pool, store, lanes and counters, whose cache
    /// answers stand for a request when younger than `max_age` (found and unknown alike):
    /// a watchlist round's engine. Its runs take their place in this engine's lanes, and
    /// its requests count in this engine's quota and [`Engine::metrics`];
    /// [`Engine::sent_by_runs`] is its own, so a round knows what it spent.
    pub fn beside(&self, max_age: Duration) -> Engine {
        let mut cfg = self.cfg.clone();
        cfg.max_age_found = max_age;
        cfg.max_age_unknown = max_age;
        Engine {
            cfg,
            store: self.store.clone(),
            client: self.client.clone(),
            pool: self.pool.clone(),
            lanes: self.lanes.clone(),
            groups: group::Groups::default(),
            metrics: self.metrics.clone(),
            sent_by_runs: Default::default(),
        }
    }

    /// The store this engine reads and writes.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The settings.
    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// The VirusTotal client (for `vtsum quota`).
    pub fn client(&self) -> &VtClient {
        &self.client
    }

    /// Every key's quota state.
    pub fn key_status(&self) -> Result<Vec<KeyStatus>> {
        // The ledger is read outside the pool's lock: runs take leases meanwhile.
        let ids = self.pool().key_ids();
        let day = crate::quota::utc_day();
        let ledgers = ids
            .iter()
            .map(|id| self.store.ledger_used(id, &day))
            .collect::<Result<Vec<u64>>>()?;
        Ok(self.pool().status(Instant::now(), &ledgers))
    }

    /// [`Engine::key_status`] from async code: the ledger is read on a blocking thread.
    pub async fn key_status_off_runtime(self: &Arc<Self>) -> Result<Vec<KeyStatus>> {
        let engine = self.clone();
        crate::store::off_runtime("reading the keys' quota", move || engine.key_status()).await
    }

    /// Requests this process sent, by key id (with every engine beside this one).
    pub fn requests_sent(&self) -> std::collections::BTreeMap<String, u64> {
        self.pool().sent()
    }

    /// Requests this engine's own runs sent (not those of the engines beside it).
    pub fn sent_by_runs(&self) -> u64 {
        self.sent_by_runs.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A copy of the process's counters (this engine's and those beside it).
    pub fn metrics(&self) -> Metrics {
        self.metrics_mut().clone()
    }

    fn metrics_mut(&self) -> std::sync::MutexGuard<'_, Metrics> {
        self.metrics.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, KeyPool> {
        // A panic while holding the lock leaves counters that are still valid numbers.
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens the job for a CLI scan of `hashes`: the same input and options give the same
    /// job, so an interrupted scan resumes; a finished one starts afresh. Returns the job
    /// and whether it was resumed.
    pub fn open_scan(&self, spec: JobSpec, items: &[Target]) -> Result<(JobInfo, bool)> {
        match self.scan_start(items, &spec)? {
            ScanStart::Resume(job) => Ok((job, true)),
            ScanStart::New(id) => Ok((self.scan_create(&id, spec, items)?, false)),
        }
    }

    /// Rows of a job's finished items, in input order, as the job's spec says.
    pub fn rows(&self, id: &JobId) -> Result<Vec<Row>> {
        let job = self
            .store
            .job_get(id)?
            .ok_or_else(|| Error::NoSuchJob(id.0.clone()))?;
        self.rows_with(&job, job.spec.row_options)
    }

    /// Rows of a job's finished items, in input order, with other row options.
    pub fn rows_with(&self, job: &JobInfo, options: RowOptions) -> Result<Vec<Row>> {
        job_rows(self.store.as_ref(), job, options)
    }

    /// A job's finished rows as a [`RowSource`]: read from the store a page at a time.
    pub fn job_source<'a>(&'a self, job: &'a JobInfo, options: RowOptions) -> JobRows<'a> {
        JobRows::new(self.store.as_ref(), job, options)
    }
}

/// Rows of a job's finished items, in input order: what every front end shows and
/// downloads. Needs only the store, so a server without keys can still show old reports.
/// Holds them all: for a report of any size, walk [`JobRows`] instead.
pub fn job_rows(store: &dyn Store, job: &JobInfo, options: RowOptions) -> Result<Vec<Row>> {
    let mut rows = Vec::with_capacity(job.done.min(JobRows::PAGE) as usize);
    JobRows::new(store, job, options).each(&mut |row| {
        rows.push(row.clone());
        Ok(())
    })?;
    Ok(rows)
}

/// A job's finished rows, in input order, read from the store [`JobRows::PAGE`] items at a
/// time: a walk holds one page of stored results and one row, whatever the job's size.
/// Each walk reads the store afresh, so a job still running shows the rows done by then.
#[derive(Clone, Copy)]
pub struct JobRows<'a> {
    store: &'a dyn Store,
    job: &'a JobInfo,
    options: RowOptions,
}

impl<'a> JobRows<'a> {
    /// Items asked of the store at once.
    pub const PAGE: u64 = 1000;

    /// The rows of `job` in `store`, built with `options`.
    pub fn new(store: &'a dyn Store, job: &'a JobInfo, options: RowOptions) -> JobRows<'a> {
        JobRows {
            store,
            job,
            options,
        }
    }
}

impl RowSource for JobRows<'_> {
    fn each(&self, visit: &mut Visit<'_>) -> Result<()> {
        let mut offset = 0;
        loop {
            let items = self.store.job_items(&self.job.id, offset, Self::PAGE)?;
            let n = items.len() as u64;
            for item in &items {
                if let Some(result) = &item.result {
                    let row = report_row(self.store, &item.target, result, self.options)?;
                    visit(&row).map_err(writing)?;
                }
            }
            if n < Self::PAGE {
                return Ok(());
            }
            offset += n;
        }
    }
}

impl JobId {
    /// The id of a scan of these items with these options: stable across runs (a list of
    /// hashes has the id it had before other kinds of items existed).
    pub fn for_input(items: &[Target], spec: &JobSpec) -> JobId {
        let mut h = Sha256::new();
        // Row options only change how results are shown, so they are not part of the id.
        h.update(if spec.refresh { "refresh|" } else { "cached|" });
        for item in items {
            h.update(item.key());
            h.update(b"\n");
        }
        JobId(hex(&h.finalize()[..16]))
    }

    /// A fresh random id (128 bits from the OS).
    pub fn random() -> JobId {
        let mut bytes = [0u8; 16];
        if let Err(e) = std::fs::File::open("/dev/urandom")
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        {
            // No /dev/urandom (not Linux): hash the time, the process and a counter.
            tracing::debug!("no /dev/urandom ({e}); deriving job id from time");
            static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let seed = format!(
                "{:?}|{}|{}",
                std::time::SystemTime::now(),
                std::process::id(),
                COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            );
            bytes.copy_from_slice(&Sha256::digest(seed.as_bytes())[..16]);
        }
        JobId(hex(&bytes))
    }

    /// Parses a job id given by a user (32 hex characters).
    pub fn parse(text: &str) -> Option<JobId> {
        (text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| JobId(text.to_ascii_lowercase()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How many of a job's items are URLs, domains or IP addresses ([`JobSpec::objects`]).
pub fn count_objects(items: &[Target]) -> u64 {
    items.iter().filter(|t| t.hash().is_none()).count() as u64
}

/// The current Unix time in seconds.
pub fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}
