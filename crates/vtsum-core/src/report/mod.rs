//! The report model: what VirusTotal said about a file ([`FileReport`]), what the cache and
//! jobs keep ([`Lookup`], [`ItemResult`]), and the one row per input hash that every output
//! format renders ([`Row`]). JSON field names of [`Row`] are pinned: other tools read them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::hash::Hash;
use crate::target::Kind;

mod object;
mod row;

pub use object::{object_permalink, ObjectReport};

/// One antivirus engine's result for a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineResult {
    /// `malicious`, `suspicious`, `undetected`, `harmless`, `type-unsupported`, `timeout`, ...
    pub category: String,
    pub result: Option<String>,
    pub version: Option<String>,
    /// The engine's signature date as VirusTotal gives it (e.g. `20240101`).
    pub update: Option<String>,
}

/// Counts of engine categories from the last analysis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub malicious: u32,
    pub suspicious: u32,
    pub undetected: u32,
    pub harmless: u32,
    pub timeout: u32,
    pub type_unsupported: u32,
    pub failure: u32,
}

/// What VirusTotal knows about a file, independent of who asked and how it is shown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileReport {
    pub sha256: String,
    pub md5: Option<String>,
    pub sha1: Option<String>,
    pub stats: Stats,
    /// Whether VirusTotal ever analysed the file (a file can be known but never scanned).
    pub analysed: bool,
    pub threat_label: Option<String>,
    pub type_description: Option<String>,
    pub size: Option<u64>,
    pub meaningful_name: Option<String>,
    pub names: Vec<String>,
    pub tags: Vec<String>,
    /// Unix seconds.
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    pub last_analysis: Option<i64>,
    pub reputation: Option<i64>,
    /// Per-engine results. Empty in answers read back from a store, which keeps them only
    /// inside [`FileReport::document`] (see [`crate::store::Store::cache_document`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub engines: BTreeMap<String, EngineResult>,
    /// VirusTotal's own answer about the file, as a v3 document (`{"data": {…}}`): the body
    /// exactly as it came for a v3 lookup. Kept by the cache, compressed, and read only when
    /// asked for; absent in answers read back for reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<Document>,
}

/// A JSON document kept as the text it came as (VirusTotal's answer about a file).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Document(Box<serde_json::value::RawValue>);

impl Document {
    /// Checks `text` is one JSON value and keeps it as it is.
    pub fn new(text: String) -> Result<Document, serde_json::Error> {
        serde_json::value::RawValue::from_string(text).map(Document)
    }

    /// The document's text.
    pub fn text(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for Document {
    fn eq(&self, other: &Document) -> bool {
        self.text() == other.text()
    }
}

/// The answer to one lookup: VirusTotal knows the file (or the URL, domain or IP address),
/// or it does not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Lookup {
    Found(Box<FileReport>),
    Unknown,
    /// A URL, a domain or an IP address VirusTotal knows. Never in the file cache.
    Object(Box<ObjectReport>),
}

/// A cached lookup and when it was fetched from VirusTotal (Unix seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheEntry {
    /// The hash that was asked for (for unknown files, the only hash we have).
    pub queried: Hash,
    pub lookup: Lookup,
    pub fetched_at: i64,
}

impl CacheEntry {
    /// The entry as a job's result: its answer, marked as from the cache.
    pub fn into_result(self) -> ItemResult {
        ItemResult::Lookup {
            lookup: self.lookup,
            from_cache: true,
            fetched_at: self.fetched_at,
        }
    }
}

/// A cached answer about a URL, a domain or an IP address ([`Lookup::Object`] or
/// [`Lookup::Unknown`]) and when it was fetched (Unix seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectEntry {
    pub kind: Kind,
    /// The normal form looked up.
    pub value: String,
    pub lookup: Lookup,
    pub fetched_at: i64,
}

/// The final outcome for one hash of a job, as stored with the job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum ItemResult {
    Lookup {
        lookup: Lookup,
        from_cache: bool,
        fetched_at: i64,
    },
    Error {
        message: String,
    },
}

/// Whether a row holds an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Found,
    Unknown,
    Error,
}

/// The one-word judgement of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Malicious,
    Suspicious,
    Clean,
    Unanalysed,
    Unknown,
    Error,
}

