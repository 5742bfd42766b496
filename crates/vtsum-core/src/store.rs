//! Where vtsum keeps what must survive the process: the lookup cache, the per-key daily
//! request ledger, and jobs (their input hashes and each hash's result).
//!
//! This module is the boundary: the [`Store`] trait and the types that cross it. The
//! backends live in the `vtsum-store` crate (memory, SQLite, Redis and the Redis work
//! queue), chosen by URL there, so the engine depends on this trait and not on rusqlite or
//! redis-rs. One test suite in that crate runs against every backend.
//!
//! The trait is synchronous (SQLite is, and every call is short); async code calls it
//! through [`blocking`], on Tokio's blocking threads, never on a runtime worker thread.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::hash::Hash;
use crate::key::KeyId;
use crate::report::{CacheEntry, Document, ItemResult, Lookup, ObjectEntry, RowOptions};
use crate::results::{ResultCounts, ResultPage, ResultQuery};
use crate::target::{Kind, Target};

pub use crate::job::{JobId, JobInfo, JobItem, JobOrigin, JobSpec, JobState};

/// Counts of cached entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStats {
    /// Files VirusTotal knows.
    pub found: u64,
    /// Hashes VirusTotal did not know.
    pub unknown: u64,
    /// Approximate bytes used by cached entries.
    pub bytes: u64,
}

/// When a cached answer may stand for a new one (`--max-age`, `--max-age-unknown`,
/// `--refresh`): one rule for the engine's lookups and for a store that answers a job
/// from its cache itself ([`Store::job_answer_from_cache`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    pub max_age_found: std::time::Duration,
    pub max_age_unknown: std::time::Duration,
    /// `--refresh`: only answers fetched after this (the job's creation) count.
    pub fetched_after: Option<i64>,
}

impl Freshness {
    /// Whether `entry` may stand for a new answer at `now` (Unix seconds). An answer
    /// dated in the future counts as new.
    pub fn admits(&self, entry: &CacheEntry, now: i64) -> bool {
        self.admits_answer(&entry.lookup, entry.fetched_at, now)
    }

    /// [`Freshness::admits`] for any answer, a URL's, domain's or IP address's included.
    pub fn admits_answer(&self, lookup: &Lookup, fetched_at: i64, now: i64) -> bool {
        let max_age = match lookup {
            Lookup::Found(_) | Lookup::Object(_) => self.max_age_found,
            Lookup::Unknown => self.max_age_unknown,
        };
        let age = now.saturating_sub(fetched_at);
        u64::try_from(age).unwrap_or(0) < max_age.as_secs()
            && self.fetched_after.is_none_or(|t| fetched_at > t)
    }
}

/// One key's request for quota units, as a store that shares quotas sees it.
#[derive(Debug, Clone)]
pub struct QuotaRequest<'a> {
    pub key: &'a KeyId,
    /// Each sliding window's limit and length (with the safety margin).
    pub windows: &'a [(u32, std::time::Duration)],
    pub daily: Option<u32>,
    /// The UTC day of the ledger (`YYYY-MM-DD`).
    pub day: &'a str,
    pub cost: u32,
    /// Names this lease among every process's.
    pub token: &'a str,
    /// How long a lease may stay in flight before it counts as lost (its process died).
    pub hold: std::time::Duration,
}

/// What a store that shares quotas decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedGrant {
    /// This many of the units asked for (fewer when the day has fewer left) were recorded
    /// as in flight and added to the day's ledger.
    Granted(u32),
    /// A window is full; ask again after this many milliseconds.
    WaitMs(u64),
    /// The key's daily quota is spent.
    DayOut,
}

