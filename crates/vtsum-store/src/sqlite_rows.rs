//! The SQLite store's tables for the ledger and jobs (the schema), how their rows become
//! [`JobInfo`]s, and how results are recorded, apart from the store's queries in
//! `sqlite.rs` (results themselves: `sqlite_results`).

use rusqlite::{params, Connection, TransactionBehavior};

use crate::decode;
use crate::sqlite_results;
use vtsum_core::error::Result;
use vtsum_core::report::ItemResult;
use vtsum_core::store::{JobId, JobInfo, JobSpec, JobState};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ledger (
    key_id TEXT NOT NULL,
    day TEXT NOT NULL,
    used INTEGER NOT NULL,
    PRIMARY KEY (key_id, day)
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    total INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    cache_hits INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    resumes_at INTEGER,
    error TEXT
);
CREATE TABLE IF NOT EXISTS job_items (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (job_id, idx)
) WITHOUT ROWID;
";

pub(super) fn job_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(JobInfo, String)> {
    let spec: String = row.get(1)?;
    let state: String = row.get(2)?;
    let info = JobInfo {
        id: JobId(row.get(0)?),
        spec: JobSpec::default(),
        state: JobState::parse(&state).unwrap_or(JobState::Failed),
        created_at: row.get(3)?,
        updated_at: row.get(4)?,
        total: row.get(5)?,
        done: row.get(6)?,
        cache_hits: row.get(7)?,
        errors: row.get(8)?,
        resumes_at: row.get(9)?,
        error: row.get(10)?,
    };
    Ok((info, spec))
}

pub(super) const JOB_COLUMNS: &str =
    "id, spec, state, created_at, updated_at, total, done, cache_hits, errors, resumes_at, error";

pub(super) fn finish_job((mut info, spec): (JobInfo, String)) -> Result<JobInfo> {
    info.spec = decode(&spec)?;
    Ok(info)
}

/// Records results of one job in one `BEGIN IMMEDIATE` transaction: each item only if it
/// has none yet (a result is final), and the job's counters once for all of them.
pub(crate) fn record_items(
    conn: &mut Connection,
    id: &JobId,
    items: &[(u64, &ItemResult)],
    now: i64,
) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (done, hits, errors) = sqlite_results::record(&tx, id, items)?;
    if done > 0 {
        tx.execute(
            "UPDATE jobs SET done = done + ?2, cache_hits = cache_hits + ?3,
               errors = errors + ?4, updated_at = ?5 WHERE id = ?1",
            params![id.0, done, hits, errors, now],
        )?;
    }
    tx.commit()
}
