//! The VirusTotal client: v3 (`/api/v3/files/{hash}`, one hash a request) by default, or
//! the legacy v2 (`/vtapi/v2/file/report`, up to four hashes a request).
//!
//! The client only speaks HTTP and parses; it never retries or waits. Deciding what to do
//! with a [`FetchError`] (rest a key, drop it, retry later) is the scheduler's job.

use std::time::Duration;

use crate::hash::Hash;
use crate::key::KeyId;
use crate::report::Lookup;

pub mod client;
pub mod document;
pub mod objects;
pub mod v2;
pub mod v3;

pub use client::VtClient;

/// The default base URL.
pub const DEFAULT_API_URL: &str = "https://www.virustotal.com";

/// Which VirusTotal API to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApiVersion {
    #[default]
    V3,
    V2,
}

impl ApiVersion {
    /// How many hashes one request may carry.
    pub fn batch_size(self) -> usize {
        match self {
            ApiVersion::V3 => 1,
            ApiVersion::V2 => 4,
        }
    }
}

/// Why a request gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// 429 (v2: 204): the key is over a quota. Not a failure of the hash.
    #[error("key {key} is over its quota")]
    Quota { key: KeyId },
    /// 401/403: the key is wrong, inactive or forbidden.
    #[error("key {key} was rejected by VirusTotal (HTTP {status}): {message}")]
    Rejected {
        key: KeyId,
        status: u16,
        message: String,
    },
    /// 5xx, timeouts, connection resets, malformed bodies: worth retrying.
    #[error("{0}")]
    Transient(String),
    /// Anything else (e.g. 400): retrying will not help.
    #[error("{0}")]
    Permanent(String),
}

/// The client's settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Base URL without a trailing slash, e.g. `https://www.virustotal.com`.
    pub base_url: String,
    pub version: ApiVersion,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// A key's quota as VirusTotal reports it (`/api/v3/users/{key}/overall_quotas`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemoteQuota {
    pub hourly: Option<(u64, u64)>,
    pub daily: Option<(u64, u64)>,
    pub monthly: Option<(u64, u64)>,
}

/// The outcome of one request: an answer per hash, in the order asked, or why there was none.
pub type FetchResult = Result<Vec<(Hash, Lookup)>, FetchError>;
