//! `vtsum scan --store none` in bounded memory. The `none` store keeps jobs and answers in
//! maps (that is what it is for: nothing outlives the process), so a scan's every answer
//! sat in memory twice — in the cache and in the job's row — about 40 KB a row. A scan
//! writes them instead to an anonymous temporary file (unlinked at once, so it goes with
//! the process however it ends) and keeps, per row, where its answer is in the file. The
//! memory store underneath keeps the job's hashes and a stub of each result (its kind and
//! where it came from), so its counters, the pending list and the quota file work as they
//! did; the rows are read back from the file a page at a time, like any store's.
//!
//! The cache is kept the same way, found by a 64-bit fingerprint of each of a file's
//! hashes (checked against the entry read back), so an md5 and a sha256 of one file in
//! the same input still cost one request.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash as _, Hasher};
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex, MutexGuard};

use vtsum_core::key::KeyId;
use vtsum_core::report::ObjectEntry;
use vtsum_core::report::{CacheEntry, Document, ItemResult, Lookup};
use vtsum_core::store::{
    CacheStats, JobId, JobInfo, JobItem, JobSpec, JobState, QuotaRequest, SharedGrant, Store,
};
use vtsum_core::stored::{decode_entry, decode_item};
use vtsum_core::{Error, Hash, Kind, Result, Target};

/// Where a value is in the file: offset and length.
#[derive(Clone, Copy)]
struct At(u64, u32);

struct Spill {
    file: BufWriter<std::fs::File>,
    len: u64,
    /// Each job's rows: index → where its result is.
    rows: HashMap<JobId, Vec<Option<At>>>,
    /// Fingerprint of a hash → where its cached entry is.
    cache: HashMap<u64, At>,
}

/// A store whose answers live in a temporary file: see the module docs.
pub struct SpillStore {
    inner: Arc<dyn Store>,
    spill: Mutex<Spill>,
}

fn fingerprint(hash: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    hash.to_ascii_lowercase().hash(&mut h);
    h.finish()
}

fn io(e: std::io::Error) -> Error {
    Error::io("the scan's temporary file (in $TMPDIR)", e)
}

/// What the store underneath keeps of a result: enough for its counters.
fn stub(result: &ItemResult) -> ItemResult {
    match result {
        ItemResult::Error { .. } => ItemResult::Error {
            message: String::new(),
        },
        ItemResult::Lookup {
            from_cache,
            fetched_at,
            ..
        } => ItemResult::Lookup {
            lookup: Lookup::Unknown,
            from_cache: *from_cache,
            fetched_at: *fetched_at,
        },
    }
}

impl Spill {
    fn write(&mut self, value: &impl serde::Serialize) -> Result<At> {
        let bytes = serde_json::to_vec(value).map_err(|e| Error::Corrupt(e.to_string()))?;
        let len =
            u32::try_from(bytes.len()).map_err(|_| Error::Corrupt("answer too big".into()))?;
        self.file.write_all(&bytes).map_err(io)?;
        let at = At(self.len, len);
        self.len += u64::from(len);
        Ok(at)
    }

    /// The text written at `at`; read back with `vtsum_core::stored`, which keeps a
    /// file's document as the text it is.
    fn read(&mut self, at: At) -> Result<String> {
        self.file.flush().map_err(io)?;
        let mut buf = vec![0u8; at.1 as usize];
        self.file
            .get_ref()
            .read_exact_at(&mut buf, at.0)
            .map_err(io)?;
        String::from_utf8(buf).map_err(|e| Error::Corrupt(e.to_string()))
    }
}

impl SpillStore {
    /// Wraps the `none` store; fails when no temporary file can be made.
    pub fn new(inner: Arc<dyn Store>) -> Result<SpillStore> {
        let file = tempfile::tempfile().map_err(io)?;
        Ok(SpillStore {
            inner,
            spill: Mutex::new(Spill {
                file: BufWriter::with_capacity(64 * 1024, file),
                len: 0,
                rows: HashMap::new(),
                cache: HashMap::new(),
            }),
        })
    }

    fn spill(&self) -> MutexGuard<'_, Spill> {
        self.spill.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The whole entry kept for `hash` (engines and document included).
    fn full_entry(&self, hash: &Hash) -> Result<Option<CacheEntry>> {
        let mut spill = self.spill();
        let Some(&at) = spill.cache.get(&fingerprint(hash.as_str())) else {
            return Ok(None);
        };
        let entry = decode_entry(&spill.read(at)?)?;
        let same = |h: &str| h.eq_ignore_ascii_case(hash.as_str());
        let matches = same(entry.queried.as_str())
            || match &entry.lookup {
                Lookup::Found(f) => {
                    same(&f.sha256)
                        || f.md5.as_deref().is_some_and(same)
                        || f.sha1.as_deref().is_some_and(same)
                }
                Lookup::Unknown | Lookup::Object(_) => false,
            };
        Ok(matches.then_some(entry))
    }
}

impl Store for SpillStore {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn ping(&self) -> Result<()> {
        self.inner.ping()
    }

    fn cache_get_many(&self, hashes: &[Hash]) -> Result<Vec<Option<CacheEntry>>> {
        hashes
            .iter()
            .map(|hash| {
                // Reports read no engines and no document, as from every store.
                Ok(self.full_entry(hash)?.as_ref().map(vtsum_store::slim_entry))
            })
            .collect()
    }