impl Verdict {
    /// Every verdict, worst first.
    pub const ALL: [Verdict; 6] = [
        Verdict::Malicious,
        Verdict::Suspicious,
        Verdict::Clean,
        Verdict::Unanalysed,
        Verdict::Unknown,
        Verdict::Error,
    ];

    /// The lower-case name used in every format.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Malicious => "malicious",
            Verdict::Suspicious => "suspicious",
            Verdict::Clean => "clean",
            Verdict::Unanalysed => "unanalysed",
            Verdict::Unknown => "unknown",
            Verdict::Error => "error",
        }
    }

    /// The verdict of a file's stats with `threshold` malicious detections needed for
    /// `malicious`.
    pub fn of(stats: &Stats, analysed: bool, threshold: u32) -> Verdict {
        if stats.malicious >= threshold.max(1) {
            Verdict::Malicious
        } else if stats.malicious > 0 || stats.suspicious > 0 {
            Verdict::Suspicious
        } else if analysed {
            Verdict::Clean
        } else {
            Verdict::Unanalysed
        }
    }
}

/// One row of a report: one input hash (or URL, domain, IP address) and everything known
/// about it. Fields after `engines` came with issue 15; they default when absent, so
/// reports written before still read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub input: String,
    pub md5: Option<String>,
    pub sha1: Option<String>,
    pub sha256: Option<String>,
    pub status: Status,
    pub verdict: Verdict,
    pub malicious: u32,
    pub suspicious: u32,
    pub undetected: u32,
    pub harmless: u32,
    pub total: u32,
    pub threat_label: Option<String>,
    #[serde(rename = "type")]
    pub file_type: Option<String>,
    pub size: Option<u64>,
    pub meaningful_name: Option<String>,
    pub names: Vec<String>,
    pub tags: Vec<String>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub last_analysis: Option<String>,
    pub reputation: Option<i64>,
    pub permalink: Option<String>,
    pub from_cache: bool,
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub engines: Option<BTreeMap<String, EngineResult>>,
    /// `file`, `url`, `domain` or `ip`.
    #[serde(default = "file_kind")]
    pub kind: Kind,
    /// The form the input wrote it in, when that differs from `input` (defanged).
    #[serde(default)]
    pub written: Option<String>,
    #[serde(flatten)]
    pub object: ObjectFields,
}

fn file_kind() -> Kind {
    Kind::File
}

/// What a report row shows of a URL, a domain or an IP address; empty for files.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ObjectFields {
    /// URL: where it led, its page title, the last HTTP status.
    pub final_url: Option<String>,
    pub title: Option<String>,
    /// URL and domain: the categories engines gave it.
    pub categories: Vec<String>,
    pub last_http_response_code: Option<u16>,
    /// Domain: the registrar, the creation date (ISO 8601), DNS records as `TYPE value`.
    pub registrar: Option<String>,
    pub creation_date: Option<String>,
    pub last_dns_records: Vec<String>,
    /// IP address: the autonomous system, its owner, the country and the network.
    pub asn: Option<u32>,
    pub as_owner: Option<String>,
    pub country: Option<String>,
    pub network: Option<String>,
}

/// How rows are built from results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowOptions {
    /// Malicious detections needed for the `malicious` verdict.
    pub threshold: u32,
    /// Include per-engine results.
    pub engines: bool,
}

impl Default for RowOptions {
    fn default() -> Self {
        RowOptions {
            threshold: 3,
            engines: false,
        }
    }
}

/// ISO 8601 UTC text of a Unix time, e.g. `2024-05-01T12:00:00Z`.
pub fn iso8601(unix: i64) -> Option<String> {
    use chrono::{Datelike, Timelike};
    let t = DateTime::<Utc>::from_timestamp(unix, 0)?;
    let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
    // Written digit by digit: three dates a row, and strftime's format parsing was a
    // visible share of a million-row report.
    let mut out = String::with_capacity(20);
    let parts = [
        (year / 100, None),
        (year % 100, Some('-')),
        (t.month(), Some('-')),
        (t.day(), Some('T')),
        (t.hour(), Some(':')),
        (t.minute(), Some(':')),
        (t.second(), Some('Z')),
    ];
    for (n, sep) in parts {
        out.push(char::from(b'0' + (n / 10) as u8));
        out.push(char::from(b'0' + (n % 10) as u8));
        out.extend(sep);
    }
    Some(out)
}

