//! A file report as SQLite columns, written and read the same way by the cache's
//! `answers` and the jobs' `job_results`: every field a report shows is a column of its
//! own (so pages sort and filter in SQL), names and tags as JSON lists, hashes as bytes.

use rusqlite::types::Value;
use rusqlite::{Row, Statement};

use vtsum_core::report::{FileReport, Stats};

/// The report's columns, in the order [`bind_file`] binds and [`read_file`] reads them.
pub(crate) const FILE_COLUMNS: &str = "malicious, suspicious, undetected, harmless, timeout, \
    type_unsupported, failure, analysed, threat_label, type_description, size, \
    meaningful_name, names, tags, first_seen, last_seen, last_analysis, reputation";

/// How many [`FILE_COLUMNS`] there are.
pub(crate) const FILE_COUNT: usize = 18;

/// [`FILE_COLUMNS`] with their types, for `CREATE TABLE`.
pub(crate) const FILE_COLUMN_DEFS: &str = "malicious INTEGER, suspicious INTEGER, \
    undetected INTEGER, harmless INTEGER, timeout INTEGER, type_unsupported INTEGER, \
    failure INTEGER, analysed INTEGER, threat_label TEXT, type_description TEXT, size INTEGER, \
    meaningful_name TEXT, names TEXT, tags TEXT, first_seen INTEGER, last_seen INTEGER, \
    last_analysis INTEGER, reputation INTEGER";

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A hash's bytes (a [`vtsum_core::Hash`] is always valid lower-case hex).
pub(crate) fn bytes(hex: &str) -> Vec<u8> {
    let digit = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
    hex.as_bytes()
        .chunks(2)
        .map(|pair| digit(pair[0]) << 4 | digit(*pair.get(1).unwrap_or(&b'0')))
        .collect()
}

/// Lower-case hex of stored bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    out
}

fn list(v: &[String]) -> Value {
    if v.is_empty() {
        Value::Null
    } else {
        Value::Text(serde_json::to_string(v).expect("strings serialise"))
    }
}

/// Binds a report's columns from parameter `first` (1-based) on.
pub(crate) fn bind_file(
    stmt: &mut Statement<'_>,
    first: usize,
    file: &FileReport,
) -> rusqlite::Result<()> {
    let s = &file.stats;
    let text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::Text);
    let int = |v: Option<i64>| v.map_or(Value::Null, Value::Integer);
    let values = [
        Value::Integer(s.malicious.into()),
        Value::Integer(s.suspicious.into()),
        Value::Integer(s.undetected.into()),
        Value::Integer(s.harmless.into()),
        Value::Integer(s.timeout.into()),
        Value::Integer(s.type_unsupported.into()),
        Value::Integer(s.failure.into()),
        Value::Integer(file.analysed.into()),
        text(&file.threat_label),
        text(&file.type_description),
        int(file.size.and_then(|n| i64::try_from(n).ok())),
        text(&file.meaningful_name),
        list(&file.names),
        list(&file.tags),
        int(file.first_seen),
        int(file.last_seen),
        int(file.last_analysis),
        int(file.reputation),
    ];
    for (i, value) in values.into_iter().enumerate() {
        stmt.raw_bind_parameter(first + i, value)?;
    }
    Ok(())
}

/// A report from its columns, starting at column `first` (0-based), and its hashes.
pub(crate) fn read_file(
    row: &Row<'_>,
    first: usize,
    sha256: String,
    md5: Option<String>,
    sha1: Option<String>,
) -> rusqlite::Result<FileReport> {
    let count = |i: usize| -> rusqlite::Result<u32> {
        Ok(row.get::<_, Option<u32>>(first + i)?.unwrap_or_default())
    };
    let list = |i: usize| -> rusqlite::Result<Vec<String>> {
        match row.get_ref(first + i)?.as_str_or_null()? {
            None => Ok(Vec::new()),
            Some(text) => serde_json::from_str(text).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    first + i,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            }),
        }
    };
    Ok(FileReport {
        sha256,
        md5,
        sha1,
        stats: Stats {
            malicious: count(0)?,
            suspicious: count(1)?,
            undetected: count(2)?,
            harmless: count(3)?,
            timeout: count(4)?,
            type_unsupported: count(5)?,
            failure: count(6)?,
        },
        analysed: row.get::<_, Option<bool>>(first + 7)?.unwrap_or(false),
        threat_label: row.get(first + 8)?,
        type_description: row.get(first + 9)?,
        size: row
            .get::<_, Option<i64>>(first + 10)?
            .and_then(|n| u64::try_from(n).ok()),
        meaningful_name: row.get(first + 11)?,
        names: list(12)?,
        tags: list(13)?,
        first_seen: row.get(first + 14)?,
        last_seen: row.get(first + 15)?,
        last_analysis: row.get(first + 16)?,
        reputation: row.get(first + 17)?,
        engines: Default::default(),
        document: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_bytes_round_trip() {
        let text = "00ff10a9b8c7d6e5f4031222";
        assert_eq!(hex(&bytes(text)), text);
        assert_eq!(bytes("0f"), vec![15]);
    }
}
