//! The embedded SQLite store, vtsum's default: one file, zero set-up.
//!
//! Schema (version 4, in `PRAGMA user_version`):
//! - `answers` and `documents`: the cache, a report's columns as columns and VirusTotal's
//!   document compressed apart (see [`super::sqlite_cache`]; version 1's JSON entries are
//!   converted when such a file is first opened).
//! - `objects`: URLs', domains' and IP addresses' answers, whole and compressed (see
//!   [`super::sqlite_objects`]).
//! - `ledger(key_id, day, used)`: requests per key id per UTC day. Never the key itself.
//! - `jobs(...)`, `job_items(job_id, idx, hash)` and `job_results`: a job's items (a hash,
//!   or a URL, domain or IP address as `vtsum_core::Target::stored` writes it) and the
//!   results recorded so far, as columns (see [`super::sqlite_results`]); a run's cache
//!   pass joins `job_items` to `answers` inside SQLite (see [`super::sqlite_answer`]).
//! - `job_text`: each result's searchable text, narrow, written by a trigger, so a text
//!   filter scans it instead of the wide results (see [`super::sqlite_search`]).
//! - `quota_slots` and `hash_claims`: each key's sliding windows and the hashes in flight,
//!   shared by every process on the file (see [`super::sqlite_quota`]).
//! - `watch_lists`, `watch_items`, `watch_history`, `watch_changes`, `watch_outbox` and
//!   `recheck_ledger`: watchlists, their answers and changes, the webhook outbox and what
//!   re-checks spent each day (see [`watch`], [`outbox`]).
//! - `cache_counts`: the cache's found / unknown / bytes, kept by triggers in every
//!   write's own transaction (whichever process writes).
//!
//! Several processes may share the file: WAL lets readers work beside a writer, a busy
//! timeout makes writers queue instead of failing, and every read-then-write runs in a
//! `BEGIN IMMEDIATE` transaction, which takes the write lock up front so two processes can
//! never deadlock upgrading read locks. Within a process, reads go through a pool of
//! reader connections and writes through one writer (see [`super::sqlite_pool`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::sqlite_answer;
use crate::sqlite_cache;
use crate::sqlite_objects;
use crate::sqlite_page;
use crate::sqlite_pool::{open_writer, Reader, Readers};
use crate::sqlite_quota;
use crate::sqlite_results;
use crate::sqlite_rows::{finish_job, job_from_row, record_items, JOB_COLUMNS, SCHEMA};
use crate::sqlite_search;
use crate::{encode, StoreError};
use vtsum_core::error::{Error, Result};
use vtsum_core::hash::Hash;
use vtsum_core::key::KeyId;
use vtsum_core::report::{CacheEntry, Document, ItemResult, ObjectEntry, RowOptions};
use vtsum_core::results::{ResultCounts, ResultPage, ResultQuery};
use vtsum_core::store::{
    CacheStats, Freshness, JobId, JobInfo, JobItem, JobSpec, JobState, QuotaRequest, SharedGrant,
    Store,
};
use vtsum_core::target::{Kind, Target};
use vtsum_core::watch::WatchStore;

mod outbox;
mod watch;

/// Hashes looked up in one query of `cache_get_many` (SQLite takes up to 32,766
/// parameters): as many as a scan's window.
const GET_MANY: usize = 16_384;

/// 4: each result's searchable text apart (`job_text`); 3: URLs, domains and IP addresses (`objects`, `job_results.object`); 2: the cache as
/// columns and compressed documents (`sqlite_cache`); 1 kept JSON entries.
const SCHEMA_VERSION: i64 = 4;

