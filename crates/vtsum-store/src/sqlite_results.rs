//! Jobs' results in SQLite: one `job_results` row per finished item, its report as
//! columns ([`crate::sqlite_columns`]) and its verdict ranked by the job's threshold when
//! it is recorded, so a page of a million-row job is filtered, sorted and counted by one
//! query each instead of by reading every result.
//!
//! `job_items` keeps each job's input items (`Target::stored`); an item without a
//! `job_results` row is pending. A result is final: the first one recorded for an index
//! stays. A URL's, domain's or IP address's result keeps its counts and dates in the file
//! columns (so verdicts sort and filter alike) and the rest as JSON in `object`.

use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::sqlite_columns::{bind_file, bytes, hex, read_file, FILE_COLUMNS, FILE_COLUMN_DEFS};

/// How many columns [`FILE_COLUMNS`] names.
const FILE_COLUMN_COUNT: usize = 18;
use vtsum_core::report::{FileReport, ItemResult, Lookup, ObjectReport, Verdict};
use vtsum_core::store::{JobId, JobItem, JobSpec};
use vtsum_core::target::Target;

/// The results table.
pub(crate) fn schema() -> String {
    format!(
        "
CREATE TABLE IF NOT EXISTS job_results (
    job_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    input TEXT NOT NULL,
    outcome INTEGER NOT NULL,
    verdict INTEGER NOT NULL,
    from_cache INTEGER NOT NULL,
    fetched_at INTEGER NOT NULL,
    sha256 BLOB, md5 BLOB, sha1 BLOB,
    message TEXT,
    {FILE_COLUMN_DEFS},
    object TEXT,
    PRIMARY KEY (job_id, idx)
) WITHOUT ROWID;
"
    )
}

/// `outcome`: what a result is.
const FOUND: i64 = 0;
const UNKNOWN: i64 = 1;
const ERROR: i64 = 2;
/// A URL, a domain or an IP address VirusTotal knows (`object` holds it).
const OBJECT: i64 = 3;

/// A verdict's rank, worst first: how `verdict` is stored and sorted.
pub(crate) fn rank(verdict: Verdict) -> i64 {
    Verdict::ALL.iter().position(|v| *v == verdict).unwrap_or(0) as i64
}

/// The columns a result is read back from (after the index and input), each prefixed
/// with `r.`, in [`read_result`]'s order.
pub(crate) fn result_columns() -> String {
    let file: Vec<String> = FILE_COLUMNS.split(", ").map(|c| format!("r.{c}")).collect();
    format!(
        "r.outcome, r.from_cache, r.fetched_at, r.sha256, r.md5, r.sha1, r.message, {}, r.object",
        file.join(", ")
    )
}

/// A result from [`result_columns`] starting at column `first`; `None` when the row has no
/// result (a pending item in a `LEFT JOIN`).
pub(crate) fn read_result(
    row: &rusqlite::Row<'_>,
    first: usize,
) -> rusqlite::Result<Option<ItemResult>> {
    let Some(outcome) = row.get::<_, Option<i64>>(first)? else {
        return Ok(None);
    };
    let from_cache: bool = row.get(first + 1)?;
    let fetched_at: i64 = row.get(first + 2)?;
    let blob = |i: usize| -> rusqlite::Result<Option<String>> {
        Ok(row.get_ref(first + i)?.as_blob_or_null()?.map(hex))
    };
    let lookup = match outcome {
        ERROR => {
            let message: Option<String> = row.get(first + 6)?;
            return Ok(Some(ItemResult::Error {
                message: message.unwrap_or_default(),
            }));
        }
        FOUND => {
            let file = read_file(
                row,
                first + 7,
                blob(3)?.unwrap_or_default(),
                blob(4)?,
                blob(5)?,
            )?;
            Lookup::Found(Box::new(file))
        }
        OBJECT => {
            let text: Option<String> = row.get(first + 7 + FILE_COLUMN_COUNT)?;
            let object = text
                .and_then(|t| serde_json::from_str::<ObjectReport>(&t).ok())
                .ok_or_else(|| {
                    rusqlite::Error::FromSqlConversionFailure(
                        first + 7 + FILE_COLUMN_COUNT,
                        rusqlite::types::Type::Text,
                        "a job's URL, domain or IP address result does not decode".into(),
                    )
                })?;
            Lookup::Object(Box::new(object))
        }
        _ => Lookup::Unknown,
    };
    Ok(Some(ItemResult::Lookup {
        lookup,
        from_cache,
        fetched_at,
    }))
}