/// The VirusTotal page of a file.
pub fn permalink(sha256: &str) -> String {
    format!("https://www.virustotal.com/gui/file/{sha256}")
}

/// Totals over a report, printed on stderr and kept in the JSON output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Rows in the report (unique input hashes).
    pub total: usize,
    /// Rows by verdict name.
    pub verdicts: BTreeMap<String, usize>,
    /// Rows answered from the cache.
    pub cache_hits: usize,
    /// Requests sent to VirusTotal in this run, by key id.
    pub requests: BTreeMap<String, u64>,
    /// Non-blank input lines that held no hash.
    pub lines_without_hash: u64,
    /// Hashes seen again after their first occurrence.
    pub duplicates: u64,
    /// Hashes labelled as non-file hashes (`IMPHASH=…`, `SSDEEP=…`): never looked up.
    #[serde(default)]
    pub non_file_hashes: u64,
    /// URLs, domains and IP addresses the skip list dropped (`--skip`).
    #[serde(default)]
    pub skipped: u64,
    /// Non-public IP addresses dropped (private, loopback, documentation…).
    #[serde(default)]
    pub private_ips: u64,
    /// Hashes not yet looked up because every key is out of quota.
    pub pending: usize,
    /// When work can resume (ISO 8601 UTC), if it stopped for quota.
    pub resumes_at: Option<String>,
}

impl Summary {
    /// Counts verdicts and cache hits over finished rows.
    pub fn count_rows(&mut self, rows: &[Row]) {
        for row in rows {
            *self
                .verdicts
                .entry(row.verdict.as_str().to_string())
                .or_default() += 1;
            if row.from_cache {
                self.cache_hits += 1;
            }
        }
        self.total = rows.len() + self.pending;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Target;

    #[test]
    fn iso8601_writes_what_strftime_writes_and_nothing_past_year_9999() {
        let strftime = |unix: i64| {
            DateTime::<Utc>::from_timestamp(unix, 0)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        };
        let mut unix = -62_167_219_200; // 0000-01-01
        while unix < 253_402_300_800 {
            assert_eq!(iso8601(unix), strftime(unix), "{unix}");
            unix += 86_399 * 37 + 61;
        }
        assert_eq!(
            iso8601(253_402_300_799).as_deref(),
            Some("9999-12-31T23:59:59Z")
        );
        assert_eq!(iso8601(253_402_300_800), None);
        assert_eq!(iso8601(-62_167_219_201), None);
        assert_eq!(iso8601(i64::MAX), None);
    }

    fn stats(malicious: u32, suspicious: u32) -> Stats {
        Stats {
            malicious,
            suspicious,
            undetected: 60,
            ..Stats::default()
        }
    }

    #[test]
    fn verdict_thresholds() {
        assert_eq!(Verdict::of(&stats(3, 0), true, 3), Verdict::Malicious);
        assert_eq!(Verdict::of(&stats(2, 0), true, 3), Verdict::Suspicious);
        assert_eq!(Verdict::of(&stats(0, 1), true, 3), Verdict::Suspicious);
        assert_eq!(Verdict::of(&stats(0, 0), true, 3), Verdict::Clean);
        assert_eq!(
            Verdict::of(&Stats::default(), false, 3),
            Verdict::Unanalysed
        );
        assert_eq!(Verdict::of(&stats(1, 0), true, 1), Verdict::Malicious);
    }

    #[test]
    fn total_counts_the_four_categories_as_the_vt_page_does() {
        let file = FileReport {
            sha256: "a".repeat(64),
            stats: Stats {
                malicious: 5,
                suspicious: 1,
                undetected: 50,
                harmless: 2,
                timeout: 3,
                type_unsupported: 4,
                failure: 1,
            },
            analysed: true,
            first_seen: Some(0),
            ..FileReport::default()
        };
        let input = Target::File(Hash::parse(&"A".repeat(64)).unwrap());
        let row = Row::from_lookup(
            &input,
            &Lookup::Found(Box::new(file)),
            RowOptions::default(),
        );
        assert_eq!(row.total, 58);
        assert_eq!(row.verdict, Verdict::Malicious);
        assert_eq!(row.first_seen.as_deref(), Some("1970-01-01T00:00:00Z"));
        assert!(row.permalink.unwrap().ends_with(&"a".repeat(64)));
    }
}