/// A SQLite file holding cache, ledger and jobs.
pub struct SqliteStore {
    path: PathBuf,
    /// The one connection that writes (and runs the quota transactions).
    conn: Mutex<Connection>,
    readers: Readers,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, and its parent directory.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        }
        let wrap = |source| -> Error {
            StoreError::Sqlite {
                path: path.to_path_buf(),
                source,
            }
            .into()
        };
        let conn = open_writer(path).map_err(wrap)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(wrap)?;
        if version > SCHEMA_VERSION {
            return Err(Error::Corrupt(format!(
                "{} was written by a newer vtsum (schema {version}); upgrade vtsum",
                path.display()
            )));
        }
        // One write transaction taken up front, so processes opening the file together
        // queue on the busy handler instead of failing to upgrade a read lock.
        let mut conn = conn;
        let upgrade = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Read again under the lock: another process may have upgraded the file.
            let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
            tx.execute_batch(&format!(
                "{SCHEMA} {} {} {} {} {} {} {}",
                sqlite_cache::schema(),
                sqlite_results::schema(),
                sqlite_quota::SCHEMA,
                sqlite_objects::SCHEMA,
                sqlite_search::schema(),
                watch::SCHEMA,
                outbox::SCHEMA
            ))?;
            if version < 2 {
                sqlite_cache::migrate_v1(&tx)?;
                sqlite_results::migrate_v1(&tx)?;
            }
            sqlite_results::migrate_v2(&tx)?;
            if version < 4 {
                sqlite_search::migrate_v3(&tx)?;
            }
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            tx.commit()
        };
        upgrade(&mut conn).map_err(wrap)?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            readers: Readers::new(path),
        })
    }

    /// The writer, for writes and read-then-write transactions.
    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A reader of the pool, for plain reads: never waits for the writer (only, when every
    /// reader is out, for one to come back).
    pub(crate) fn reader(&self) -> Result<Reader<'_>> {
        self.readers.get().map_err(|e| self.err(e))
    }

    pub(crate) fn err(&self, source: rusqlite::Error) -> Error {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
        .into()
    }
}

impl Store for SqliteStore {
    fn describe(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    fn watches(self: std::sync::Arc<Self>) -> Option<std::sync::Arc<dyn WatchStore>> {
        Some(self)
    }

    fn ping(&self) -> Result<()> {
        let conn = self.reader()?;
        conn.query_row("SELECT COUNT(*) FROM jobs WHERE id = ''", [], |r| {
            r.get::<_, i64>(0)
        })
        .map(drop)
        .map_err(|e| self.err(e))
    }

    fn cache_get_many(&self, hashes: &[Hash]) -> Result<Vec<Option<CacheEntry>>> {
        let conn = self.reader()?;
        let mut out = Vec::with_capacity(hashes.len());
        // A scan's whole window in one query (see the engine's cache_first.rs); SQLite
        // takes up to 32,766 parameters, and the rows are read in table order.
        for chunk in hashes.chunks(GET_MANY) {
            let found = sqlite_cache::get_many(&conn, chunk, &|e| self.err(e))?;
            out.extend(found.into_iter().map(|f| f.map(|(_, entry)| entry)));
        }
        Ok(out)
    }

    fn cache_document(&self, hash: &Hash) -> Result<Option<Document>> {
        sqlite_cache::document(&*self.reader()?, hash, &|e| self.err(e))
    }

    fn cache_put_many(&self, entries: &[CacheEntry]) -> Result<()> {
        crate::check_files(entries)?;
        let mut conn = self.conn();
        let run = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            sqlite_cache::put_many(&tx, entries)?;
            tx.commit()
        };
        run(&mut conn).map_err(|e| self.err(e))
    }

    fn cache_stats(&self) -> Result<CacheStats> {
        let conn = self.reader()?;
        conn.query_row("SELECT found, unknown, bytes FROM cache_counts", [], |r| {
            Ok(CacheStats {
                found: r.get(0)?,
                unknown: r.get(1)?,
                bytes: r.get(2)?,
            })
        })
        .map_err(|e| self.err(e))
    }

    fn cache_clear(&self) -> Result<u64> {
        let conn = self.conn();
        let n = conn
            .execute("DELETE FROM answers", [])
            .map_err(|e| self.err(e))?;
        Ok(n as u64)
    }

