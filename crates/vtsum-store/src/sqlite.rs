//! The embedded SQLite store, vtsum's default: one file, zero set-up.
//!
//! Schema (version 1, in `PRAGMA user_version`):
//! - `cache(id, kind, fetched_at, entry)`: one row per answer, `id` the sha256 of a found
//!   file or the queried hash of an unknown one, `entry` the JSON [`CacheEntry`];
//!   `cache_alias(hash, id)` finds a row by any of md5, sha1 and sha256.
//! - `ledger(key_id, day, used)`: requests per key id per UTC day. Never the key itself.
//! - `jobs(...)` and `job_items(job_id, idx, hash, result)`: a job's hashes and their
//!   results as JSON [`ItemResult`]s, `NULL` while pending.
//! - `quota_slots` and `hash_claims`: each key's sliding windows and the hashes in flight,
//!   shared by every process on the file (see [`super::sqlite_quota`]).
//! - `cache_counts`: the cache's found / unknown / bytes, kept by triggers on `cache` in
//!   every write's own transaction (whichever process writes), so `cache_stats` reads one
//!   row instead of counting a big cache on every front page.
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

use crate::codec::decode_entry;
use crate::sqlite_pool::{open_writer, Reader, Readers};
use crate::sqlite_quota;
use crate::sqlite_rows::{
    finish_item, finish_job, item_from_row, job_from_row, record_items, JOB_COLUMNS, SCHEMA,
};
use crate::{encode, entry_hashes, entry_kind, StoreError};
use vtsum_core::error::{Error, Result};
use vtsum_core::hash::Hash;
use vtsum_core::key::KeyId;
use vtsum_core::report::{CacheEntry, ItemResult};
use vtsum_core::store::{
    CacheStats, JobId, JobInfo, JobItem, JobSpec, JobState, QuotaRequest, SharedGrant, Store,
};

const SCHEMA_VERSION: i64 = 1;

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
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; {SCHEMA} {} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;",
            sqlite_quota::SCHEMA
        ))
        .map_err(wrap)?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            readers: Readers::new(path),
        })
    }

    /// The writer, for writes and read-then-write transactions.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A reader of the pool, for plain reads: never waits for the writer (only, when every
    /// reader is out, for one to come back).
    fn reader(&self) -> Result<Reader<'_>> {
        self.readers.get().map_err(|e| self.err(e))
    }

    fn err(&self, source: rusqlite::Error) -> Error {
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

    fn ping(&self) -> Result<()> {
        let conn = self.reader()?;
        conn.query_row("SELECT COUNT(*) FROM jobs WHERE id = ''", [], |r| {
            r.get::<_, i64>(0)
        })
        .map(drop)
        .map_err(|e| self.err(e))
    }

    fn cache_get(&self, hash: &Hash) -> Result<Option<CacheEntry>> {
        let conn = self.reader()?;
        // Cached: the hot path of every lookup, parsed once per connection.
        let mut stmt = conn
            .prepare_cached(
                "SELECT c.entry FROM cache_alias a JOIN cache c ON c.id = a.id WHERE a.hash = ?1",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([hash.as_str()]).map_err(|e| self.err(e))?;
        let Some(row) = rows.next().map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        // Decoded straight from SQLite's buffer, without a copy of the text.
        let text = row
            .get_ref(0)
            .and_then(|v| v.as_str().map_err(Into::into))
            .map_err(|e| self.err(e))?;
        decode_entry(text).map(Some)
    }

    fn cache_put(&self, entry: &CacheEntry) -> Result<()> {
        let (primary, all) = entry_hashes(entry);
        let kind = entry_kind(entry);
        let mut conn = self.conn();
        let run = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // A file that became known replaces the "unknown" answers for its hashes.
            for h in all.iter().filter(|h| **h != primary) {
                tx.execute(
                    "DELETE FROM cache WHERE id = ?1 AND kind = 'unknown'",
                    [h.as_str()],
                )?;
            }
            tx.execute(
                "INSERT INTO cache (id, kind, fetched_at, entry) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(id) DO UPDATE SET kind = excluded.kind,
                   fetched_at = excluded.fetched_at, entry = excluded.entry",
                params![primary, kind, entry.fetched_at, encode(entry)],
            )?;
            for h in &all {
                tx.execute(
                    "INSERT OR REPLACE INTO cache_alias (hash, id) VALUES (?1, ?2)",
                    params![h, primary],
                )?;
            }
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
        conn.execute("DELETE FROM cache_alias", [])
            .map_err(|e| self.err(e))?;
        let n = conn
            .execute("DELETE FROM cache", [])
            .map_err(|e| self.err(e))?;
        Ok(n as u64)
    }

    fn cache_export(&self, each: &mut dyn FnMut(CacheEntry) -> Result<()>) -> Result<()> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare("SELECT entry FROM cache ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        for text in rows {
            each(decode_entry(&text.map_err(|e| self.err(e))?)?)?;
        }
        Ok(())
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

    fn job_create(&self, id: &JobId, spec: &JobSpec, hashes: &[Hash], now: i64) -> Result<bool> {
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
                    stmt.execute(params![id.0, i as u64, h.as_str()])?;
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
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare(
                "SELECT idx, hash, result FROM job_items
                 WHERE job_id = ?1 AND result IS NULL ORDER BY idx",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([&id.0], item_from_row)
            .map_err(|e| self.err(e))?;
        rows.map(|r| finish_item(r.map_err(|e| self.err(e))?))
            .collect()
    }

    fn job_record(&self, id: &JobId, index: u64, result: &ItemResult, now: i64) -> Result<()> {
        self.job_record_many(id, &[(index, result)], now)
    }

    fn job_record_many(&self, id: &JobId, items: &[(u64, &ItemResult)], now: i64) -> Result<()> {
        let mut conn = self.conn();
        record_items(&mut conn, id, items, now).map_err(|e| self.err(e))
    }

    fn job_items(&self, id: &JobId, offset: u64, limit: u64) -> Result<Vec<JobItem>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare(
                "SELECT idx, hash, result FROM job_items WHERE job_id = ?1 AND idx >= ?2
                 ORDER BY idx LIMIT ?3",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![id.0, offset, limit], item_from_row)
            .map_err(|e| self.err(e))?;
        rows.map(|r| finish_item(r.map_err(|e| self.err(e))?))
            .collect()
    }

    fn job_delete(&self, id: &JobId) -> Result<bool> {
        let conn = self.conn();
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

    fn hash_claim(&self, hash: &Hash, token: &str, ttl: Duration) -> Result<bool> {
        sqlite_quota::claim(&mut self.conn(), hash, token, ttl).map_err(|e| self.err(e))
    }

    fn hash_release(&self, hash: &Hash, token: &str) -> Result<()> {
        sqlite_quota::unclaim(&self.conn(), hash, token).map_err(|e| self.err(e))
    }
}