/// The threshold a job's verdicts are ranked by.
pub(crate) fn threshold(tx: &Connection, id: &JobId) -> rusqlite::Result<u32> {
    let spec: Option<String> = tx
        .query_row("SELECT spec FROM jobs WHERE id = ?1", [&id.0], |r| r.get(0))
        .optional()?;
    let spec: Option<JobSpec> = spec.and_then(|s| serde_json::from_str(&s).ok());
    Ok(spec.unwrap_or_default().row_options.threshold)
}

/// Records results in the caller's transaction, each only if its index has none yet.
/// Returns how many were new, how many of those came from the cache and were errors.
pub(crate) fn record(
    tx: &Transaction<'_>,
    id: &JobId,
    items: &[(u64, &ItemResult)],
) -> rusqlite::Result<(u64, u64, u64)> {
    let threshold = threshold(tx, id)?;
    let mut stmt = tx.prepare_cached(&format!(
        "INSERT OR IGNORE INTO job_results (job_id, idx, input, outcome, verdict, from_cache,
            fetched_at, sha256, md5, sha1, message, {FILE_COLUMNS}, object)
         SELECT job_id, idx, hash, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, {}, ?29
         FROM job_items WHERE job_id = ?1 AND idx = ?2",
        (11..29)
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))?;
    let (mut done, mut hits, mut errors) = (0, 0, 0);
    for (index, result) in items {
        stmt.raw_bind_parameter(1, &id.0)?;
        stmt.raw_bind_parameter(2, index)?;
        let mut file = None;
        let mut object = None;
        let (outcome, verdict, from_cache, fetched_at, message) = match result {
            ItemResult::Error { message } => (ERROR, Verdict::Error, false, 0, Some(message)),
            ItemResult::Lookup {
                lookup,
                from_cache,
                fetched_at,
            } => match lookup {
                Lookup::Unknown => (UNKNOWN, Verdict::Unknown, *from_cache, *fetched_at, None),
                Lookup::Found(f) => {
                    file = Some(f);
                    let verdict = Verdict::of(&f.stats, f.analysed, threshold);
                    (FOUND, verdict, *from_cache, *fetched_at, None)
                }
                Lookup::Object(o) => {
                    object = Some(o);
                    let verdict = Verdict::of(&o.stats, o.analysed, threshold);
                    (OBJECT, verdict, *from_cache, *fetched_at, None)
                }
            },
        };
        stmt.raw_bind_parameter(3, outcome)?;
        stmt.raw_bind_parameter(4, rank(verdict))?;
        stmt.raw_bind_parameter(5, from_cache)?;
        stmt.raw_bind_parameter(6, fetched_at)?;
        let hash = |h: Option<&String>| h.map_or(Value::Null, |h| Value::Blob(bytes(h)));
        stmt.raw_bind_parameter(7, hash(file.map(|f| &f.sha256)))?;
        stmt.raw_bind_parameter(8, hash(file.and_then(|f| f.md5.as_ref())))?;
        stmt.raw_bind_parameter(9, hash(file.and_then(|f| f.sha1.as_ref())))?;
        stmt.raw_bind_parameter(10, message)?;
        let counted = object.map(|o| Box::new(object_columns(o)));
        match file.or(counted.as_ref()) {
            Some(f) => bind_file(&mut stmt, 11, f)?,
            None => (11..29).try_for_each(|i| stmt.raw_bind_parameter(i, Value::Null))?,
        }
        let object = object.map(|o| {
            let slim = ObjectReport {
                engines: Default::default(),
                document: None,
                ..(**o).clone()
            };
            serde_json::to_string(&slim).expect("an object report serialises")
        });
        stmt.raw_bind_parameter(29, object)?;
        if stmt.raw_execute()? == 1 {
            done += 1;
            match result {
                ItemResult::Error { .. } => errors += 1,
                ItemResult::Lookup { from_cache, .. } => hits += u64::from(*from_cache),
            }
        }
    }
    Ok((done, hits, errors))
}

