//! STIX 2.1: the report as a bundle that threat-intelligence platforms import. Only what a
//! platform can act on goes in: one `indicator` per malicious or suspicious row (a pattern
//! on the file's hashes), one `malware` per distinct threat label, an `indicates`
//! `relationship` between them, and an `identity` for vtsum as their author. Clean,
//! unknown and failed rows are counted but not written: "not detected" is no indicator.
//!
//! Ids are RFC 4122 version 5 UUIDs ([`uuid5`], SHA-1 through `sha1_smol`, a crate with no
//! dependencies already in the tree; the `uuid` crate is not) of the objects' content under
//! vtsum's [`NAMESPACE`], so the same rows rendered at the same report time give the same
//! bytes, and the same file gets the same indicator id in every report of that time. The
//! bundle's id is the UUID of every byte of its objects, hashed as they are written.
//!
//! Rows stream: each object is written as its row passes. Only the ids of the labels
//! already given a `malware` object are held, at most [`MAX_LABELS`]; a row with a label
//! beyond that still gets its indicator (the label in its name and labels), without a
//! `malware` object or relationship.
//!
//! No external reference to the VirusTotal page: STIX wants a hash of a referenced page's
//! content, and the page follows from the file's hash anyway.
//!
//! Hostile names stay data: JSON strings are serde's, and the one string literal in a
//! pattern is written by [`pattern_literal`], which escapes `\` and `'` as the STIX
//! patterning grammar requires.

use std::collections::HashSet;
use std::io::{self, Write};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::source::{writing, RowSource, Tally};
use super::RenderOptions;
use crate::error::Result;
use crate::report::{Row, Verdict};
use crate::target::Kind;

/// vtsum's namespace for its UUIDs: `uuid5(NAMESPACE_URL, "https://vtsum.invalid/stix")`,
/// i.e. `acb719b1-d3c0-5bb7-b207-5e98a82c58e6`.
pub const NAMESPACE: [u8; 16] = [
    0xac, 0xb7, 0x19, 0xb1, 0xd3, 0xc0, 0x5b, 0xb7, 0xb2, 0x07, 0x5e, 0x98, 0xa8, 0x2c, 0x58, 0xe6,
];

/// The most distinct threat labels given a `malware` object in one bundle.
pub const MAX_LABELS: usize = 10_000;

/// A version 5 UUID being computed: the namespace, then the name fed in parts.
pub struct Uuid5(sha1_smol::Sha1);

impl Uuid5 {
    /// Starts a UUID under `namespace`.
    pub fn new(namespace: &[u8; 16]) -> Uuid5 {
        let mut sha = sha1_smol::Sha1::new();
        sha.update(namespace);
        Uuid5(sha)
    }

    /// Adds `part` to the name.
    pub fn update(&mut self, part: &[u8]) -> &mut Uuid5 {
        self.0.update(part);
        self
    }

    /// The UUID, `xxxxxxxx-xxxx-5xxx-yxxx-xxxxxxxxxxxx` (RFC 4122 §4.3: the first 16 bytes
    /// of the SHA-1, version 5, variant `10`).
    pub fn finish(&self) -> String {
        let mut b = [0u8; 16];
        b.copy_from_slice(&self.0.digest().bytes()[..16]);
        b[6] = (b[6] & 0x0f) | 0x50;
        b[8] = (b[8] & 0x3f) | 0x80;
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    }
}

/// The version 5 UUID of `parts` (joined by NUL, so `["ab", "c"]` and `["a", "bc"]` differ)
/// under vtsum's [`NAMESPACE`].
pub fn uuid5(parts: &[&str]) -> String {
    let mut id = Uuid5::new(&NAMESPACE);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            id.update(b"\0");
        }
        id.update(part.as_bytes());
    }
    id.finish()
}

