//! The SQLite store's connections: one writer and a small pool of readers on the same file.
//!
//! In WAL mode readers never wait for the writer nor for each other, so every read
//! (`cache_get`, the job and ledger reads, `cache_stats`, the health ping) takes a reader of
//! its own and many requests read at once; writes and the quota transactions keep the one
//! writer connection behind its lock, as SQLite allows one writer at a time anyway.
//!
//! The pool is a `Mutex<Vec<Connection>>` checkout rather than r2d2: no dependency, the
//! lock is held only to pop or push (never during a query), readers are opened on first
//! need (a CLI that only writes opens none), and a read never waits for a free connection:
//! when all are out it opens another, and only [`IDLE_READERS`] are kept afterwards.
//! Readers are `query_only`, so a read path can never write by mistake.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// Readers kept open between requests: a few per core covers the blocking threads that
/// read at once on a small server, without holding many file handles.
const IDLE_READERS: usize = 8;

/// How long a statement waits on a lock held by another connection or process.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// Opens the writer of the file at `path` (creating it) and switches the file to WAL.
pub(crate) fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
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

/// The idle reader connections of one database file.
pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

/// A reader checked out of the pool, given back when dropped.
pub(crate) struct Reader<'a> {
    pool: &'a Readers,
    conn: Option<Connection>,
}

impl Readers {
    pub fn new(path: &Path) -> Readers {
        Readers {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// An idle reader, or a new one when every reader is in use.
    pub fn get(&self) -> rusqlite::Result<Reader<'_>> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open()?,
        };
        Ok(Reader {
            pool: self,
            conn: Some(conn),
        })
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
        let Some(conn) = self.conn.take() else { return };
        let spare = {
            let mut idle = self.pool.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < IDLE_READERS {
                idle.push(conn);
                None
            } else {
                Some(conn)
            }
        };
        // Closed outside the lock: closing can take a while (a WAL checkpoint).
        drop(spare);
    }
}
