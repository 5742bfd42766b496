//! A run's cache pass inside SQLite ([`Store::job_answer_from_cache`]): one
//! `INSERT … SELECT` joins a chunk of the job's items to `answers` and writes the fresh
//! ones as `job_results` rows, with `RETURNING` handing the rows back for the run's
//! watchers. No answer crosses into Rust and back, and the lookups run on the writer's
//! connection, whose page cache its own commits leave warm (a reader's is emptied by
//! every commit of the writer).
//!
//! It must answer exactly as the lookups do ([`answer_from_cache_by_lookups`], which the
//! store suite compares it with): a hash finds the row whose `id` it is, or for an md5 or
//! sha1 the found file with that hash, which wins over an unknown answer for the same
//! hash; freshness is [`Freshness::admits`] in SQL; the verdict is
//! [`Verdict::of`] ranked as `sqlite_results` ranks it.
//!
//! [`Store::job_answer_from_cache`]: vtsum_core::store::Store::job_answer_from_cache
//! [`answer_from_cache_by_lookups`]: vtsum_core::store::answer_from_cache_by_lookups
//! [`Verdict::of`]: vtsum_core::report::Verdict::of

use rusqlite::{params, Connection, TransactionBehavior};

use crate::sqlite_columns::FILE_COLUMNS;
use crate::sqlite_results::{rank, read_result, threshold};
use vtsum_core::hash::{Hash, HashKind};
use vtsum_core::report::{ItemResult, Verdict};
use vtsum_core::store::{Freshness, JobId};

/// The statement: `?1` job, `?2` the items' indexes as a JSON list, `?3` now, `?4` and
/// `?5` the max ages (found, unknown) in seconds, `?6` fetched-after or NULL, `?7` the
/// job's threshold (at least 1).
fn statement(kind: HashKind) -> String {
    // A found file wins over an unknown answer for one of its md5 or sha1 (SQLite keeps
    // both when the unknown one came later); a sha256 names one row.
    let other = |column: &str| {
        format!(
            "a.n = (SELECT n FROM (
               SELECT n, found FROM answers WHERE id = unhex(i.hash)
               UNION ALL
               SELECT n, found FROM answers WHERE {column} = unhex(i.hash)
             ) ORDER BY found DESC LIMIT 1)"
        )
    };
    let lookup = match kind {
        HashKind::Sha256 => "a.id = unhex(i.hash)".to_string(),
        HashKind::Md5 => other("md5"),
        HashKind::Sha1 => other("sha1"),
    };
    let file: Vec<String> = FILE_COLUMNS
        .split(", ")
        .map(|c| format!("CASE WHEN a.found THEN a.{c} END"))
        .collect();
    format!(
        "INSERT OR IGNORE INTO job_results (job_id, idx, input, outcome, verdict, from_cache,
             fetched_at, sha256, md5, sha1, message, {FILE_COLUMNS})
         SELECT i.job_id, i.idx, i.hash, CASE WHEN a.found THEN 0 ELSE 1 END,
             CASE WHEN NOT a.found THEN {unknown}
                  WHEN a.malicious >= ?7 THEN {malicious}
                  WHEN a.malicious > 0 OR a.suspicious > 0 THEN {suspicious}
                  WHEN a.analysed THEN {clean}
                  ELSE {unanalysed} END,
             1, a.fetched_at,
             CASE WHEN a.found THEN a.id END, CASE WHEN a.found THEN a.md5 END,
             CASE WHEN a.found THEN a.sha1 END, NULL, {file}
         FROM json_each(?2) e
         CROSS JOIN job_items i ON i.job_id = ?1 AND i.idx = e.value
         CROSS JOIN answers a ON {lookup}
         WHERE NOT EXISTS (SELECT 1 FROM job_results r WHERE r.job_id = ?1 AND r.idx = i.idx)
           AND max(?3 - a.fetched_at, 0) < CASE WHEN a.found THEN ?4 ELSE ?5 END
           AND (?6 IS NULL OR a.fetched_at > ?6)
         RETURNING idx, outcome, from_cache, fetched_at, sha256, md5, sha1, message,
             {FILE_COLUMNS}, object",
        unknown = rank(Verdict::Unknown),
        malicious = rank(Verdict::Malicious),
        suspicious = rank(Verdict::Suspicious),
        clean = rank(Verdict::Clean),
        unanalysed = rank(Verdict::Unanalysed),
        file = file.join(", "),
    )
}