/// `text` as a STIX pattern string literal: in single quotes, with `\` and `'` escaped
/// (`StringLiteral: QUOTE ( ~['\\] | '\\\'' | '\\\\' )* QUOTE`).
pub fn pattern_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        if matches!(c, '\\' | '\'') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// The pattern of a row: its URL, domain or IP address, or its file by every hash the row
/// has, SHA-256 first; `None` for a file row with none.
pub fn row_pattern(row: &Row) -> Option<String> {
    let object = match row.kind {
        Kind::File => return file_pattern(row),
        Kind::Url => "url",
        Kind::Domain => "domain-name",
        Kind::Ip if row.input.contains(':') => "ipv6-addr",
        Kind::Ip => "ipv4-addr",
    };
    Some(format!(
        "[{object}:value = {}]",
        pattern_literal(&row.input)
    ))
}

/// The pattern matching the row's file by every hash the row has, SHA-256 first; `None`
/// for a row with none.
pub fn file_pattern(row: &Row) -> Option<String> {
    let hashes = [
        ("'SHA-256'", &row.sha256),
        ("MD5", &row.md5),
        ("'SHA-1'", &row.sha1),
    ];
    let terms: Vec<String> = hashes
        .iter()
        .filter_map(|(name, value)| {
            let value = value.as_deref()?;
            Some(format!("file:hashes.{name} = {}", pattern_literal(value)))
        })
        .collect();
    (!terms.is_empty()).then(|| format!("[{}]", terms.join(" OR ")))
}

/// An RFC 3339 time as STIX writes it, `YYYY-MM-DDTHH:MM:SS.sssZ` in UTC.
pub fn stix_time(rfc3339: &str) -> Option<String> {
    let t = DateTime::parse_from_rfc3339(rfc3339).ok()?;
    Some(
        t.with_timezone(&Utc)
            .to_rfc3339_opts(SecondsFormat::Millis, true),
    )
}

/// The report's time in STIX form; the Unix epoch when the options carry none (a report
/// rendered without one stays reproducible rather than taking the clock).
pub fn report_time(opts: &RenderOptions) -> String {
    stix_time(&opts.generated_at).unwrap_or_else(|| "1970-01-01T00:00:00.000Z".into())
}

/// How sure the indicator is, 0–100: the share of engines that flagged the file
/// (malicious + suspicious) out of the engines that gave a result, rounded to the nearest
/// whole percent. `None` when no engine did.
pub fn confidence(row: &Row) -> Option<u8> {
    let total = u64::from(row.total);
    if total == 0 {
        return None;
    }
    let flagged = u64::from(row.malicious) + u64::from(row.suspicious);
    let pct = (flagged * 100 + total / 2) / total;
    Some(pct.min(100) as u8)
}

#[derive(Serialize)]
struct Common<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    spec_version: &'static str,
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_by_ref: Option<&'a str>,
    created: &'a str,
    modified: &'a str,
}

impl<'a> Common<'a> {
    fn new(kind: &'static str, id: String, by: Option<&'a str>, at: &'a str) -> Common<'a> {
        Common {
            kind,
            spec_version: "2.1",
            id,
            created_by_ref: by,
            created: at,
            modified: at,
        }
    }
}

#[derive(Serialize)]
struct Identity<'a> {
    #[serde(flatten)]
    common: Common<'a>,
    name: &'static str,
    identity_class: &'static str,
}

#[derive(Serialize)]
struct Indicator<'a> {
    #[serde(flatten)]
    common: Common<'a>,
    name: &'a str,
    description: String,
    indicator_types: [&'static str; 1],
    pattern: String,
    pattern_type: &'static str,
    pattern_version: &'static str,
    valid_from: String,
    labels: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confidence: Option<u8>,
}

/// A threat label names what many files are: a family (`is_family: true`), not one
/// instance.
#[derive(Serialize)]
struct Malware<'a> {
    #[serde(flatten)]
    common: Common<'a>,
    name: &'a str,
    is_family: bool,
}

