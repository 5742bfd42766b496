//! What pages and the API show of a job and of the keys: plain serialisable views built
//! from the store and the key pool. Keys appear by id only.

use std::sync::Arc;

use serde::Serialize;
use vtsum_core::engine::Engine;
use vtsum_core::quota::{KeyState, KeyStatus};
use vtsum_core::report::iso8601;
use vtsum_core::store::{JobInfo, JobState};

/// A job as the API and the job page see it.
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    pub id: String,
    pub url: String,
    pub label: String,
    pub state: JobState,
    pub total: u64,
    pub done: u64,
    pub cache_hits: u64,
    pub errors: u64,
    pub lines_without_hash: u64,
    pub duplicates: u64,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    /// ISO 8601 UTC, while waiting for quota.
    pub resumes_at: Option<String>,
    /// Unix seconds, for the page's countdown.
    pub resumes_at_unix: Option<i64>,
    /// Seconds left at the keys' steady rate, while running.
    pub eta_secs: Option<u64>,
    pub error: Option<String>,
}

impl JobView {
    pub fn new(job: &JobInfo, eta_secs: Option<u64>) -> JobView {
        JobView {
            id: job.id.0.clone(),
            url: format!("/jobs/{}", job.id),
            label: job.spec.label.clone(),
            state: job.state,
            total: job.total,
            done: job.done,
            cache_hits: job.cache_hits,
            errors: job.errors,
            lines_without_hash: job.spec.lines_without_hash,
            duplicates: job.spec.duplicates,
            created_at: iso8601(job.created_at),
            updated_at: iso8601(job.updated_at),
            resumes_at: job
                .resumes_at
                .filter(|_| job.state == JobState::WaitingQuota)
                .and_then(iso8601),
            resumes_at_unix: job
                .resumes_at
                .filter(|_| job.state == JobState::WaitingQuota),
            eta_secs: eta_secs.filter(|_| job.state == JobState::Running),
            error: job.error.clone(),
        }
    }
}

/// One key's quota, by id.
#[derive(Debug, Clone, Serialize)]
pub struct KeyView {
    pub id: String,
    /// `ok`, `resting`, `exhausted` or `rejected`.
    pub state: KeyState,
    /// Requests that may be sent now under the short (per-minute) windows.
    pub free_now: Option<u32>,
    pub used_today: u64,
    pub daily_limit: Option<u32>,
    pub left_today: Option<u64>,
}

/// The quota panel: every key, and the cache's size.
#[derive(Debug, Clone, Serialize)]
pub struct QuotaView {
    pub configured: bool,
    pub keys: Vec<KeyView>,
    pub cache_found: u64,
    pub cache_unknown: u64,
}

/// Every key's state; empty without an engine. The ledger is read on a blocking thread.
pub async fn keys(engine: Option<&Arc<Engine>>) -> Result<Vec<KeyView>, vtsum_core::Error> {
    let Some(engine) = engine else {
        return Ok(Vec::new());
    };
    Ok(key_views(&engine.key_status_off_runtime().await?))
}

/// The views of keys' states.
pub fn key_views(keys: &[KeyStatus]) -> Vec<KeyView> {
    keys.iter()
        .map(|k| KeyView {
            id: k.id.0.clone(),
            state: k.state,
            // A spent or rejected key has nothing left now, whatever its short window says.
            free_now: match k.state {
                KeyState::Exhausted | KeyState::Rejected => Some(0),
                _ => (k.free_now != u32::MAX).then_some(k.free_now),
            },
            used_today: k.used_today,
            daily_limit: k.daily_limit,
            left_today: k
                .daily_limit
                .map(|l| u64::from(l).saturating_sub(k.used_today)),
        })
        .collect()
}
