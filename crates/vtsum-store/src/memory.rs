//! An in-memory [`Store`]: `--store none` (no cache, no jobs kept between runs) and the
//! reference backend the store test suite checks the others against.
//!
//! `--store none` turns off the cache, not the quota: it opens the memory store with a
//! small SQLite quota file ([`MemoryStore::with_quota_file`]) that keeps each key's daily
//! ledger and sliding windows, so back-to-back or concurrent runs stay within the limits.
//! Hash claims are not shared there: without a shared cache another process's answer would
//! never reach this one.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use crate::sqlite::SqliteStore;
use crate::{entry_document, entry_hashes, slim_entry, slim_result, with_document};
use vtsum_core::error::Result;
use vtsum_core::hash::Hash;
use vtsum_core::key::KeyId;
use vtsum_core::report::{CacheEntry, Document, ItemResult, Lookup, ObjectEntry};
use vtsum_core::store::{
    CacheStats, JobId, JobInfo, JobItem, JobSpec, JobState, QuotaRequest, SharedGrant, Store,
};
use vtsum_core::target::{Kind, Target};

#[derive(Default)]
struct Inner {
    /// Entries by their primary hash (sha256 for found files, the queried hash otherwise).
    entries: HashMap<String, CacheEntry>,
    /// md5/sha1/sha256 of found files → primary hash.
    aliases: HashMap<String, String>,
    ledger: BTreeMap<(String, KeyId), u64>,
    jobs: BTreeMap<JobId, (JobInfo, Vec<JobItem>)>,
    /// Creation order, for jobs created within one second.
    created: HashMap<JobId, u64>,
    next_seq: u64,
    /// The cache's counts, kept as entries come and go rather than counted on each ask.
    stats: CacheStats,
    /// URLs', domains' and IP addresses' answers, whole, by kind and normal form.
    objects: HashMap<(Kind, String), ObjectEntry>,
}

impl Inner {
    /// The entry a hash finds: by alias for a found file, by itself for an unknown one.
    fn entry(&self, hash: &Hash) -> Option<&CacheEntry> {
        let primary = self
            .aliases
            .get(hash.as_str())
            .map(String::as_str)
            .unwrap_or(hash.as_str());
        self.entries.get(primary)
    }

    fn put(&mut self, entry: CacheEntry) {
        let (primary, all) = entry_hashes(&entry);
        for h in &all {
            // A file that became known replaces the "unknown" answers for its hashes.
            if h != &primary
                && self
                    .entries
                    .get(h)
                    .is_some_and(|old| old.lookup == Lookup::Unknown)
            {
                if let Some(old) = self.entries.remove(h) {
                    self.count(&old, false);
                }
            }
            self.aliases.insert(h.clone(), primary.clone());
        }
        self.count(&entry, true);
        if let Some(old) = self.entries.insert(primary, entry) {
            self.count(&old, false);
        }
    }

    /// Counts an entry into the cache's stats (`added`) or out of them.
    fn count(&mut self, entry: &CacheEntry, added: bool) {
        let bytes = serde_json::to_vec(entry).map_or(0, |v| v.len() as u64);
        let slot = match entry.lookup {
            Lookup::Found(_) | Lookup::Object(_) => &mut self.stats.found,
            Lookup::Unknown => &mut self.stats.unknown,
        };
        if added {
            *slot += 1;
            self.stats.bytes += bytes;
        } else {
            *slot = slot.saturating_sub(1);
            self.stats.bytes = self.stats.bytes.saturating_sub(bytes);
        }
    }
}

/// Everything in memory, behind one lock; the quota optionally in a file.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    /// Where the ledger and the windows live when they must outlive the process.
    quota: Option<SqliteStore>,
}