#[derive(Serialize)]
struct Relationship<'a> {
    #[serde(flatten)]
    common: Common<'a>,
    relationship_type: &'static str,
    source_ref: &'a str,
    target_ref: &'a str,
}

/// Writes the objects of a bundle as a JSON array's items, hashing every byte for the
/// bundle's id.
struct Objects<'w> {
    w: &'w mut dyn Write,
    id: Uuid5,
    first: bool,
    buf: Vec<u8>,
}

impl Objects<'_> {
    fn push(&mut self, object: &impl Serialize) -> io::Result<()> {
        self.buf.clear();
        self.buf
            .extend_from_slice(if self.first { b"\n    " } else { b",\n    " });
        self.first = false;
        serde_json::to_writer(&mut self.buf, object)?;
        self.id.update(&self.buf);
        self.w.write_all(&self.buf)
    }
}

/// Writes the bundle, one walk of `rows`.
pub(crate) fn write_stix(
    w: &mut dyn Write,
    rows: &dyn RowSource,
    tally: &mut Tally<'_>,
    opts: &RenderOptions,
) -> Result<()> {
    let at = report_time(opts);
    let identity = format!("identity--{}", uuid5(&["identity", "vtsum"]));
    let by = identity.as_str();
    let common = |kind, id, by| Common::new(kind, id, by, &at);
    w.write_all(b"{\n  \"type\": \"bundle\",\n  \"objects\": [")
        .map_err(writing)?;
    let mut out = Objects {
        w,
        id: Uuid5::new(&NAMESPACE),
        first: true,
        buf: Vec::new(),
    };
    out.push(&Identity {
        common: common("identity", identity.clone(), None),
        name: "vtsum",
        identity_class: "system",
    })
    .map_err(writing)?;
    let mut labels: HashSet<String> = HashSet::new();
    rows.each(&mut |row| {
        tally.row(row);
        let kind = match row.verdict {
            Verdict::Malicious => "malicious-activity",
            Verdict::Suspicious => "anomalous-activity",
            _ => return Ok(()),
        };
        let Some(pattern) = row_pattern(row) else {
            return Ok(());
        };
        let label = row.threat_label.as_deref().filter(|l| !l.is_empty());
        let mut malware = None;
        if let Some(label) = label {
            let id = format!("malware--{}", uuid5(&["malware", label]));
            let known = labels.contains(&id);
            if !known && labels.len() < MAX_LABELS {
                out.push(&Malware {
                    common: common("malware", id.clone(), Some(by)),
                    name: label,
                    is_family: true,
                })?;
                labels.insert(id.clone());
            }
            if labels.contains(&id) {
                malware = Some(id);
            }
        }
        let hash = row.sha256.as_deref().unwrap_or(&row.input);
        let indicator = format!("indicator--{}", uuid5(&["indicator", &row.input, &pattern]));
        let mut tags = vec![row.verdict.as_str()];
        tags.extend(label);
        out.push(&Indicator {
            common: common("indicator", indicator.clone(), Some(by)),
            name: label.unwrap_or(hash),
            description: format!(
                "{}: {}/{} engines malicious, {} suspicious",
                row.verdict.as_str(),
                row.malicious,
                row.total,
                row.suspicious
            ),
            indicator_types: [kind],
            pattern,
            pattern_type: "stix",
            pattern_version: "2.1",
            valid_from: row
                .last_analysis
                .as_deref()
                .and_then(stix_time)
                .unwrap_or_else(|| at.clone()),
            labels: tags,
            confidence: confidence(row),
        })?;
        if let Some(malware) = malware {
            out.push(&Relationship {
                common: common(
                    "relationship",
                    format!("relationship--{}", uuid5(&[&indicator, &malware])),
                    Some(by),
                ),
                relationship_type: "indicates",
                source_ref: &indicator,
                target_ref: &malware,
            })?;
        }
        Ok(())
    })?;
    let id = out.id.finish();
    write!(out.w, "\n  ],\n  \"id\": \"bundle--{id}\"\n}}\n").map_err(writing)
}
