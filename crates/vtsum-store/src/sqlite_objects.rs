//! The SQLite store's cache of URLs, domains and IP addresses (issue 15): one `objects`
//! row per kind and normal form, the whole answer as zstd-compressed JSON ([`packed`]).
//!
//! Unlike files, these are kept whole rather than as columns: a threat report names tens of
//! them where an EDR export names a million files, reports read them one at a time, and
//! the whole answer (engines included) serves `--engines` without a second table.

use rusqlite::{params, Connection, OptionalExtension};

use crate::packed::{pack, unpack};
use vtsum_core::error::{Error, Result};
use vtsum_core::report::{Document, ObjectEntry};
use vtsum_core::target::Kind;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    fetched_at INTEGER NOT NULL,
    zstd BLOB NOT NULL,
    PRIMARY KEY (kind, value)
) WITHOUT ROWID;
";

/// The entry cached for `kind` and `value`, if any.
pub(crate) fn get(conn: &Connection, kind: Kind, value: &str) -> Result<Option<ObjectEntry>> {
    let packed: Option<Vec<u8>> = conn
        .query_row(
            "SELECT zstd FROM objects WHERE kind = ?1 AND value = ?2",
            params![kind.as_str(), value],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| Error::Corrupt(format!("reading a cached {}: {e}", kind.as_str())))?;
    let Some(packed) = packed else {
        return Ok(None);
    };
    crate::decode_object(unpack(&packed)?.text(), kind, value).map(Some)
}

/// Caches `entry`, replacing an older answer.
pub(crate) fn put(conn: &Connection, entry: &ObjectEntry) -> rusqlite::Result<()> {
    let text = crate::encode_object(entry);
    let document = Document::new(text).expect("an encoded entry is JSON");
    conn.execute(
        "INSERT OR REPLACE INTO objects (kind, value, fetched_at, zstd) VALUES (?1, ?2, ?3, ?4)",
        params![
            entry.kind.as_str(),
            entry.value,
            entry.fetched_at,
            pack(&document)
        ],
    )?;
    Ok(())
}