    fn cache_export(&self, each: &mut dyn FnMut(CacheEntry) -> Result<()>) -> Result<()> {
        sqlite_cache::export(&*self.reader()?, each, &|e| self.err(e))
    }

    fn ledger_used(&self, key: &KeyId, day: &str) -> Result<u64> {
        let conn = self.reader()?;
        conn.query_row(
            "SELECT used FROM ledger WHERE key_id = ?1 AND day = ?2",
            params![key.0, day],
            |r| r.get(0),
        )
        .optional()
        .map(|n| n.unwrap_or(0))
        .map_err(|e| self.err(e))
    }

    fn ledger_add(&self, key: &KeyId, day: &str, n: u64) -> Result<u64> {
        let conn = self.conn();
        conn.query_row(
            "INSERT INTO ledger (key_id, day, used) VALUES (?1, ?2, ?3)
             ON CONFLICT(key_id, day) DO UPDATE SET used = used + excluded.used
             RETURNING used",
            params![key.0, day, n],
            |r| r.get(0),
        )
        .map_err(|e| self.err(e))
    }

    fn ledger_day(&self, day: &str) -> Result<BTreeMap<KeyId, u64>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare("SELECT key_id, used FROM ledger WHERE day = ?1")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([day], |r| Ok((KeyId(r.get(0)?), r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    fn job_create(&self, id: &JobId, spec: &JobSpec, hashes: &[Target], now: i64) -> Result<bool> {
        let mut conn = self.conn();
        let run = |conn: &mut Connection| -> rusqlite::Result<bool> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO jobs (id, spec, state, created_at, updated_at, total)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
                params![
                    id.0,
                    encode(spec),
                    JobState::Queued.as_str(),
                    now,
                    hashes.len() as u64
                ],
            )?;
            if inserted == 0 {
                return Ok(false);
            }
            {
                let mut stmt =
                    tx.prepare("INSERT INTO job_items (job_id, idx, hash) VALUES (?1, ?2, ?3)")?;
                for (i, h) in hashes.iter().enumerate() {
                    stmt.execute(params![id.0, i as u64, h.stored()])?;
                }
            }
            tx.commit()?;
            Ok(true)
        };
        run(&mut conn).map_err(|e| self.err(e))
    }

    fn job_get(&self, id: &JobId) -> Result<Option<JobInfo>> {
        let conn = self.reader()?;
        let row = conn
            .query_row(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
                [&id.0],
                job_from_row,
            )
            .optional()
            .map_err(|e| self.err(e))?;
        row.map(finish_job).transpose()
    }

    fn job_list(&self) -> Result<Vec<JobInfo>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs ORDER BY created_at DESC, rowid DESC"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], job_from_row).map_err(|e| self.err(e))?;
        rows.map(|r| finish_job(r.map_err(|e| self.err(e))?))
            .collect()
    }