/// The backend of the cache, the quota ledger and jobs.
pub trait Store: Send + Sync + 'static {
    /// A short description for messages, e.g. `sqlite:/home/a/.local/share/vtsum/vtsum.db`.
    fn describe(&self) -> String;

    /// The store's watchlists, where it keeps them (SQLite and Redis do; `--store none`
    /// answers `None`).
    fn watches(self: std::sync::Arc<Self>) -> Option<std::sync::Arc<dyn crate::watch::WatchStore>> {
        None
    }

    /// A cheap check that the store answers (health checks): one round trip, never a scan.
    fn ping(&self) -> Result<()> {
        Ok(())
    }

    /// The cached answer for a hash, found by any of md5, sha1 or sha256 of a found file,
    /// or by the exact hash of an unknown one. Freshness is the caller's decision. What a
    /// report needs: a found file comes without `engines` and `document`, which only
    /// [`Store::cache_document`] reads.
    fn cache_get(&self, hash: &Hash) -> Result<Option<CacheEntry>> {
        Ok(self
            .cache_get_many(std::slice::from_ref(hash))?
            .pop()
            .flatten())
    }
    /// [`Store::cache_get`] for many hashes at once, in the order asked: one query (or
    /// round trip) per batch where the backend can.
    fn cache_get_many(&self, hashes: &[Hash]) -> Result<Vec<Option<CacheEntry>>>;
    /// VirusTotal's document about a cached found file (see [`crate::report::Document`]),
    /// by any of its hashes; `None` for an unknown or uncached hash.
    fn cache_document(&self, hash: &Hash) -> Result<Option<Document>>;
    /// Stores an answer, replacing older answers for the same file. A found file's
    /// document is kept (built from the report when it has none: [`crate::vt::document`]).
    fn cache_put(&self, entry: &CacheEntry) -> Result<()> {
        self.cache_put_many(std::slice::from_ref(entry))
    }
    /// [`Store::cache_put`] for many answers, as one write where the backend can.
    fn cache_put_many(&self, entries: &[CacheEntry]) -> Result<()>;
    fn cache_stats(&self) -> Result<CacheStats>;
    /// Removes every cached answer; returns how many there were.
    fn cache_clear(&self) -> Result<u64>;
    /// Calls `each` for every cached answer, documents included (for `vtsum cache export`).
    fn cache_export(&self, each: &mut dyn FnMut(CacheEntry) -> Result<()>) -> Result<()>;

    /// Requests spent by a key on a UTC day (`YYYY-MM-DD`).
    fn ledger_used(&self, key: &KeyId, day: &str) -> Result<u64>;
    /// Adds `n` requests to a key's day and returns the new total.
    fn ledger_add(&self, key: &KeyId, day: &str, n: u64) -> Result<u64>;
    /// All keys' counts for a day.
    fn ledger_day(&self, day: &str) -> Result<BTreeMap<KeyId, u64>>;

    /// Creates a job in state `queued` with its hashes, unless one with this id exists.
    /// Returns whether it was created.
    fn job_create(&self, id: &JobId, spec: &JobSpec, items: &[Target], now: i64) -> Result<bool>;
    fn job_get(&self, id: &JobId) -> Result<Option<JobInfo>>;
    /// Every job, newest first.
    fn job_list(&self) -> Result<Vec<JobInfo>>;
    /// Sets state, `resumes_at` and `error` together.
    fn job_set_state(
        &self,
        id: &JobId,
        state: JobState,
        resumes_at: Option<i64>,
        error: Option<&str>,
        now: i64,
    ) -> Result<()>;
    /// Hashes of a job without a result yet, in input order.
    fn job_pending(&self, id: &JobId) -> Result<Vec<JobItem>>;
    /// Records a hash's result and updates the job's counters. Recording the same index
    /// twice keeps the first result.
    fn job_record(&self, id: &JobId, index: u64, result: &ItemResult, now: i64) -> Result<()>;
    /// Records several results of one job, as one write where the backend can (a scan
    /// answered from the cache records hundreds at a time). The same rules as
    /// [`Store::job_record`] for each.
    fn job_record_many(&self, id: &JobId, items: &[(u64, &ItemResult)], now: i64) -> Result<()> {
        items
            .iter()
            .try_for_each(|(index, result)| self.job_record(id, *index, result, now))
    }
    /// The cache pass of a run: records, for each of `items` (pending items of job `id`,
    /// in input order), the cache's answer if `fresh` admits it at `now`, as a result from
    /// the cache, and returns the results recorded, in input order. All or nothing: on an
    /// error none is recorded. The default looks the items up
    /// ([`Store::cache_get_many`]) and records the hits ([`Store::job_record_many`]):
    /// [`answer_from_cache_by_lookups`]; a backend that can join its cache to the job's
    /// items inside the store (SQLite) does so without the round trips.
    fn job_answer_from_cache(
        &self,
        id: &JobId,
        items: &[(u64, Hash)],
        fresh: &Freshness,
        now: i64,
    ) -> Result<Vec<(u64, ItemResult)>> {
        answer_from_cache_by_lookups(self, id, items, fresh, now)
    }
    /// Items in input order, `offset` and at most `limit` of them.
    fn job_items(&self, id: &JobId, offset: u64, limit: u64) -> Result<Vec<JobItem>>;
    /// One page of a job's finished rows, filtered and sorted as `query` says.
    fn job_page(&self, job: &JobInfo, query: &ResultQuery) -> Result<ResultPage> {
        crate::results::scan_page(
            &|offset, limit| self.job_items(&job.id, offset, limit),
            query,
        )
    }
    /// Counts over all of a job's finished rows (verdicts by `options.threshold`).
    fn job_counts(&self, job: &JobInfo, options: RowOptions) -> Result<ResultCounts> {
        let read = |offset, limit| self.job_items(&job.id, offset, limit);
        crate::results::scan_counts(&read, options)
    }
    /// Deletes a job and its items; returns whether it existed.
    fn job_delete(&self, id: &JobId) -> Result<bool>;

    /// Hashes of a job at input positions `from..to` without a result yet, in input order.
    fn job_pending_in(&self, id: &JobId, from: u64, to: u64) -> Result<Vec<JobItem>> {
        let mut items = self.job_pending(id)?;
        items.retain(|item| (from..to).contains(&item.index));
        Ok(items)
    }

    /// The cached answer for a URL, a domain or an IP address (`kind` is never
    /// [`Kind::File`]), by its normal form: [`Lookup::Object`] or [`Lookup::Unknown`], whole
    /// (engines and VirusTotal's document included: these are few beside files).
    fn object_get(&self, kind: Kind, value: &str) -> Result<Option<ObjectEntry>>;

    /// Caches a URL's, domain's or IP address's answer, replacing any older one.
    fn object_put(&self, entry: &ObjectEntry) -> Result<()>;

    /// Claims a lookup (a target's [`Target::key`]: a hash, or `url:…`) by `token`, for
    /// `ttl` (renewed by claiming again), so that other processes sharing the store wait
    /// for its answer instead of asking too. `false`: another token holds it. A store used
    /// by one process always grants.
    fn hash_claim(&self, _key: &str, _token: &str, _ttl: std::time::Duration) -> Result<bool> {
        Ok(true)
    }

    /// Gives up a claim (the answer is stored, or the lookup was put back).
    fn hash_release(&self, _key: &str, _token: &str) -> Result<()> {
        Ok(())
    }

    /// The queue of job parts, when the store is shared by worker processes.
    fn work_queue(&self) -> Option<std::sync::Arc<dyn crate::queue::WorkQueue>> {
        None
    }

    /// Whether this store enforces each key's windows and daily count for every process
    /// that uses it ([`Store::quota_acquire`]); a store used by one process needs not.
    fn shares_quota(&self) -> bool {
        false
    }

    /// Atomically checks every window for `req.cost` more requests and the day for at least
    /// one and, if they fit, records as many as the day has left (at most `req.cost`) as in
    /// flight and adds them to the day's ledger.
    fn quota_acquire(&self, req: &QuotaRequest<'_>) -> Result<SharedGrant> {
        Ok(SharedGrant::Granted(req.cost))
    }

    /// The lease's requests were answered: their window slots free one window from now.
    fn quota_release(&self, _req: &QuotaRequest<'_>) -> Result<()> {
        Ok(())
    }
}

