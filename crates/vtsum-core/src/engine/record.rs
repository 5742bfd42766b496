//! Where a run's results go: the cache (for lookups VirusTotal answered), the job's row,
//! and the run's watchers — in that order, so a watcher never sees a result the store does
//! not hold.
//!
//! A result that arrives while the store is unreachable (a Redis restart) is kept in the
//! run and saved when the store is back: the request was paid for, so its answer must not
//! be lost.

use super::run::{Run, Work};
use super::{now_unix, Event};
use crate::error::Result;
use crate::hash::Hash;
use crate::report::{CacheEntry, ItemResult, Lookup};

/// A result waiting to be saved.
pub(super) struct Unsaved {
    pub work: Work,
    pub result: ItemResult,
    /// Whether the result is a fresh lookup that also goes into the cache.
    pub cache: bool,
}

impl Run<'_> {
    /// Answers an item from a fresh cached entry; returns whether it did. `first_look`
    /// says whether a miss counts in the metrics (a re-check before sending does not).
    pub(super) fn answer_from_cache(
        &mut self,
        index: u64,
        hash: &Hash,
        first_look: bool,
    ) -> Result<bool> {
        let entry = self.engine.store.cache_get(hash)?;
        let Some(entry) = entry.filter(|e| self.is_fresh(e)) else {
            if first_look {
                self.engine.metrics_mut().cache_misses += 1;
            }
            return Ok(false);
        };
        self.engine.metrics_mut().cache_hits += 1;
        let result = ItemResult::Lookup {
            lookup: entry.lookup,
            from_cache: true,
            fetched_at: entry.fetched_at,
        };
        self.record(index, hash, result)?;
        Ok(true)
    }

    fn is_fresh(&self, entry: &CacheEntry) -> bool {
        // `--refresh` wants answers fetched by this job, which also makes a resumed refresh
        // keep what it already fetched.
        self.engine.is_young(entry)
            && (!self.job.spec.refresh || entry.fetched_at > self.job.created_at)
    }

    /// Saves a lookup VirusTotal answered, or keeps it for later if the store is away.
    pub(super) fn save_lookup(&mut self, work: Work, lookup: Lookup) -> Result<()> {
        let result = ItemResult::Lookup {
            lookup,
            from_cache: false,
            fetched_at: now_unix(),
        };
        self.save(Unsaved {
            work,
            result,
            cache: true,
        })
    }

    /// Saves a final error row, or keeps it for later if the store is away.
    pub(super) fn save_error(&mut self, work: Work, message: String) -> Result<()> {
        let result = ItemResult::Error { message };
        self.save(Unsaved {
            work,
            result,
            cache: false,
        })
    }

    fn save(&mut self, unsaved: Unsaved) -> Result<()> {
        if !self.unsaved.is_empty() {
            // Keep the order: the store is known to be away.
            self.unsaved.push(unsaved);
            return Ok(());
        }
        match self.try_save(&unsaved) {
            Err(e) if e.is_unavailable() => {
                self.store_away(&e);
                self.unsaved.push(unsaved);
                Ok(())
            }
            other => other,
        }
    }

    /// Saves what waited for the store; stops at the first failure.
    pub(super) fn flush_unsaved(&mut self) -> Result<()> {
        while !self.unsaved.is_empty() {
            let first = self.unsaved.remove(0);
            if let Err(e) = self.try_save(&first) {
                // Saving again is harmless: the cache replaces, the job keeps the first.
                self.unsaved.insert(0, first);
                if !e.is_unavailable() {
                    return Err(e);
                }
                self.store_away(&e);
                return Ok(());
            }
        }
        Ok(())
    }

    fn try_save(&mut self, unsaved: &Unsaved) -> Result<()> {
        let Unsaved {
            work,
            result,
            cache,
        } = unsaved;
        if let (
            true,
            ItemResult::Lookup {
                lookup, fetched_at, ..
            },
        ) = (cache, result)
        {
            self.engine.store.cache_put(&CacheEntry {
                queried: work.hash.clone(),
                lookup: lookup.clone(),
                fetched_at: *fetched_at,
            })?;
        }
        self.record(work.index, &work.hash, result.clone())?;
        self.unclaim(&work.hash);
        Ok(())
    }

    pub(super) fn record(&mut self, index: u64, hash: &Hash, result: ItemResult) -> Result<()> {
        self.engine
            .store
            .job_record(&self.job.id, index, &result, now_unix())?;
        self.progress.done += 1;
        match &result {
            ItemResult::Error { .. } => self.progress.errors += 1,
            ItemResult::Lookup {
                from_cache: true, ..
            } => self.progress.cache_hits += 1,
            ItemResult::Lookup { .. } => {}
        }
        (self.sink)(&Event::Item {
            index,
            hash: hash.clone(),
            result,
        });
        Ok(())
    }
}