impl MemoryStore {
    /// Up to `limit` items of a job from place `offset` (an item's index is its place)
    /// that `keep` keeps.
    fn items_at(
        &self,
        id: &JobId,
        offset: u64,
        limit: u64,
        keep: impl Fn(&JobItem) -> bool,
    ) -> Vec<JobItem> {
        self.lock()
            .jobs
            .get(id)
            .map_or_else(Vec::new, |(_, items)| {
                items
                    .iter()
                    .skip(offset as usize)
                    .take(limit as usize)
                    .filter(|i| keep(i))
                    .cloned()
                    .collect()
            })
    }

    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// A memory store whose ledger and sliding windows live in the SQLite file at `path`,
    /// shared with every process that uses the same file.
    pub fn with_quota_file(path: &std::path::Path) -> Result<MemoryStore> {
        Ok(MemoryStore {
            inner: Mutex::default(),
            quota: Some(SqliteStore::open(path)?),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store for MemoryStore {
    fn describe(&self) -> String {
        "none (in memory)".to_string()
    }

    fn cache_get_many(&self, hashes: &[Hash]) -> Result<Vec<Option<CacheEntry>>> {
        let inner = self.lock();
        Ok(hashes
            .iter()
            .map(|hash| inner.entry(hash).map(slim_entry))
            .collect())
    }

    fn cache_document(&self, hash: &Hash) -> Result<Option<Document>> {
        let inner = self.lock();
        Ok(inner.entry(hash).and_then(|e| match &e.lookup {
            Lookup::Found(file) => file.document.clone(),
            Lookup::Unknown | Lookup::Object(_) => None,
        }))
    }

    fn cache_put_many(&self, entries: &[CacheEntry]) -> Result<()> {
        crate::check_files(entries)?;
        let mut inner = self.lock();
        for entry in entries {
            // Kept as a backend on disk keeps it: the columns, and the document.
            let full = with_document(slim_entry(entry), entry_document(entry));
            inner.put(full);
        }
        Ok(())
    }

    fn cache_stats(&self) -> Result<CacheStats> {
        Ok(self.lock().stats.clone())
    }

    fn cache_clear(&self) -> Result<u64> {
        let mut inner = self.lock();
        let n = inner.entries.len() as u64;
        inner.entries.clear();
        inner.aliases.clear();
        inner.stats = CacheStats::default();
        Ok(n)
    }

    fn cache_export(&self, each: &mut dyn FnMut(CacheEntry) -> Result<()>) -> Result<()> {
        let entries: Vec<CacheEntry> = self.lock().entries.values().cloned().collect();
        entries.into_iter().try_for_each(each)
    }

    fn ledger_used(&self, key: &KeyId, day: &str) -> Result<u64> {
        if let Some(q) = &self.quota {
            return q.ledger_used(key, day);
        }
        let inner = self.lock();
        Ok(inner
            .ledger
            .get(&(day.to_string(), key.clone()))
            .copied()
            .unwrap_or(0))
    }

    fn ledger_add(&self, key: &KeyId, day: &str, n: u64) -> Result<u64> {
        if let Some(q) = &self.quota {
            return q.ledger_add(key, day, n);
        }
        let mut inner = self.lock();
        let used = inner
            .ledger
            .entry((day.to_string(), key.clone()))
            .or_default();
        *used += n;
        Ok(*used)
    }

    fn ledger_day(&self, day: &str) -> Result<BTreeMap<KeyId, u64>> {
        if let Some(q) = &self.quota {
            return q.ledger_day(day);
        }
        let inner = self.lock();
        Ok(inner
            .ledger
            .iter()
            .filter(|((d, _), _)| d == day)
            .map(|((_, k), n)| (k.clone(), *n))
            .collect())
    }

    fn object_get(&self, kind: Kind, value: &str) -> Result<Option<ObjectEntry>> {
        Ok(self.lock().objects.get(&(kind, value.to_string())).cloned())
    }

    fn object_put(&self, entry: &ObjectEntry) -> Result<()> {
        crate::check_object(entry)?;
        let key = (entry.kind, entry.value.clone());
        self.lock().objects.insert(key, entry.clone());
        Ok(())
    }

    fn job_create(&self, id: &JobId, spec: &JobSpec, hashes: &[Target], now: i64) -> Result<bool> {
        let mut inner = self.lock();
        if inner.jobs.contains_key(id) {
            return Ok(false);
        }
        let info = JobInfo {
            id: id.clone(),
            spec: spec.clone(),
            state: JobState::Queued,
            created_at: now,
            updated_at: now,
            total: hashes.len() as u64,
            done: 0,
            cache_hits: 0,
            errors: 0,
            resumes_at: None,
            error: None,
        };
        let items = hashes
            .iter()
            .enumerate()
            .map(|(i, h)| JobItem {
                index: i as u64,
                target: h.clone(),
                result: None,
            })
            .collect();
        inner.next_seq += 1;
        let seq = inner.next_seq;
        inner.created.insert(id.clone(), seq);
        inner.jobs.insert(id.clone(), (info, items));
        Ok(true)
    }

    fn job_get(&self, id: &JobId) -> Result<Option<JobInfo>> {
        Ok(self.lock().jobs.get(id).map(|(info, _)| info.clone()))
    }

    fn job_list(&self) -> Result<Vec<JobInfo>> {
        let inner = self.lock();
        let mut jobs: Vec<JobInfo> = inner.jobs.values().map(|(i, _)| i.clone()).collect();
        let seq = |j: &JobInfo| inner.created.get(&j.id).copied().unwrap_or(0);
        jobs.sort_by_key(|j| std::cmp::Reverse((j.created_at, seq(j))));
        Ok(jobs)
    }

    fn job_set_state(
        &self,
        id: &JobId,
        state: JobState,
        resumes_at: Option<i64>,
        error: Option<&str>,
        now: i64,
    ) -> Result<()> {
        if let Some((info, _)) = self.lock().jobs.get_mut(id) {
            info.state = state;
            info.resumes_at = resumes_at;
            info.error = error.map(str::to_string);
            info.updated_at = now;
        }
        Ok(())
    }

    fn job_pending_in(&self, id: &JobId, from: u64, to: u64) -> Result<Vec<JobItem>> {
        Ok(self.items_at(id, from, to.saturating_sub(from), |i| i.result.is_none()))
    }

    fn job_pending(&self, id: &JobId) -> Result<Vec<JobItem>> {
        Ok(self
            .lock()
            .jobs
            .get(id)
            .map_or_else(Vec::new, |(_, items)| {
                items
                    .iter()
                    .filter(|i| i.result.is_none())
                    .cloned()
                    .collect()
            }))
    }

    fn job_record(&self, id: &JobId, index: u64, result: &ItemResult, now: i64) -> Result<()> {
        let mut inner = self.lock();
        let Some((info, items)) = inner.jobs.get_mut(id) else {
            return Ok(());
        };
        let Some(item) = items.get_mut(index as usize) else {
            return Ok(());
        };
        if item.result.is_some() {
            return Ok(());
        }
        item.result = Some(slim_result(result));
        info.done += 1;
        info.updated_at = now;
        match result {
            ItemResult::Error { .. } => info.errors += 1,
            ItemResult::Lookup {
                from_cache: true, ..
            } => info.cache_hits += 1,
            ItemResult::Lookup { .. } => {}
        }
        Ok(())
    }

    fn job_items(&self, id: &JobId, offset: u64, limit: u64) -> Result<Vec<JobItem>> {
        Ok(self.items_at(id, offset, limit, |_| true))
    }

    fn job_delete(&self, id: &JobId) -> Result<bool> {
        Ok(self.lock().jobs.remove(id).is_some())
    }

    fn shares_quota(&self) -> bool {
        self.quota.is_some()
    }

    fn quota_acquire(&self, req: &QuotaRequest<'_>) -> Result<SharedGrant> {
        match &self.quota {
            Some(q) => q.quota_acquire(req),
            None => Ok(SharedGrant::Granted(req.cost)),
        }
    }

    fn quota_release(&self, req: &QuotaRequest<'_>) -> Result<()> {
        match &self.quota {
            Some(q) => q.quota_release(req),
            None => Ok(()),
        }
    }
}
