//! The SQLite store's cache: a report's columns as columns, VirusTotal's document apart
//! and compressed, read in batches.
//!
//! - `answers`: one row per answer. `id` is the sha256 of a found file or the asked hash of
//!   an unknown one, `md5`/`sha1` a found file's other hashes (indexed, so a file is found
//!   by any of its three), all as bytes (half the size of hex, in the table and in each
//!   index); then the columns every report shows. `asked` says which hash was asked for
//!   (0 sha256, 1 md5, 2 sha1).
//! - `documents`: a found file's v3 document, zstd-compressed ([`crate::packed`]), by the
//!   answer's row number; read only for per-engine results and exports.
//!
//! A batch of hashes is one query per hash kind (`id IN (…) OR md5 IN (…)`), not one per
//! hash. Files from schema 1 (one JSON entry a row, engines included) are converted when
//! first opened ([`migrate_v1`]).

use std::collections::HashMap;

use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Transaction};

use crate::entry_document;
use crate::packed::{pack, unpack};
use crate::sqlite_columns::{
    bind_file, bytes, hex, read_file, FILE_COLUMNS, FILE_COLUMN_DEFS, FILE_COUNT,
};
use vtsum_core::error::Result;
use vtsum_core::hash::{Hash, HashKind};
use vtsum_core::report::{CacheEntry, Document, Lookup};
use vtsum_core::stored::decode_entry;

/// The cache's tables, indexes and count triggers.
pub(crate) fn schema() -> String {
    format!(
        "
CREATE TABLE IF NOT EXISTS answers (
    n INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    md5 BLOB,
    sha1 BLOB,
    found INTEGER NOT NULL,
    asked INTEGER NOT NULL,
    fetched_at INTEGER NOT NULL,
    {FILE_COLUMN_DEFS}
);
CREATE INDEX IF NOT EXISTS answers_md5 ON answers(md5) WHERE md5 IS NOT NULL;
CREATE INDEX IF NOT EXISTS answers_sha1 ON answers(sha1) WHERE sha1 IS NOT NULL;
CREATE TABLE IF NOT EXISTS documents (n INTEGER PRIMARY KEY, zstd BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS cache_counts (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    found INTEGER NOT NULL,
    unknown INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
INSERT OR IGNORE INTO cache_counts (one, found, unknown, bytes) VALUES (1, 0, 0, 0);
-- The counts are kept by triggers, in every write's own transaction (whichever process
-- writes), so the front page reads one row instead of counting a big cache.
-- bytes: the stored hashes and compressed documents (the columns are small beside them).
CREATE TRIGGER IF NOT EXISTS answers_insert AFTER INSERT ON answers BEGIN
    UPDATE cache_counts SET found = found + NEW.found, unknown = unknown + 1 - NEW.found,
        bytes = bytes + LENGTH(NEW.id) + COALESCE(LENGTH(NEW.md5), 0)
            + COALESCE(LENGTH(NEW.sha1), 0);
END;
CREATE TRIGGER IF NOT EXISTS answers_update AFTER UPDATE ON answers BEGIN
    UPDATE cache_counts SET found = found - OLD.found + NEW.found,
        unknown = unknown - (1 - OLD.found) + (1 - NEW.found),
        bytes = bytes - COALESCE(LENGTH(OLD.md5), 0) - COALESCE(LENGTH(OLD.sha1), 0)
            + COALESCE(LENGTH(NEW.md5), 0) + COALESCE(LENGTH(NEW.sha1), 0);
END;
CREATE TRIGGER IF NOT EXISTS answers_delete AFTER DELETE ON answers BEGIN
    UPDATE cache_counts SET found = found - OLD.found, unknown = unknown - 1 + OLD.found,
        bytes = bytes - LENGTH(OLD.id) - COALESCE(LENGTH(OLD.md5), 0)
            - COALESCE(LENGTH(OLD.sha1), 0);
    DELETE FROM documents WHERE n = OLD.n;
END;
CREATE TRIGGER IF NOT EXISTS documents_insert AFTER INSERT ON documents BEGIN
    UPDATE cache_counts SET bytes = bytes + LENGTH(NEW.zstd);
END;
CREATE TRIGGER IF NOT EXISTS documents_update AFTER UPDATE ON documents BEGIN
    UPDATE cache_counts SET bytes = bytes - LENGTH(OLD.zstd) + LENGTH(NEW.zstd);
END;
CREATE TRIGGER IF NOT EXISTS documents_delete AFTER DELETE ON documents BEGIN
    UPDATE cache_counts SET bytes = bytes - LENGTH(OLD.zstd);
END;
"
    )
}

/// The columns every read of `answers` selects, in [`read_row`]'s order.
fn columns() -> String {
    format!("n, id, md5, sha1, found, asked, fetched_at, {FILE_COLUMNS}")
}

/// An answer's row read back: its number, the hex of each hash it is found by, the entry.
type Read = (i64, Vec<String>, CacheEntry);

fn bad_hash(column: usize, text: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        rusqlite::types::Type::Blob,
        format!("bad hash {text:?}").into(),
    )
}

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Read> {
    let (n, entry) = read_entry(row)?;
    let mut all = Vec::with_capacity(3);
    for column in 1..=3 {
        if let Some(blob) = row.get_ref(column)?.as_blob_or_null()? {
            all.push(hex(blob));
        }
    }
    Ok((n, all, entry))
}

