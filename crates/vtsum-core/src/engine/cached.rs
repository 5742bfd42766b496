//! Answers straight from the cache, without a job: the one-hash lookup's fast path (a web
//! page expanding a row, an API client asking about one hash). A miss goes through a job
//! like any other hash, so quota, claims and retries stay in one place.

use super::io::Freshness;
use super::Engine;
use crate::error::Result;
use crate::hash::Hash;
use crate::report::ItemResult;

impl Engine {
    /// When a cached answer may stand for a new one: within `--max-age`
    /// (`--max-age-unknown` for an unknown hash) and, for `--refresh`, fetched after
    /// `fetched_after` (the job's creation).
    pub(super) fn freshness(&self, fetched_after: Option<i64>) -> Freshness {
        Freshness {
            max_age_found: self.cfg.max_age_found,
            max_age_unknown: self.cfg.max_age_unknown,
            fetched_after,
        }
    }

    /// The fresh cached answer for `hash`, if there is one; counts the cache hit. One store
    /// read: call it off the async threads.
    pub fn cached(&self, hash: &Hash) -> Result<Option<ItemResult>> {
        let Some(entry) = self
            .store
            .cache_get(hash)?
            .filter(|e| self.freshness(None).admits(e))
        else {
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
