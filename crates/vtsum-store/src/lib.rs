//! The backends behind `vtsum_core::store::Store`, chosen by URL ([`open`]): `sqlite:PATH`
//! (the default; shared by the processes of one machine), `redis://…` (shared by several
//! machines, with the work queue of [`redis_queue`]), `none` (no cache or jobs kept; the
//! quota still kept in a small SQLite file). One test suite ([`suite`]) runs against every
//! backend.
//!
//! A crate of its own so the engine depends on the trait, not on rusqlite and redis-rs: the
//! map reads `vtsum` → `vtsum-web` → `vtsum-core` ← `vtsum-store`.
//!
//! | module | role |
//! |---|---|
//! | [`memory`] | in-process maps (`--store none`, tests) |
//! | [`sqlite`] | one file; `sqlite_quota` shares windows and claims between processes |
//! | [`redis`] | several machines; Lua scripts for quotas, `redis_queue` for job parts |
//! | [`error`] | this crate's error, carried inside `vtsum_core::Error::Store` |

use vtsum_core::hash::Hash;
use vtsum_core::report::{CacheEntry, Document, FileReport, ItemResult, Lookup, ObjectEntry};
use vtsum_core::store::Store;
use vtsum_core::target::Target;
use vtsum_core::Result;

pub mod error;
pub mod memory;
mod packed;
pub mod redis;
mod redis_cache;
mod redis_link;
pub mod redis_queue;
mod redis_quota;
mod redis_scripts;
mod redis_watch;
mod redis_watch_scripts;
pub mod sqlite;
mod sqlite_answer;
mod sqlite_cache;
mod sqlite_columns;
mod sqlite_objects;
mod sqlite_page;
mod sqlite_pool;
mod sqlite_quota;
mod sqlite_results;
mod sqlite_rows;
mod sqlite_search;
#[doc(hidden)]
pub mod suite;
#[doc(hidden)]
pub mod suite_answer;
#[doc(hidden)]
pub mod suite_cache;
#[doc(hidden)]
pub mod suite_objects;
#[doc(hidden)]
pub mod suite_outbox;
#[doc(hidden)]
pub mod suite_pages;
#[doc(hidden)]
pub mod suite_watch;

pub use error::StoreError;
pub use vtsum_core::store::without_credentials;

/// The store suite's macro names core types through this path.
#[doc(hidden)]
pub use vtsum_core as core;

/// The file, beside the default SQLite store, that keeps the quota of `--store none`.
pub const QUOTA_FILE: &str = "quota.db";

/// Decodes a value a backend stored as JSON.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| vtsum_core::Error::Corrupt(e.to_string()))
}

/// Encodes a value for a backend to store as JSON.
pub(crate) fn encode<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("store values serialise")
}

/// The kind a backend files a cached answer under: `found` or `unknown`.
pub(crate) fn entry_kind(entry: &CacheEntry) -> &'static str {
    match entry.lookup {
        Lookup::Found(_) | Lookup::Object(_) => "found",
        Lookup::Unknown => "unknown",
    }
}

/// Refuses what the file cache cannot hold: a URL's, domain's or IP address's answer
/// (those go to [`Store::object_put`](vtsum_core::store::Store::object_put)).
pub(crate) fn check_files(entries: &[CacheEntry]) -> Result<()> {
    match entries
        .iter()
        .find(|e| matches!(e.lookup, Lookup::Object(_)))
    {
        Some(e) => Err(vtsum_core::Error::Corrupt(format!(
            "a URL, domain or IP address answer was given to the file cache for {}",
            e.queried
        ))),
        None => Ok(()),
    }
}

/// Refuses what the objects' cache cannot hold: a file's answer, or a file kind.
pub(crate) fn check_object(entry: &ObjectEntry) -> Result<()> {
    if entry.kind == vtsum_core::target::Kind::File || matches!(entry.lookup, Lookup::Found(_)) {
        return Err(vtsum_core::Error::Corrupt(format!(
            "a file answer was given to the objects' cache for {:?}",
            entry.value
        )));
    }
    Ok(())
}

/// A URL's, domain's or IP address's answer as the backends keep it (then compressed): a
/// plain struct rather than [`Lookup`]'s tagged form, which cannot carry the document
/// (kept as the text VirusTotal sent) through serde's buffering.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredObject {
    kind: vtsum_core::target::Kind,
    value: String,
    fetched_at: i64,
    /// `None`: VirusTotal does not know it.
    report: Option<vtsum_core::report::ObjectReport>,
}

/// [`StoredObject`]'s text for an entry.
pub(crate) fn encode_object(entry: &ObjectEntry) -> String {
    let report = match &entry.lookup {
        Lookup::Object(report) => Some((**report).clone()),
        _ => None,
    };
    encode(&StoredObject {
        kind: entry.kind,
        value: entry.value.clone(),
        fetched_at: entry.fetched_at,
        report,
    })
}