/// An answer's row read back: its number and the entry.
fn read_entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, CacheEntry)> {
    let n: i64 = row.get(0)?;
    let id = hex(row.get_ref(1)?.as_blob()?);
    let md5 = row.get_ref(2)?.as_blob_or_null()?.map(hex);
    let sha1 = row.get_ref(3)?.as_blob_or_null()?.map(hex);
    let found: bool = row.get(4)?;
    let asked: u8 = row.get(5)?;
    let fetched_at: i64 = row.get(6)?;
    let queried_text = match asked {
        1 => md5.clone(),
        2 => sha1.clone(),
        _ => None,
    }
    .unwrap_or_else(|| id.clone());
    let queried = Hash::parse_owned(queried_text).ok_or_else(|| bad_hash(1, &id))?;
    let lookup = if found {
        Lookup::Found(Box::new(read_file(row, 7, id, md5, sha1)?))
    } else {
        Lookup::Unknown
    };
    let entry = CacheEntry {
        queried,
        lookup,
        fetched_at,
    };
    Ok((n, entry))
}

/// How the store reports SQLite's errors (with the file's path).
pub(crate) type Wrap<'a> = &'a dyn Fn(rusqlite::Error) -> vtsum_core::Error;

/// The rows matching `sql` (which selects [`COLUMNS`]) with `args`.
fn select(conn: &Connection, sql: &str, args: &[Vec<u8>], sqlite: Wrap<'_>) -> Result<Vec<Read>> {
    let mut stmt = conn.prepare_cached(sql).map_err(sqlite)?;
    let rows = stmt
        .query_map(params_from_iter(args), read_row)
        .map_err(sqlite)?;
    rows.map(|r| r.map_err(sqlite)).collect()
}