/// [`Store::job_answer_from_cache`] by the store's lookups: one batched read of the
/// cache, then one write of the fresh answers. Every backend's override must answer as
/// this does (the store suite checks it).
pub fn answer_from_cache_by_lookups<S: Store + ?Sized>(
    store: &S,
    id: &JobId,
    items: &[(u64, Hash)],
    fresh: &Freshness,
    now: i64,
) -> Result<Vec<(u64, ItemResult)>> {
    let hashes: Vec<Hash> = items.iter().map(|(_, hash)| hash.clone()).collect();
    let found = store.cache_get_many(&hashes)?;
    let hits: Vec<(u64, ItemResult)> = items
        .iter()
        .zip(found)
        .filter_map(|((index, _), entry)| {
            let entry = entry.filter(|e| fresh.admits(e, now))?;
            Some((*index, entry.into_result()))
        })
        .collect();
    if !hits.is_empty() {
        let refs: Vec<(u64, &ItemResult)> = hits.iter().map(|(i, r)| (*i, r)).collect();
        store.job_record_many(id, &refs, now)?;
    }
    Ok(hits)
}

/// A store URL for messages: whatever stands between `://` and `@` (a password) hidden.
pub fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => url.to_string(),
    }
}

/// Runs `call` on the store from a Tokio blocking thread: the way async code reaches the
/// store, so a slow disk or a Redis round trip never stalls the runtime's worker threads.
pub async fn blocking<T, F>(store: &std::sync::Arc<dyn Store>, call: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&dyn Store) -> Result<T> + Send + 'static,
{
    let store = store.clone();
    off_runtime("a store call", move || call(store.as_ref())).await
}

/// Runs `call` on a Tokio blocking thread, for work that blocks (store I/O, reading a big
/// input); `what` names it if that thread fails.
pub async fn off_runtime<T: Send + 'static>(
    what: &'static str,
    call: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|source| crate::Error::Task { what, source })?
}
