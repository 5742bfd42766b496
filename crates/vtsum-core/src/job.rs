//! What a job is: its identity, what it was asked to do, where it is in its life, and one
//! item of it. Plain data shared by the store (which keeps jobs), the work queue (which
//! hands out their parts) and the engine (which runs them).

use serde::{Deserialize, Serialize};

use crate::report::{ItemResult, RowOptions};
use crate::target::Target;

/// A job's identity: 32 lower-case hex characters (128 bits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct JobId(pub String);

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    /// Every key is out of quota; `resumes_at` says until when.
    WaitingQuota,
    Done,
    Failed,
}

impl JobState {
    /// The snake_case name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::WaitingQuota => "waiting_quota",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    /// Every state, in the order of a job's life.
    pub const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Running,
        JobState::WaitingQuota,
        JobState::Done,
        JobState::Failed,
    ];

    /// Parses [`JobState::as_str`]'s output.
    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether the job will do no more work.
    pub fn is_final(self) -> bool {
        matches!(self, JobState::Done | JobState::Failed)
    }
}

/// Which front end created a job. The web app resumes only its own jobs at start-up: an
/// interrupted CLI scan is resumed by running the same command again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobOrigin {
    #[default]
    Cli,
    Web,
    /// A one-hash lookup of the web API: never listed, deleted once answered.
    Lookup,
}

/// What a job was asked to do, fixed when it is created.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    /// A label for people (an upload's file name, say). May be empty.
    pub label: String,
    pub row_options: RowOptions,
    /// Ignore cached answers older than this job (`--refresh`).
    pub refresh: bool,
    /// Non-blank input lines that held no hash.
    pub lines_without_hash: u64,
    /// Repeated hashes dropped from the input.
    pub duplicates: u64,
    /// Absent in jobs stored before it existed: those came from the CLI.
    #[serde(default)]
    pub origin: JobOrigin,
    /// Hashes labelled as non-file hashes (`IMPHASH=…`): counted, never looked up.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub non_file_hashes: u64,
    /// URLs, domains and IP addresses the skip list dropped (`--skip`): never looked up.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skipped: u64,
    /// Private, loopback, documentation and other non-public addresses dropped.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub private_ips: u64,
    /// Items that are URLs, domains or IP addresses (0 in jobs of hashes only, and in every
    /// job stored before they existed): a store searching a job's rows by text skips the
    /// tests only those rows need.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub objects: u64,
    /// A CLI scan's items the cache answered when it began: they are read from the cache
    /// for its report and are not among the job's items (`engine::ScanRows`), so the
    /// scan's input holds `total` plus these. 0 for every other job.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub answered_from_cache: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A job's header: its spec, state and progress counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobInfo {
    pub id: JobId,
    pub spec: JobSpec,
    pub state: JobState,
    /// Unix seconds.
    pub created_at: i64,
    pub updated_at: i64,
    pub total: u64,
    pub done: u64,
    pub cache_hits: u64,
    pub errors: u64,
    /// Unix seconds: when quota frees again, while `state` is `waiting_quota`.
    pub resumes_at: Option<i64>,
    /// Why the job failed, when `state` is `failed`.
    pub error: Option<String>,
}

/// One item of a job (a hash, a URL, a domain or an IP address), with its result once it
/// has one.
#[derive(Debug, Clone, PartialEq)]
pub struct JobItem {
    /// Position in the input, from 0.
    pub index: u64,
    pub target: Target,
    pub result: Option<ItemResult>,
}