/// The answers for `hashes`, in order: one query per kind of hash asked. Each row is
/// matched to the hashes asked by its raw hash columns, through a map borrowing the asked
/// bytes, and moved into its place (cloned only for a second hash naming the same row):
/// a million cached hashes are read with no allocation beyond the entries themselves.
pub(crate) fn get_many(
    conn: &Connection,
    hashes: &[Hash],
    sqlite: Wrap<'_>,
) -> Result<Vec<Option<(i64, CacheEntry)>>> {
    let mut out: Vec<Option<(i64, CacheEntry)>> = vec![None; hashes.len()];
    for kind in [HashKind::Md5, HashKind::Sha1, HashKind::Sha256] {
        let at: Vec<usize> = (0..hashes.len())
            .filter(|&i| hashes[i].kind() == kind)
            .collect();
        if at.is_empty() {
            continue;
        }
        let asked: Vec<Vec<u8>> = at.iter().map(|&i| bytes(hashes[i].as_str())).collect();
        // Asked bytes → the first position asking them; `next` chains repeats.
        let mut first: HashMap<&[u8], usize, foldhash::fast::RandomState> =
            HashMap::with_capacity_and_hasher(asked.len(), Default::default());
        let mut next: Vec<Option<usize>> = vec![None; hashes.len()];
        for (k, &i) in at.iter().enumerate().rev() {
            next[i] = first.insert(&asked[k], i);
        }
        let marks = (1..=asked.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(",");
        let also = match kind {
            HashKind::Md5 => format!(" OR md5 IN ({marks})"),
            HashKind::Sha1 => format!(" OR sha1 IN ({marks})"),
            HashKind::Sha256 => String::new(),
        };
        // The rows are read in table order (the subquery's numbers, sorted), not in the
        // hashes' order: a batch's rows sharing a page then cost one read of it.
        let sql = format!(
            "SELECT {} FROM answers WHERE n IN \
             (SELECT n FROM answers WHERE id IN ({marks}){also})",
            columns()
        );
        let mut stmt = conn.prepare_cached(&sql).map_err(sqlite)?;
        let mut rows = stmt.query(params_from_iter(&asked)).map_err(sqlite)?;
        let mut places = Vec::new();
        while let Some(row) = rows.next().map_err(sqlite)? {
            places.clear();
            for column in 1..=3 {
                let Some(blob) = row
                    .get_ref(column)
                    .map_err(sqlite)?
                    .as_blob_or_null()
                    .map_err(|e| sqlite(e.into()))?
                else {
                    continue;
                };
                let mut place = first.get(blob).copied();
                while let Some(i) = place {
                    places.push(i);
                    place = next[i];
                }
            }
            let (n, entry) = read_entry(row).map_err(sqlite)?;
            let found = matches!(entry.lookup, Lookup::Found(_));
            // A found file wins over an unknown answer for one of its hashes.
            places.retain(|&i| {
                !out[i]
                    .as_ref()
                    .is_some_and(|(_, e)| matches!(e.lookup, Lookup::Found(_)) && !found)
            });
            if let Some((&last, rest)) = places.split_last() {
                for &i in rest {
                    out[i] = Some((n, entry.clone()));
                }
                out[last] = Some((n, entry));
            }
        }
    }
    Ok(out)
}

/// The document of the found file a hash names.
pub(crate) fn document(
    conn: &Connection,
    hash: &Hash,
    sqlite: Wrap<'_>,
) -> Result<Option<Document>> {
    let Some(Some((
        n,
        CacheEntry {
            lookup: Lookup::Found(_),
            ..
        },
    ))) = get_many(conn, std::slice::from_ref(hash), sqlite)?.pop()
    else {
        return Ok(None);
    };
    let packed: Option<Vec<u8>> = conn
        .query_row("SELECT zstd FROM documents WHERE n = ?1", [n], |r| r.get(0))
        .optional()
        .map_err(sqlite)?;
    packed.map(|p| unpack(&p)).transpose()
}

/// Writes answers in the caller's transaction.
pub(crate) fn put_many(tx: &Transaction<'_>, entries: &[CacheEntry]) -> rusqlite::Result<()> {
    for entry in entries {
        put(tx, entry)?;
    }
    Ok(())
}

fn put(tx: &Transaction<'_>, entry: &CacheEntry) -> rusqlite::Result<()> {
    let file = match &entry.lookup {
        Lookup::Found(file) => file,
        // Refused before the transaction (`check_files`): never here.
        Lookup::Object(_) => return Ok(()),
        Lookup::Unknown => {
            // The newest answer wins, whatever the one before said.
            let id = bytes(entry.queried.as_str());
            tx.prepare_cached("DELETE FROM answers WHERE id = ?1")?
                .execute([&id])?;
            tx.prepare_cached(
                "INSERT INTO answers (id, found, asked, fetched_at) VALUES (?1, 0, 0, ?2)",
            )?
            .execute(params![id, entry.fetched_at])?;
            return Ok(());
        }
    };
    let (id, md5, sha1) = (
        bytes(&file.sha256),
        file.md5.as_deref().map(bytes),
        file.sha1.as_deref().map(bytes),
    );
    // A file that became known replaces the "unknown" answers for its hashes.
    let mut forget = tx.prepare_cached("DELETE FROM answers WHERE id = ?1 AND found = 0")?;
    for other in [md5.as_ref(), sha1.as_ref()].into_iter().flatten() {
        forget.execute([other])?;
    }
    let asked = match entry.queried.kind() {
        HashKind::Sha256 => 0,
        HashKind::Md5 => 1,
        HashKind::Sha1 => 2,
    };
    let mut stmt = tx.prepare_cached(&format!(
        "INSERT INTO answers (id, md5, sha1, found, asked, fetched_at, {FILE_COLUMNS})
         VALUES (?1, ?2, ?3, 1, ?4, ?5, {})
         ON CONFLICT(id) DO UPDATE SET md5 = excluded.md5, sha1 = excluded.sha1, found = 1,
            asked = excluded.asked, fetched_at = excluded.fetched_at, {}
         RETURNING n",
        (6..6 + FILE_COUNT)
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", "),
        FILE_COLUMNS
            .split(", ")
            .map(|c| format!("{c} = excluded.{c}"))
            .collect::<Vec<_>>()
            .join(", "),
    ))?;
    stmt.raw_bind_parameter(1, &id)?;
    stmt.raw_bind_parameter(2, &md5)?;
    stmt.raw_bind_parameter(3, &sha1)?;
    stmt.raw_bind_parameter(4, asked)?;
    stmt.raw_bind_parameter(5, entry.fetched_at)?;
    bind_file(&mut stmt, 6, file)?;
    let mut rows = stmt.raw_query();
    let n: i64 = match rows.next()? {
        Some(row) => row.get(0)?,
        None => return Err(rusqlite::Error::QueryReturnedNoRows),
    };
    drop(rows);
    if let Some(document) = entry_document(entry) {
        // An upsert, not a replace: REPLACE's delete fires no trigger, and the counts
        // would keep the old document's bytes.
        tx.prepare_cached(
            "INSERT INTO documents (n, zstd) VALUES (?1, ?2)
             ON CONFLICT(n) DO UPDATE SET zstd = excluded.zstd",
        )?
        .execute(params![n, pack(&document)])?;
    }
    Ok(())
}

