//! Answers straight from the cache, without a job: the one-hash lookup's fast path (a web
//! page expanding a row, an API client asking about one hash). A miss goes through a job
//! like any other hash, so quota, claims and retries stay in one place.

use super::{now_unix, Engine};
use crate::error::Result;
use crate::hash::Hash;
use crate::report::{CacheEntry, ItemResult, Lookup};

impl Engine {
    /// Whether a cached answer is still within `--max-age` (`--max-age-unknown` for an
    /// unknown hash).
    pub(crate) fn is_young(&self, entry: &CacheEntry) -> bool {
        let max_age = match entry.lookup {
            Lookup::Found(_) => self.cfg.max_age_found,
            Lookup::Unknown => self.cfg.max_age_unknown,
        };
        let age = now_unix().saturating_sub(entry.fetched_at);
        u64::try_from(age).unwrap_or(0) < max_age.as_secs()
    }

    /// The fresh cached answer for `hash`, if there is one; counts the cache hit. One store
    /// read: call it off the async threads.
    pub fn cached(&self, hash: &Hash) -> Result<Option<ItemResult>> {
        let Some(entry) = self.store.cache_get(hash)?.filter(|e| self.is_young(e)) else {
            return Ok(None);
        };
        self.metrics_mut().cache_hits += 1;
        Ok(Some(ItemResult::Lookup {
            lookup: entry.lookup,
            from_cache: true,
            fetched_at: entry.fetched_at,
        }))
    }
}
