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

use crate::packed::{pack, unpack};
use crate::{encode, entry_document, stored_hash};
use vtsum_core::error::Result;
use vtsum_core::hash::{Hash, HashKind};
use vtsum_core::report::{CacheEntry, Document, FileReport, Lookup, Stats};
use vtsum_core::stored::decode_entry;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS answers (
    n INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    md5 BLOB,
    sha1 BLOB,
    found INTEGER NOT NULL,
    asked INTEGER NOT NULL,
    fetched_at INTEGER NOT NULL,
    malicious INTEGER, suspicious INTEGER, undetected INTEGER, harmless INTEGER,
    timeout INTEGER, type_unsupported INTEGER, failure INTEGER, analysed INTEGER,
    threat_label TEXT, type_description TEXT, size INTEGER, meaningful_name TEXT,
    names TEXT, tags TEXT,
    first_seen INTEGER, last_seen INTEGER, last_analysis INTEGER, reputation INTEGER
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
";

const COLUMNS: &str = "n, id, md5, sha1, found, asked, fetched_at, malicious, suspicious, \
    undetected, harmless, timeout, type_unsupported, failure, analysed, threat_label, \
    type_description, size, meaningful_name, names, tags, first_seen, last_seen, \
    last_analysis, reputation";

/// A hash's bytes (its hex decoded; a [`Hash`] is always valid lower-case hex).
fn bytes(hex: &str) -> Vec<u8> {
    let digit = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
    hex.as_bytes()
        .chunks(2)
        .map(|pair| digit(pair[0]) << 4 | digit(*pair.get(1).unwrap_or(&b'0')))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn list(v: &[String]) -> Option<String> {
    (!v.is_empty()).then(|| encode(&v))
}

/// An answer's row read back: its number, the hex of each hash it is found by, the entry.
type Read = (i64, Vec<String>, CacheEntry);

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RowData> {
    Ok(RowData {
        n: row.get(0)?,
        hashes: [row.get(1)?, row.get(2)?, row.get(3)?],
        found: row.get(4)?,
        asked: row.get(5)?,
        fetched_at: row.get(6)?,
        counts: [7, 8, 9, 10, 11, 12, 13].map(|i| row.get::<_, Option<u32>>(i)),
        analysed: row.get(14)?,
        texts: [15, 16, 18].map(|i| row.get::<_, Option<String>>(i)),
        size: row.get(17)?,
        lists: [19, 20].map(|i| row.get::<_, Option<String>>(i)),
        times: [21, 22, 23, 24].map(|i| row.get::<_, Option<i64>>(i)),
    })
}

/// The columns of one row, before they are checked.
struct RowData {
    n: i64,
    /// id, md5, sha1.
    hashes: [Option<Vec<u8>>; 3],
    found: bool,
    asked: u8,
    fetched_at: i64,
    counts: [rusqlite::Result<Option<u32>>; 7],
    analysed: Option<bool>,
    texts: [rusqlite::Result<Option<String>>; 3],
    size: Option<u64>,
    lists: [rusqlite::Result<Option<String>>; 2],
    times: [rusqlite::Result<Option<i64>>; 4],
}

fn finish(data: RowData) -> Result<Read> {
    let corrupt = |e: rusqlite::Error| vtsum_core::Error::Corrupt(e.to_string());
    let n = data.n;
    let hexes: Vec<Option<String>> = data.hashes.iter().map(|h| h.as_deref().map(hex)).collect();
    let id = hexes[0].clone().unwrap_or_default();
    let all: Vec<String> = hexes.iter().flatten().cloned().collect();
    if !data.found {
        let entry = CacheEntry {
            queried: stored_hash(&id)?,
            lookup: Lookup::Unknown,
            fetched_at: data.fetched_at,
        };
        return Ok((n, all, entry));
    }
    let [malicious, suspicious, undetected, harmless, timeout, type_unsupported, failure] =
        data.counts;
    let count = |c: rusqlite::Result<Option<u32>>| c.map(Option::unwrap_or_default);
    let stats = Stats {
        malicious: count(malicious).map_err(corrupt)?,
        suspicious: count(suspicious).map_err(corrupt)?,
        undetected: count(undetected).map_err(corrupt)?,
        harmless: count(harmless).map_err(corrupt)?,
        timeout: count(timeout).map_err(corrupt)?,
        type_unsupported: count(type_unsupported).map_err(corrupt)?,
        failure: count(failure).map_err(corrupt)?,
    };
    let [threat_label, type_description, meaningful_name] = data.texts;
    let [names, tags] = data.lists;
    let list = |v: rusqlite::Result<Option<String>>| -> Result<Vec<String>> {
        match v.map_err(corrupt)? {
            Some(text) => crate::decode(&text),
            None => Ok(Vec::new()),
        }
    };
    let [first_seen, last_seen, last_analysis, reputation] = data.times;
    let file = FileReport {
        sha256: id.clone(),
        md5: hexes[1].clone(),
        sha1: hexes[2].clone(),
        stats,
        analysed: data.analysed.unwrap_or(false),
        threat_label: threat_label.map_err(corrupt)?,
        type_description: type_description.map_err(corrupt)?,
        size: data.size,
        meaningful_name: meaningful_name.map_err(corrupt)?,
        names: list(names)?,
        tags: list(tags)?,
        first_seen: first_seen.map_err(corrupt)?,
        last_seen: last_seen.map_err(corrupt)?,
        last_analysis: last_analysis.map_err(corrupt)?,
        reputation: reputation.map_err(corrupt)?,
        engines: Default::default(),
        document: None,
    };
    let queried = hexes
        .get(usize::from(data.asked))
        .cloned()
        .flatten()
        .unwrap_or(id);
    let entry = CacheEntry {
        queried: stored_hash(&queried)?,
        lookup: Lookup::Found(Box::new(file)),
        fetched_at: data.fetched_at,
    };
    Ok((n, all, entry))
}

/// How the store reports SQLite's errors (with the file's path).
pub(crate) type Wrap<'a> = &'a dyn Fn(rusqlite::Error) -> vtsum_core::Error;

/// The rows matching `sql` (which selects [`COLUMNS`]) with `args`.
fn select(conn: &Connection, sql: &str, args: &[Vec<u8>], sqlite: Wrap<'_>) -> Result<Vec<Read>> {
    let mut stmt = conn.prepare_cached(sql).map_err(sqlite)?;
    let rows = stmt
        .query_map(params_from_iter(args), read_row)
        .map_err(sqlite)?;
    rows.map(|r| finish(r.map_err(sqlite)?)).collect()
}

/// The answers for `hashes`, in order: one query per kind of hash asked.
pub(crate) fn get_many(
    conn: &Connection,
    hashes: &[Hash],
    sqlite: Wrap<'_>,
) -> Result<Vec<Option<(i64, CacheEntry)>>> {
    let mut by_hash: HashMap<String, (i64, CacheEntry)> = HashMap::new();
    for kind in [HashKind::Md5, HashKind::Sha1, HashKind::Sha256] {
        let asked: Vec<Vec<u8>> = hashes
            .iter()
            .filter(|h| h.kind() == kind)
            .map(|h| bytes(h.as_str()))
            .collect();
        if asked.is_empty() {
            continue;
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
        let sql = format!("SELECT {COLUMNS} FROM answers WHERE id IN ({marks}){also}");
        for (n, all, entry) in select(conn, &sql, &asked, sqlite)? {
            for h in all {
                // A found file wins over an unknown answer for one of its hashes.
                let known = matches!(entry.lookup, Lookup::Found(_));
                match by_hash.get(&h) {
                    Some((_, old)) if matches!(old.lookup, Lookup::Found(_)) && !known => {}
                    _ => {
                        by_hash.insert(h, (n, entry.clone()));
                    }
                }
            }
        }
    }
    Ok(hashes
        .iter()
        .map(|h| by_hash.get(h.as_str()).cloned())
        .collect())
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
    let s = &file.stats;
    let n: i64 = tx
        .prepare_cached(
            "INSERT INTO answers (id, md5, sha1, found, asked, fetched_at, malicious, suspicious,
                undetected, harmless, timeout, type_unsupported, failure, analysed, threat_label,
                type_description, size, meaningful_name, names, tags, first_seen, last_seen,
                last_analysis, reputation)
             VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                ?17, ?18, ?19, ?20, ?21, ?22, ?23)
             ON CONFLICT(id) DO UPDATE SET md5 = excluded.md5, sha1 = excluded.sha1, found = 1,
                asked = excluded.asked, fetched_at = excluded.fetched_at,
                malicious = excluded.malicious, suspicious = excluded.suspicious,
                undetected = excluded.undetected, harmless = excluded.harmless,
                timeout = excluded.timeout, type_unsupported = excluded.type_unsupported,
                failure = excluded.failure, analysed = excluded.analysed,
                threat_label = excluded.threat_label, type_description = excluded.type_description,
                size = excluded.size, meaningful_name = excluded.meaningful_name,
                names = excluded.names, tags = excluded.tags, first_seen = excluded.first_seen,
                last_seen = excluded.last_seen, last_analysis = excluded.last_analysis,
                reputation = excluded.reputation
             RETURNING n",
        )?
        .query_row(
            params![
                id,
                md5,
                sha1,
                asked,
                entry.fetched_at,
                s.malicious,
                s.suspicious,
                s.undetected,
                s.harmless,
                s.timeout,
                s.type_unsupported,
                s.failure,
                file.analysed,
                file.threat_label,
                file.type_description,
                file.size,
                file.meaningful_name,
                list(&file.names),
                list(&file.tags),
                file.first_seen,
                file.last_seen,
                file.last_analysis,
                file.reputation,
            ],
            |r| r.get(0),
        )?;
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
    let sql = format!("SELECT {COLUMNS} FROM answers WHERE id > ?1 ORDER BY id LIMIT 500");
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
