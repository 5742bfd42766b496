//! The one error type of `vtsum-store`: what a backend's driver said, with the store named
//! (a Redis URL without its password, a SQLite path) and what to do.
//!
//! Backends hand it to the engine inside `vtsum_core::Error::Store` (the trait's error),
//! keeping it whole as the source, with whether the store was out of reach.

use std::path::PathBuf;

/// A backend's failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The SQLite store failed.
    #[error("SQLite store {path}: {source} (check the file is writable, or choose another with --store)")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    /// The Redis store failed (the URL is shown without its password). `unreachable` says
    /// whether the server could not be reached (connection refused, dropped, timed out).
    #[error("Redis store {url}: {source} (is the server running and reachable? check --store)")]
    Redis {
        url: String,
        unreachable: bool,
        #[source]
        source: redis::RedisError,
    },
}

impl StoreError {
    /// The Redis error code (`NOGROUP`, `WRONGTYPE`…) inside an engine error, if it is one.
    pub fn redis_code(e: &vtsum_core::Error) -> Option<&str> {
        match e {
            vtsum_core::Error::Store { source, .. } => match source.downcast_ref::<StoreError>() {
                Some(StoreError::Redis { source, .. }) => source.code(),
                _ => None,
            },
            _ => None,
        }
    }
}

impl From<StoreError> for vtsum_core::Error {
    fn from(e: StoreError) -> Self {
        let unavailable = matches!(
            e,
            StoreError::Redis {
                unreachable: true,
                ..
            }
        );
        vtsum_core::Error::Store {
            unavailable,
            source: Box::new(e),
        }
    }
}