/// What the file columns hold of a URL, domain or IP address: the counts, dates, tags
/// and reputation the verdict and the sort read.
fn object_columns(o: &ObjectReport) -> FileReport {
    FileReport {
        stats: o.stats,
        analysed: o.analysed,
        threat_label: o.threat_names.first().cloned(),
        tags: o.tags.clone(),
        first_seen: o.first_seen,
        last_seen: o.last_seen,
        last_analysis: o.last_analysis,
        reputation: o.reputation,
        ..FileReport::default()
    }
}

/// Items of a job in input order from `from` (exclusive of `to`), with their results, or
/// only the pending ones.
pub(crate) fn items(
    conn: &Connection,
    id: &JobId,
    from: u64,
    to: u64,
    pending_only: bool,
) -> rusqlite::Result<Vec<JobItem>> {
    let pending = if pending_only {
        "AND r.idx IS NULL"
    } else {
        ""
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT i.idx, i.hash, {} FROM job_items i
         LEFT JOIN job_results r ON r.job_id = i.job_id AND r.idx = i.idx
         WHERE i.job_id = ?1 AND i.idx >= ?2 AND i.idx < ?3 {pending} ORDER BY i.idx",
        result_columns()
    ))?;
    let to = i64::try_from(to).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![id.0, from, to], |row| {
        let text: String = row.get(1)?;
        let target = Target::parse_stored(&text).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                1,
                rusqlite::types::Type::Text,
                format!("bad job item {text:?}").into(),
            )
        })?;
        Ok(JobItem {
            index: row.get(0)?,
            target,
            result: read_result(row, 2)?,
        })
    })?;
    rows.collect()
}

/// Schema 3 adds `job_results.object` (URLs, domains, IP addresses) to older files, in the
/// caller's transaction.
pub(crate) fn migrate_v2(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let has_object: bool = tx.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('job_results') WHERE name = 'object'",
        [],
        |r| r.get(0),
    )?;
    if !has_object {
        tx.execute_batch("ALTER TABLE job_results ADD COLUMN object TEXT;")?;
    }
    Ok(())
}

/// Moves schema 1's results (JSON in `job_items.result`) into `job_results`, in the
/// caller's transaction. A result that no longer decodes becomes pending again: it is
/// looked up anew (from the cache when it is there).
pub(crate) fn migrate_v1(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let has_result: bool = tx.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('job_items') WHERE name = 'result'",
        [],
        |r| r.get(0),
    )?;
    if !has_result {
        return Ok(());
    }
    let mut jobs: Vec<String> = Vec::new();
    {
        let mut stmt = tx.prepare("SELECT id FROM jobs")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        for id in rows {
            jobs.push(id?);
        }
    }
    for job in jobs {
        let id = JobId(job);
        let old: Vec<(u64, String)> = {
            let mut stmt = tx.prepare(
                "SELECT idx, result FROM job_items WHERE job_id = ?1 AND result IS NOT NULL",
            )?;
            let rows = stmt.query_map([&id.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let results: Vec<(u64, ItemResult)> = old
            .iter()
            .filter_map(|(idx, text)| Some((*idx, vtsum_core::stored::decode_item(text).ok()?)))
            .collect();
        let refs: Vec<(u64, &ItemResult)> = results.iter().map(|(i, r)| (*i, r)).collect();
        record(tx, &id, &refs)?;
    }
    // The counters count what is kept.
    tx.execute_batch(
        "ALTER TABLE job_items DROP COLUMN result;
         UPDATE jobs SET
           done = (SELECT COUNT(*) FROM job_results r WHERE r.job_id = jobs.id),
           cache_hits = (SELECT COUNT(*) FROM job_results r
                         WHERE r.job_id = jobs.id AND r.from_cache),
           errors = (SELECT COUNT(*) FROM job_results r
                     WHERE r.job_id = jobs.id AND r.outcome = 2);",
    )
}
