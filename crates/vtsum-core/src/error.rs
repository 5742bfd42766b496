//! The one error type of `vtsum-core`.
//!
//! Every variant's message says what went wrong and, where the user can act, what to do.
//! No variant carries an API key: keys are named by their [`KeyId`](crate::KeyId) only.

/// Errors from the vtsum engine, its stores and its VirusTotal client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A rate specification such as `4/min,500/day` could not be parsed.
    #[error("invalid rate {spec:?}: {why} (expected e.g. \"4/min,500/day\" or \"4/1s\")")]
    Rate { spec: String, why: String },

    /// A skip list (indicators not to report) has a bad line.
    #[error("skip list, line {line}: {why}")]
    SkipList { line: usize, why: String },

    /// A store URL such as `sqlite:PATH` could not be understood.
    #[error("invalid store {url:?}: {why} (use sqlite:PATH, redis://host:port/db or none)")]
    StoreUrl { url: String, why: String },

    /// A store backend failed (the `vtsum-store` crate's error, kept whole as the source:
    /// its message names the backend and what to do). `unavailable` says whether the store
    /// could not be reached (connection refused, dropped, timed out) — worth waiting for —
    /// rather than refusing a command, which waiting will not mend.
    #[error("{source}")]
    Store {
        unavailable: bool,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },

    /// A stored value could not be decoded (a store written by another version, or damaged).
    #[error(
        "stored data could not be read: {0} (run `vtsum cache clear` if the cache is damaged)"
    )]
    Corrupt(String),

    /// No API key was configured.
    #[error("no VirusTotal API key: set VT_API_KEY=key1,key2, pass --api-key, or use --demo")]
    NoKeys,

    /// Every key was rejected by VirusTotal (401/403).
    #[error("every API key was rejected by VirusTotal ({ids}); check the keys")]
    AllKeysRejected { ids: String },

    /// An HTTP client could not be built.
    #[error("HTTP client: {source} (the TLS backend could not start)")]
    Http {
        #[source]
        source: reqwest::Error,
    },

    /// A blocking task (a store call off the async threads) panicked or was cancelled.
    #[error("{what} stopped unexpectedly: {source} (a bug: please report it)")]
    Task {
        what: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },

    /// A watchlist could not be used as asked (no such list, a store without watchlists).
    #[error("{0}")]
    Watch(String),

    /// A job id was not found in the store.
    #[error("no job {0:?} in the store")]
    NoSuchJob(String),

    /// An I/O error on input or output.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

/// The result type of `vtsum-core`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether the store could not be reached: worth waiting and trying again, not a
    /// reason to fail a job. A command the server refused (a script error, a key of the
    /// wrong type) is not: waiting would pause the job for ever.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Error::Store {
                unavailable: true,
                ..
            }
        )
    }

    /// Wraps an I/O error with a short description of what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