    fn job_set_state(
        &self,
        id: &JobId,
        state: JobState,
        resumes_at: Option<i64>,
        error: Option<&str>,
        now: i64,
    ) -> Result<()> {
        let conn = self.conn();
        conn.execute(
            "UPDATE jobs SET state = ?2, resumes_at = ?3, error = ?4, updated_at = ?5 WHERE id = ?1",
            params![id.0, state.as_str(), resumes_at, error, now],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn job_pending(&self, id: &JobId) -> Result<Vec<JobItem>> {
        self.job_pending_in(id, 0, u64::MAX)
    }

    fn job_pending_in(&self, id: &JobId, from: u64, to: u64) -> Result<Vec<JobItem>> {
        // On the writer's connection: a run reads its pending items a window at a time
        // between its own writes of results, which leave the writer's page cache warm and
        // empty every reader's (a reader read each window's pages again, 5.5x the preads).
        sqlite_results::items(&self.conn(), id, from, to, true).map_err(|e| self.err(e))
    }

    fn job_record(&self, id: &JobId, index: u64, result: &ItemResult, now: i64) -> Result<()> {
        self.job_record_many(id, &[(index, result)], now)
    }

    fn job_record_many(&self, id: &JobId, items: &[(u64, &ItemResult)], now: i64) -> Result<()> {
        let mut conn = self.conn();
        record_items(&mut conn, id, items, now).map_err(|e| self.err(e))
    }

    fn job_answer_from_cache(
        &self,
        id: &JobId,
        items: &[(u64, Hash)],
        fresh: &Freshness,
        now: i64,
    ) -> Result<Vec<(u64, ItemResult)>> {
        sqlite_answer::answer(&mut self.conn(), id, items, fresh, now).map_err(|e| self.err(e))
    }

    fn job_items(&self, id: &JobId, offset: u64, limit: u64) -> Result<Vec<JobItem>> {
        let to = offset.saturating_add(limit);
        sqlite_results::items(&*self.reader()?, id, offset, to, false).map_err(|e| self.err(e))
    }

    fn job_page(&self, job: &JobInfo, query: &ResultQuery) -> Result<ResultPage> {
        // Verdicts are ranked by the job's threshold when recorded: another one is counted
        // the slow way.
        if query.options.threshold != job.spec.row_options.threshold {
            let read = |offset, limit| self.job_items(&job.id, offset, limit);
            return vtsum_core::results::scan_page(&read, query);
        }
        let objects = job.spec.objects > 0;
        sqlite_page::page(&*self.reader()?, &job.id, query, objects).map_err(|e| self.err(e))
    }

    fn job_counts(&self, job: &JobInfo, options: RowOptions) -> Result<ResultCounts> {
        if options.threshold != job.spec.row_options.threshold {
            let read = |offset, limit| self.job_items(&job.id, offset, limit);
            return vtsum_core::results::scan_counts(&read, options);
        }
        sqlite_page::counts(&*self.reader()?, &job.id).map_err(|e| self.err(e))
    }

    fn job_delete(&self, id: &JobId) -> Result<bool> {
        let conn = self.conn();
        conn.execute("DELETE FROM job_results WHERE job_id = ?1", [&id.0])
            .map_err(|e| self.err(e))?;
        conn.execute("DELETE FROM job_text WHERE job_id = ?1", [&id.0])
            .map_err(|e| self.err(e))?;
        conn.execute("DELETE FROM job_items WHERE job_id = ?1", [&id.0])
            .map_err(|e| self.err(e))?;
        let n = conn
            .execute("DELETE FROM jobs WHERE id = ?1", [&id.0])
            .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }

    fn shares_quota(&self) -> bool {
        true
    }

    fn quota_acquire(&self, req: &QuotaRequest<'_>) -> Result<SharedGrant> {
        sqlite_quota::acquire(&mut self.conn(), req).map_err(|e| self.err(e))
    }

    fn quota_release(&self, req: &QuotaRequest<'_>) -> Result<()> {
        sqlite_quota::release(&mut self.conn(), req).map_err(|e| self.err(e))
    }

    fn hash_claim(&self, key: &str, token: &str, ttl: Duration) -> Result<bool> {
        sqlite_quota::claim(&mut self.conn(), key, token, ttl).map_err(|e| self.err(e))
    }

    fn hash_release(&self, key: &str, token: &str) -> Result<()> {
        sqlite_quota::unclaim(&self.conn(), key, token).map_err(|e| self.err(e))
    }

    fn object_get(&self, kind: Kind, value: &str) -> Result<Option<ObjectEntry>> {
        sqlite_objects::get(&*self.reader()?, kind, value)
    }

    fn object_put(&self, entry: &ObjectEntry) -> Result<()> {
        crate::check_object(entry)?;
        sqlite_objects::put(&self.conn(), entry).map_err(|e| self.err(e))
    }
}