/// An entry from [`encode_object`]'s text, checked to be the one asked for.
pub(crate) fn decode_object(
    text: &str,
    kind: vtsum_core::target::Kind,
    value: &str,
) -> Result<ObjectEntry> {
    let stored: StoredObject = decode(text)?;
    if stored.kind != kind || stored.value != value {
        return Err(vtsum_core::Error::Corrupt(format!(
            "the cached {} {value:?} holds another answer",
            kind.as_str()
        )));
    }
    Ok(ObjectEntry {
        kind,
        value: stored.value,
        lookup: match stored.report {
            Some(report) => Lookup::Object(Box::new(report)),
            None => Lookup::Unknown,
        },
        fetched_at: stored.fetched_at,
    })
}

/// A job's item a backend stored, checked again on the way out.
pub(crate) fn stored_target(text: &str) -> Result<Target> {
    Target::parse_stored(text)
        .ok_or_else(|| vtsum_core::Error::Corrupt(format!("bad job item {text:?}")))
}

/// A hash a backend stored, checked again on the way out.
pub(crate) fn stored_hash(text: &str) -> Result<Hash> {
    Hash::parse(text).ok_or_else(|| vtsum_core::Error::Corrupt(format!("bad hash {text:?}")))
}

/// Opens the store a URL names: `sqlite:PATH` (`sqlite` alone: `default_sqlite`), `none`
/// (no cache; the quota in `quota.db` beside `default_sqlite`), `redis://…`.
pub fn open(url: &str, default_sqlite: &std::path::Path) -> Result<std::sync::Arc<dyn Store>> {
    let url = url.trim();
    let bad = |why: &str| vtsum_core::Error::StoreUrl {
        url: without_credentials(url),
        why: why.to_string(),
    };
    if url == "none" {
        let quota = default_sqlite.with_file_name(QUOTA_FILE);
        return Ok(std::sync::Arc::new(memory::MemoryStore::with_quota_file(
            &quota,
        )?));
    }
    if url == "sqlite" || url == "sqlite:" {
        return Ok(std::sync::Arc::new(sqlite::SqliteStore::open(
            default_sqlite,
        )?));
    }
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let path = match path.strip_prefix("~/") {
            Some(rest) => std::env::var_os("HOME")
                .map(|h| std::path::PathBuf::from(h).join(rest))
                .ok_or_else(|| bad("~ used but HOME is not set"))?,
            None => std::path::PathBuf::from(path),
        };
        return Ok(std::sync::Arc::new(sqlite::SqliteStore::open(&path)?));
    }
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        return Ok(std::sync::Arc::new(redis::RedisStore::open(url)?));
    }
    Err(bad("unknown kind of store"))
}

/// A lookup as reports read it back: a found file without its engines and document.
pub fn slim(lookup: &Lookup) -> Lookup {
    match lookup {
        Lookup::Found(file) if !file.engines.is_empty() || file.document.is_some() => {
            Lookup::Found(Box::new(FileReport {
                engines: Default::default(),
                document: None,
                ..(**file).clone()
            }))
        }
        // The objects' cache keeps these whole; a job's row needs none of it.
        Lookup::Object(object) if !object.engines.is_empty() || object.document.is_some() => {
            Lookup::Object(Box::new(vtsum_core::report::ObjectReport {
                engines: Default::default(),
                document: None,
                ..(**object).clone()
            }))
        }
        other => other.clone(),
    }
}

/// A job's result as stores keep it: the lookup [`slim`] (the cache has the rest).
pub(crate) fn slim_result(result: &ItemResult) -> ItemResult {
    match result {
        ItemResult::Lookup {
            lookup,
            from_cache,
            fetched_at,
        } => ItemResult::Lookup {
            lookup: slim(lookup),
            from_cache: *from_cache,
            fetched_at: *fetched_at,
        },
        other => other.clone(),
    }
}

/// An entry as reports read it back (see [`slim`]).
pub fn slim_entry(entry: &CacheEntry) -> CacheEntry {
    CacheEntry {
        queried: entry.queried.clone(),
        lookup: slim(&entry.lookup),
        fetched_at: entry.fetched_at,
    }
}

/// The document a backend keeps for an entry: a found file's own, or one built from it.
pub fn entry_document(entry: &CacheEntry) -> Option<Document> {
    match &entry.lookup {
        Lookup::Found(file) => Some(vtsum_core::vt::document::of(file)),
        Lookup::Unknown | Lookup::Object(_) => None,
    }
}

/// The entry of a found file with its document put back (engines stay in the document).
pub(crate) fn with_document(mut entry: CacheEntry, document: Option<Document>) -> CacheEntry {
    if let Lookup::Found(file) = &mut entry.lookup {
        file.document = document;
    }
    entry
}

/// The hashes an entry can be found by, and the one it is stored under.
pub(crate) fn entry_hashes(entry: &CacheEntry) -> (String, Vec<String>) {
    match &entry.lookup {
        Lookup::Found(f) => {
            let mut all = vec![f.sha256.to_ascii_lowercase()];
            all.extend(
                f.md5
                    .iter()
                    .chain(f.sha1.iter())
                    .map(|h| h.to_ascii_lowercase()),
            );
            all.push(entry.queried.to_string());
            all.dedup();
            (f.sha256.to_ascii_lowercase(), all)
        }
        Lookup::Unknown | Lookup::Object(_) => {
            (entry.queried.to_string(), vec![entry.queried.to_string()])
        }
    }
}
