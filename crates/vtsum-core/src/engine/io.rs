//! A run's store round trips. Each is one call on a Tokio blocking thread
//! ([`store::blocking`]) doing everything one step needs (look in the cache, record the
//! row, release the claim), so a run never blocks a runtime worker thread on a disk or a
//! Redis round trip, and takes one hop per step rather than one per store call.
//!
//! The async side (`record`, `take`) then counts progress and tells the watchers, after
//! the store holds the result.

use std::sync::Arc;
use std::time::Duration;

use super::now_unix;
use crate::error::Result;
use crate::hash::Hash;
use crate::report::{CacheEntry, ItemResult, ObjectEntry};
pub(super) use crate::store::Freshness;
use crate::store::{self, off_runtime, JobId, JobState, Store};
use crate::target::Target;

/// What a cache look found for one item.
pub(super) type Looked = Option<ItemResult>;

/// What became of an item taken from the queue.
pub(super) enum Take {
    /// The cache had it (recorded in the job).
    Answered(ItemResult),
    Send,
    /// Another process is asking VirusTotal for it: look again soon.
    HeldElsewhere,
}

/// The run's handle on the store: everything a blocking call needs, owned.
#[derive(Clone)]
pub(super) struct Io {
    pub store: Arc<dyn Store>,
    pub job: JobId,
    pub fresh: Freshness,
    /// Whether other processes share the store: hashes are then claimed before asking.
    pub shared: bool,
    /// Names this run's claims among every process's.
    pub token: String,
    /// How long a claim lasts if its holder dies.
    pub claim_ttl: Duration,
}

impl Io {
    /// Answers from the cache what it holds fresh of `items` and records those results in
    /// the job, in one blocking call ([`Store::job_answer_from_cache`]: on SQLite one
    /// statement inside the store, elsewhere one batched read and one write). Returns the
    /// items and the results recorded, in input order.
    pub async fn answer_from_cache(
        self,
        items: Vec<(u64, Hash)>,
    ) -> (Vec<(u64, Hash)>, Result<Vec<(u64, ItemResult)>>) {
        let (store, job, fresh) = (self.store.clone(), self.job.clone(), self.fresh);
        let (items, answered) = off_runtime("the cache pass", move || {
            let answered = store.job_answer_from_cache(&job, &items, &fresh, now_unix());
            Ok((items, answered))
        })
        .await
        .unwrap_or_else(|e| (Vec::new(), Err(e)));
        (items, answered)
    }

    /// The cache's answer for `target` if it is fresh, as a result of this job: the file
    /// cache for a hash, the objects' for a URL, a domain or an IP address.
    fn fresh_answer(&self, target: &Target) -> Result<Looked> {
        let answer = match target {
            Target::File(hash) => self
                .store
                .cache_get(hash)?
                .map(|entry| (entry.lookup, entry.fetched_at)),
            Target::Object { value, .. } => self
                .store
                .object_get(target.kind(), value)?
                .map(|entry| (entry.lookup, entry.fetched_at)),
        };
        Ok(answer
            .filter(|(lookup, at)| self.fresh.admits_answer(lookup, *at, now_unix()))
            .map(|(lookup, fetched_at)| ItemResult::Lookup {
                lookup,
                from_cache: true,
                fetched_at,
            }))
    }

    /// Looks for one item in the cache, and records it in the job if it is fresh.
    fn look(&self, index: u64, target: &Target) -> Result<Looked> {
        let found = self.fresh_answer(target)?;
        if let Some(result) = &found {
            self.store
                .job_record(&self.job, index, result, now_unix())?;
        }
        Ok(found)
    }

    /// Takes one item: answered from the cache if another job or process fetched it
    /// meanwhile; else, on a shared store, claimed (the holder stores the answer before it
    /// lets go, so the cache is looked at once more after claiming).
    pub async fn take(&self, index: u64, target: &Target) -> Result<Take> {
        let (io, target) = (self.clone(), target.clone());
        off_runtime("taking a hash", move || {
            if let Some(result) = io.look(index, &target)? {
                return Ok(Take::Answered(result));
            }
            if !io.shared {
                return Ok(Take::Send);
            }
            let key = target.key();
            if !io.store.hash_claim(&key, &io.token, io.claim_ttl)? {
                return Ok(Take::HeldElsewhere);
            }
            if let Some(result) = io.look(index, &target)? {
                io.release_now(std::slice::from_ref(&key));
                return Ok(Take::Answered(result));
            }
            Ok(Take::Send)
        })
        .await
    }

    /// Saves a result: into the cache (a lookup VirusTotal answered, when `cache`), then
    /// the job's row, then lets other processes ask for the hash again.
    pub async fn save(
        &self,
        index: u64,
        target: &Target,
        result: &ItemResult,
        cache: bool,
    ) -> Result<()> {
        let (io, target, result) = (self.clone(), target.clone(), result.clone());
        off_runtime("saving a result", move || {
            if let (
                true,
                ItemResult::Lookup {
                    lookup, fetched_at, ..
                },
            ) = (cache, &result)
            {
                match &target {
                    Target::File(hash) => io.store.cache_put(&CacheEntry {
                        queried: hash.clone(),
                        lookup: lookup.clone(),
                        fetched_at: *fetched_at,
                    })?,
                    Target::Object { value, .. } => io.store.object_put(&ObjectEntry {
                        kind: target.kind(),
                        value: value.clone(),
                        lookup: lookup.clone(),
                        fetched_at: *fetched_at,
                    })?,
                }
            }
            io.store.job_record(&io.job, index, &result, now_unix())?;
            io.release_now(std::slice::from_ref(&target.key()));
            Ok(())
        })
        .await
    }

    /// Lets other processes ask for these hashes again (a failure only logs: claims lapse
    /// on their own).
    pub async fn release(&self, keys: Vec<String>) {
        if !self.shared || keys.is_empty() {
            return;
        }
        let io = self.clone();
        let _ = off_runtime("releasing claims", move || {
            io.release_now(&keys);
            Ok(())
        })
        .await;
    }

    /// Lets other processes ask for these targets (by [`Target::key`]) again.
    fn release_now(&self, keys: &[String]) {
        if !self.shared {
            return;
        }
        for key in keys {
            if let Err(e) = self.store.hash_release(key, &self.token) {
                tracing::debug!("cannot release a claim ({e}); it lapses on its own");
            }
        }
    }

    /// Records the job's state.
    pub async fn set_state(
        &self,
        state: JobState,
        resumes_at: Option<i64>,
        error: Option<String>,
    ) -> Result<()> {
        let job = self.job.clone();
        store::blocking(&self.store, move |s| {
            s.job_set_state(&job, state, resumes_at, error.as_deref(), now_unix())
        })
        .await
    }
}