    fn cache_document(&self, hash: &Hash) -> Result<Option<Document>> {
        Ok(self
            .full_entry(hash)?
            .and_then(|entry| vtsum_store::entry_document(&entry)))
    }

    fn cache_put_many(&self, entries: &[CacheEntry]) -> Result<()> {
        entries.iter().try_for_each(|entry| self.cache_put(entry))
    }

    fn cache_put(&self, entry: &CacheEntry) -> Result<()> {
        let mut spill = self.spill();
        let at = spill.write(entry)?;
        let mut hashes = vec![entry.queried.to_string()];
        if let Lookup::Found(f) = &entry.lookup {
            hashes.push(f.sha256.clone());
            hashes.extend(f.md5.iter().chain(f.sha1.iter()).cloned());
        }
        for h in hashes {
            spill.cache.insert(fingerprint(&h), at);
        }
        Ok(())
    }

    fn cache_stats(&self) -> Result<CacheStats> {
        self.inner.cache_stats()
    }

    fn cache_clear(&self) -> Result<u64> {
        let mut spill = self.spill();
        let n = spill.cache.len() as u64;
        spill.cache.clear();
        Ok(n)
    }

    fn cache_export(&self, each: &mut dyn FnMut(CacheEntry) -> Result<()>) -> Result<()> {
        self.inner.cache_export(each)
    }

    fn ledger_used(&self, key: &KeyId, day: &str) -> Result<u64> {
        self.inner.ledger_used(key, day)
    }

    fn ledger_add(&self, key: &KeyId, day: &str, n: u64) -> Result<u64> {
        self.inner.ledger_add(key, day, n)
    }

    fn ledger_day(&self, day: &str) -> Result<BTreeMap<KeyId, u64>> {
        self.inner.ledger_day(day)
    }

    fn object_get(&self, kind: Kind, value: &str) -> Result<Option<ObjectEntry>> {
        // A scan's few URLs, domains and IP addresses stay in memory.
        self.inner.object_get(kind, value)
    }

    fn object_put(&self, entry: &ObjectEntry) -> Result<()> {
        self.inner.object_put(entry)
    }

    fn job_create(&self, id: &JobId, spec: &JobSpec, hashes: &[Target], now: i64) -> Result<bool> {
        self.inner.job_create(id, spec, hashes, now)
    }

    fn job_get(&self, id: &JobId) -> Result<Option<JobInfo>> {
        self.inner.job_get(id)
    }

    fn job_list(&self) -> Result<Vec<JobInfo>> {
        self.inner.job_list()
    }

    fn job_set_state(
        &self,
        id: &JobId,
        state: JobState,
        resumes_at: Option<i64>,
        error: Option<&str>,
        now: i64,
    ) -> Result<()> {
        self.inner.job_set_state(id, state, resumes_at, error, now)
    }

    fn job_pending(&self, id: &JobId) -> Result<Vec<JobItem>> {
        self.inner.job_pending(id)
    }

    fn job_pending_in(&self, id: &JobId, from: u64, to: u64) -> Result<Vec<JobItem>> {
        self.inner.job_pending_in(id, from, to)
    }

    fn job_record(&self, id: &JobId, index: u64, result: &ItemResult, now: i64) -> Result<()> {
        let mut spill = self.spill();
        let slot = spill
            .rows
            .get(id)
            .and_then(|rows| rows.get(index as usize))
            .copied()
            .flatten();
        if slot.is_some() {
            // The first result stays, as in every store.
            return Ok(());
        }
        let at = spill.write(result)?;
        let rows = spill.rows.entry(id.clone()).or_default();
        if rows.len() <= index as usize {
            rows.resize(index as usize + 1, None);
        }
        rows[index as usize] = Some(at);
        self.inner.job_record(id, index, &stub(result), now)
    }

    fn job_items(&self, id: &JobId, offset: u64, limit: u64) -> Result<Vec<JobItem>> {
        let mut items = self.inner.job_items(id, offset, limit)?;
        let mut spill = self.spill();
        for item in &mut items {
            let at = spill
                .rows
                .get(id)
                .and_then(|rows| rows.get(item.index as usize))
                .copied()
                .flatten();
            if let (Some(at), Some(_)) = (at, &item.result) {
                item.result = Some(decode_item(&spill.read(at)?)?);
            }
        }
        Ok(items)
    }

    fn job_delete(&self, id: &JobId) -> Result<bool> {
        self.spill().rows.remove(id);
        self.inner.job_delete(id)
    }

    fn hash_claim(&self, hash: &str, token: &str, ttl: std::time::Duration) -> Result<bool> {
        self.inner.hash_claim(hash, token, ttl)
    }

    fn hash_release(&self, hash: &str, token: &str) -> Result<()> {
        self.inner.hash_release(hash, token)
    }

    fn work_queue(&self) -> Option<Arc<dyn vtsum_core::queue::WorkQueue>> {
        self.inner.work_queue()
    }

    fn shares_quota(&self) -> bool {
        self.inner.shares_quota()
    }

    fn quota_acquire(&self, req: &QuotaRequest<'_>) -> Result<SharedGrant> {
        self.inner.quota_acquire(req)
    }

    fn quota_release(&self, req: &QuotaRequest<'_>) -> Result<()> {
        self.inner.quota_release(req)
    }
}