/// Seconds as SQLite's integer (a max age past `i64::MAX` seconds is forever anyway).
fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Records the fresh cached answers for `items` in one `BEGIN IMMEDIATE` transaction,
/// with the job's counters; returns the results recorded, in input order.
pub(crate) fn answer(
    conn: &mut Connection,
    id: &JobId,
    items: &[(u64, Hash)],
    fresh: &Freshness,
    now: i64,
) -> rusqlite::Result<Vec<(u64, ItemResult)>> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let threshold = i64::from(threshold(&tx, id)?.max(1));
    let mut answered = Vec::new();
    // One statement per kind of hash, each with its one lookup; the items in hash order,
    // so the index is walked once a chunk instead of descended at random.
    for kind in [HashKind::Sha256, HashKind::Md5, HashKind::Sha1] {
        let mut chosen: Vec<&(u64, Hash)> = items
            .iter()
            .filter(|(_, hash)| hash.kind() == kind)
            .collect();
        if chosen.is_empty() {
            continue;
        }
        chosen.sort_unstable_by(|a, b| a.1.as_str().cmp(b.1.as_str()));
        let indexes: Vec<String> = chosen.iter().map(|(index, _)| index.to_string()).collect();
        let indexes = format!("[{}]", indexes.join(","));
        let mut stmt = tx.prepare_cached(&statement(kind))?;
        let rows = stmt.query_map(
            params![
                id.0,
                indexes,
                now,
                secs(fresh.max_age_found),
                secs(fresh.max_age_unknown),
                fresh.fetched_after,
                threshold
            ],
            |row| Ok((row.get::<_, u64>(0)?, read_result(row, 1)?)),
        )?;
        for row in rows {
            if let (index, Some(result)) = row? {
                answered.push((index, result));
            }
        }
    }
    if !answered.is_empty() {
        tx.execute(
            "UPDATE jobs SET done = done + ?2, cache_hits = cache_hits + ?2, updated_at = ?3
             WHERE id = ?1",
            params![id.0, answered.len() as i64, now],
        )?;
    }
    tx.commit()?;
    // RETURNING gives the rows in no promised order.
    answered.sort_unstable_by_key(|(index, _)| *index);
    Ok(answered)
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;
    use vtsum_core::hash::HashKind;

    /// The pass must look each item up by index: a plan that read the job's items for
    /// each item of a chunk made 100,000 cached hashes take minutes.
    #[test]
    fn every_table_is_searched_by_an_index_never_scanned() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&format!(
            "{} {} {}",
            crate::sqlite_rows::SCHEMA,
            crate::sqlite_cache::schema(),
            crate::sqlite_results::schema()
        ))
        .unwrap();
        for kind in [HashKind::Sha256, HashKind::Md5, HashKind::Sha1] {
            let mut stmt = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {}", super::statement(kind)))
                .unwrap();
            let plan: Vec<String> = stmt
                .query_map(
                    rusqlite::params!["j", "[0]", 0, 1, 1, None::<i64>, 3],
                    |r| r.get(3),
                )
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            let scans: Vec<&String> = plan
                .iter()
                .filter(|line| {
                    // The list of indexes itself, and the up to three rows one hash finds.
                    line.starts_with("SCAN")
                        && !line.contains("VIRTUAL TABLE")
                        && !line.contains("(subquery-")
                })
                .collect();
            assert!(scans.is_empty(), "{plan:#?}");
            // The list drives the loop: with it inside, every item of the job was read for
            // each item of the chunk (`job_id=?` alone).
            assert!(plan[0].starts_with("SCAN e VIRTUAL TABLE"), "{plan:#?}");
            assert!(!plan.iter().any(|l| l.contains("(job_id=?)")), "{plan:#?}");
        }
    }
}
