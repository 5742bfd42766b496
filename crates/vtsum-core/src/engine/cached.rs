//! Answers straight from the cache, without a job: the one-hash lookup's fast path (a web
//! page expanding a row, an API client asking about one hash). A miss goes through a job
//! like any other hash, so quota, claims and retries stay in one place.

use super::io::Freshness;
use super::Engine;
use crate::error::Result;
use crate::hash::Hash;
use crate::report::{ItemResult, Lookup, ObjectEntry, Row, RowOptions, Status};
use crate::store::Store;
use crate::target::{Kind, Target};
use crate::vt::v3;

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
            .filter(|e| self.freshness(None).admits(e, super::now_unix()))
        else {
            return Ok(None);
        };
        self.metrics_mut().cache_hits += 1;
        Ok(Some(entry.into_result()))
    }
}

/// The report row of `target`'s result, with its per-engine results when `options` asks
/// for them: how every walk of a job's or a scan's rows builds one.
pub fn report_row(
    store: &dyn Store,
    target: &Target,
    result: &ItemResult,
    options: RowOptions,
) -> Result<Row> {
    let mut row = Row::from_result(target, result, options);
    if options.engines {
        fill_engines(store, &mut row)?;
    }
    Ok(row)
}

/// Fills a found row's per-engine results from the file's cached document: reports read
/// only the columns, so rows are built without them. A row whose file is no longer cached
/// keeps an empty list.
pub fn fill_engines(store: &dyn Store, row: &mut Row) -> Result<()> {
    let has = row.engines.as_ref().is_some_and(|e| !e.is_empty());
    if row.status != Status::Found || has {
        return Ok(());
    }
    if row.kind != Kind::File {
        // A URL's, domain's or IP address's cached answer is kept whole.
        let engines = match store.object_get(row.kind, &row.input)? {
            Some(ObjectEntry {
                lookup: Lookup::Object(object),
                ..
            }) => object.engines,
            _ => Default::default(),
        };
        row.engines = Some(engines);
        return Ok(());
    }
    let Some(hash) = row.sha256.as_deref().and_then(Hash::parse) else {
        return Ok(());
    };
    let engines = match store.cache_document(&hash)? {
        // A document the cache kept parses; one that does not shows no engines.
        Some(document) => v3::parse_file(document.text().as_bytes())
            .map(|file| file.engines)
            .unwrap_or_default(),
        None => Default::default(),
    };
    row.engines = Some(engines);
    Ok(())
}
