//! Where a run's results go: the cache (for lookups VirusTotal answered), the job's row,
//! and the run's watchers — in that order, so a watcher never sees a result the store does
//! not hold. The store's part is one blocking call per result ([`super::io`]).
//!
//! A result that arrives while the store is unreachable (a Redis restart) is kept in the
//! run and saved when the store is back: the request was paid for, so its answer must not
//! be lost.

use super::run::{Run, Unsaved, Work};
use super::{now_unix, Event};
use crate::error::Result;
use crate::report::{ItemResult, Lookup};
use crate::target::Target;

impl Run<'_> {
    /// Counts a cache look: a hit always, a miss only on the first look at an item (a
    /// re-check before sending does not count).
    pub(super) fn count_look(&self, hit: bool, first_look: bool) {
        let mut metrics = self.engine.metrics_mut();
        if hit {
            metrics.cache_hits += 1;
        } else if first_look {
            metrics.cache_misses += 1;
        }
    }

    /// Saves a lookup VirusTotal answered, or keeps it for later if the store is away.
    pub(super) async fn save_lookup(&mut self, work: Work, lookup: Lookup) -> Result<()> {
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
        .await
    }

    /// Saves a final error row, or keeps it for later if the store is away.
    pub(super) async fn save_error(&mut self, work: Work, message: String) -> Result<()> {
        let result = ItemResult::Error { message };
        self.save(Unsaved {
            work,
            result,
            cache: false,
        })
        .await
    }

    async fn save(&mut self, unsaved: Unsaved) -> Result<()> {
        if !self.unsaved.is_empty() {
            // Keep the order: the store is known to be away.
            self.unsaved.push(unsaved);
            return Ok(());
        }
        match self.try_save(&unsaved).await {
            Err(e) if e.is_unavailable() => {
                self.store_away(&e);
                self.unsaved.push(unsaved);
                Ok(())
            }
            other => other,
        }
    }

    /// Saves what waited for the store; stops at the first failure.
    pub(super) async fn flush_unsaved(&mut self) -> Result<()> {
        while !self.unsaved.is_empty() {
            let first = self.unsaved.remove(0);
            if let Err(e) = self.try_save(&first).await {
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

    async fn try_save(&mut self, unsaved: &Unsaved) -> Result<()> {
        let Unsaved {
            work,
            result,
            cache,
        } = unsaved;
        self.io
            .save(work.index, &work.target, result, *cache)
            .await?;
        self.recorded(work.index, &work.target, result.clone());
        Ok(())
    }

    /// Counts a result the store now holds and tells the watchers.
    pub(super) fn recorded(&mut self, index: u64, target: &Target, result: ItemResult) {
        self.progress.done += 1;
        self.release_weak(target);
        match &result {
            ItemResult::Error { .. } => self.progress.errors += 1,
            ItemResult::Lookup {
                from_cache: true, ..
            } => self.progress.cache_hits += 1,
            ItemResult::Lookup { .. } => {}
        }
        (self.sink)(&Event::Item {
            index,
            target: target.clone(),
            result,
        });
    }
}
