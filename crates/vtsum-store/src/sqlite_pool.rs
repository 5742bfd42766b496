//! The SQLite store's connections: one writer and a small pool of readers on the same file.
//!
//! In WAL mode readers never wait for the writer nor for each other, so every read
//! (`cache_get`, the job and ledger reads, `cache_stats`, the health ping) takes a reader of
//! its own and many requests read at once; writes and the quota transactions keep the one
//! writer connection behind its lock, as SQLite allows one writer at a time anyway.
//!
//! The pool is a `Mutex<Vec<Connection>>` checkout with a `Condvar` rather than r2d2: no
//! dependency, the lock is held only to pop or push (never during a query), and readers are
//! opened on first need (a CLI that only writes opens none) up to a bound of a few per core;
//! when all are out a read waits for one to come back. Opening a reader per request beyond
//! the bound instead (tried first) cost more than the wait: each new connection reads and
//! parses the schema. Readers are `query_only`, so a read path can never write by mistake.
//! They do not map the file into memory (`mmap_size`): tried, it cost the all-cached scan,
//! whose writer writes every result beside the reads, a third of its speed.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// Readers per core: more than the cores can run, so a read waiting on the disk does not
/// hold the others up.
const READERS_PER_CORE: usize = 4;

/// How long a statement waits on a lock held by another connection or process.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// Opens the writer of the file at `path` (creating it) and switches the file to WAL.
pub(crate) fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // 16 KB pages for a new file (an existing file keeps its own): a compressed document
    // of ~1.6 KB fits ten to a page rather than two to a 4 KB page, half of it empty.
    conn.pragma_update(None, "page_size", 16384)?;
    // Switching to WAL does not wait on the busy handler: another process opening the
    // same new file at the same moment gets SQLITE_BUSY at once, so try again a while.
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    while let Err(e) = conn.pragma_update(None, "journal_mode", "WAL") {
        let busy = e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy);
        if !busy || std::time::Instant::now() > deadline {
            return Err(e);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// The reader connections of one database file.
pub(crate) struct Readers {
    path: PathBuf,
    pool: Mutex<Pool>,
    returned: Condvar,
    max: usize,
}

struct Pool {
    idle: Vec<Connection>,
    /// Readers open, idle or checked out.
    open: usize,
}

/// A reader checked out of the pool, given back when dropped.
pub(crate) struct Reader<'a> {
    readers: &'a Readers,
    conn: Option<Connection>,
}

impl Readers {
    pub fn new(path: &Path) -> Readers {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Readers {
            path: path.to_path_buf(),
            pool: Mutex::new(Pool {
                idle: Vec::new(),
                open: 0,
            }),
            returned: Condvar::new(),
            max: (cores * READERS_PER_CORE).clamp(4, 64),
        }
    }

    fn pool(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An idle reader, a new one while there are fewer than the bound, or the next one
    /// given back.
    pub fn get(&self) -> rusqlite::Result<Reader<'_>> {
        let mut pool = self.pool();
        loop {
            if let Some(conn) = pool.idle.pop() {
                return Ok(self.reader(conn));
            }
            if pool.open < self.max {
                pool.open += 1;
                drop(pool);
                return self.open().map(|conn| self.reader(conn)).inspect_err(|_| {
                    self.pool().open -= 1;
                });
            }
            pool = self.returned.wait(pool).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn reader(&self, conn: Connection) -> Reader<'_> {
        Reader {
            readers: self,
            conn: Some(conn),
        }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        // The writer created the file and switched it to WAL before any reader opens.
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "query_only", "ON")?;
        Ok(conn)
    }
}

impl Deref for Reader<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("present until dropped")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.readers.pool().idle.push(conn);
            self.readers.returned.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_stay_within_the_bound_and_see_the_writer_s_commits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pool.db");
        let writer = open_writer(&path).unwrap();
        writer
            .execute_batch("CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1);")
            .unwrap();
        let readers = Readers {
            max: 2,
            ..Readers::new(&path)
        };
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..20 {
                        let r = readers.get().unwrap();
                        let n: i64 = r
                            .query_row("SELECT SUM(n) FROM t", [], |r| r.get(0))
                            .unwrap();
                        assert!(n >= 1);
                        assert!(readers.pool().open <= 2, "more readers than the bound");
                    }
                });
            }
        });
        writer.execute("INSERT INTO t VALUES (2)", []).unwrap();
        let r = readers.get().unwrap();
        let n: i64 = r
            .query_row("SELECT SUM(n) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 3, "a reader sees what the writer committed");
        assert!(
            r.execute("INSERT INTO t VALUES (4)", []).is_err(),
            "readers cannot write"
        );
        drop(r);
        let pool = readers.pool();
        assert_eq!(pool.idle.len(), pool.open, "every reader came back");
    }
}