/// Every answer with its document, in id order (for exports).
pub(crate) fn export(
    conn: &Connection,
    each: &mut dyn FnMut(CacheEntry) -> Result<()>,
    sqlite: Wrap<'_>,
) -> Result<()> {
    let sql = format!(
        "SELECT {} FROM answers WHERE id > ?1 ORDER BY id LIMIT 500",
        columns()
    );
    let mut after: Vec<u8> = Vec::new();
    loop {
        let page = select(conn, &sql, std::slice::from_ref(&after), sqlite)?;
        let Some((_, all, last)) = page.last() else {
            return Ok(());
        };
        after = bytes(all.first().map_or(last.queried.as_str(), String::as_str));
        for (n, _, mut entry) in page {
            if let Lookup::Found(file) = &mut entry.lookup {
                let packed: Option<Vec<u8>> = conn
                    .query_row("SELECT zstd FROM documents WHERE n = ?1", [n], |r| r.get(0))
                    .optional()
                    .map_err(sqlite)?;
                file.document = packed.map(|p| unpack(&p)).transpose()?;
            }
            each(entry)?;
        }
    }
}

/// Converts a schema-1 cache (`cache` and `cache_alias`, one JSON entry a row) to
/// `answers` and `documents`, in the caller's transaction. Entries that no longer decode
/// are dropped with a warning: a cache entry is only a saved request.
pub(crate) fn migrate_v1(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let old: bool = tx.query_row(
        "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'cache'",
        [],
        |r| r.get(0),
    )?;
    if !old {
        return Ok(());
    }
    tx.execute(
        "UPDATE cache_counts SET found = 0, unknown = 0, bytes = 0",
        [],
    )?;
    let mut stmt = tx.prepare("SELECT entry FROM cache")?;
    let mut rows = stmt.query([])?;
    let (mut kept, mut dropped) = (0u64, 0u64);
    while let Some(row) = rows.next()? {
        let text: String = row.get(0)?;
        match decode_entry(&text) {
            Ok(entry) => {
                put(tx, &entry)?;
                kept += 1;
            }
            Err(_) => dropped += 1,
        }
    }
    drop(rows);
    drop(stmt);
    tx.execute_batch(
        "DROP TRIGGER IF EXISTS cache_counts_insert; DROP TRIGGER IF EXISTS cache_counts_update;
         DROP TRIGGER IF EXISTS cache_counts_delete; DROP TABLE IF EXISTS cache_alias;
         DROP TABLE cache;",
    )?;
    tracing::info!("converted {kept} cached answers to the new layout ({dropped} unreadable)");
    Ok(())
}
