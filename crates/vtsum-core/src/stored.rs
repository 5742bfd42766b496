//! Reading stored answers back fast: [`CacheEntry`] and [`ItemResult`] from the JSON the
//! backends keep and `vtsum cache export` writes, without serde's buffering of internally
//! tagged enums.
//!
//! `Lookup` and `ItemResult` are tagged by a field inside the object (`"kind"`,
//! `"outcome"`), so serde's derived `Deserialize` first copies the whole object into a
//! generic tree of `Content` values and reads the variant from that: for a found file's
//! ~16 KB answer (some 70 engines) that doubled the allocations and was the largest cost of
//! a cached lookup in the profile. Here the object is read once, into a struct that has
//! every field of every variant, and the variant is built from it. The JSON written is
//! serde's, and the tests check both readers agree. Reading once also keeps a file's
//! [`Document`] as the text it was (serde cannot hand raw text through its buffer).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::hash::Hash;
use crate::report::{CacheEntry, Document, EngineResult, FileReport, ItemResult, Lookup, Stats};

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Found,
    Unknown,
    /// A URL, a domain or an IP address: rare, and stored without a document, so read by
    /// serde's own reader ([`decode_item`]).
    Object,
}

/// Every field a stored `Lookup` object may have.
#[derive(Deserialize)]
struct StoredLookup {
    kind: Kind,
    sha256: Option<String>,
    md5: Option<String>,
    sha1: Option<String>,
    stats: Option<Stats>,
    analysed: Option<bool>,
    threat_label: Option<String>,
    type_description: Option<String>,
    size: Option<u64>,
    meaningful_name: Option<String>,
    names: Option<Vec<String>>,
    tags: Option<Vec<String>>,
    first_seen: Option<i64>,
    last_seen: Option<i64>,
    last_analysis: Option<i64>,
    reputation: Option<i64>,
    engines: Option<BTreeMap<String, EngineResult>>,
    document: Option<Document>,
}

fn missing(field: &str) -> Error {
    Error::Corrupt(format!("a stored file report has no {field}"))
}

impl StoredLookup {
    fn into_lookup(self) -> Result<Lookup> {
        match self.kind {
            Kind::Unknown => return Ok(Lookup::Unknown),
            Kind::Object => {
                return Err(Error::Corrupt(
                    "a URL, domain or IP address answer where a file's was stored".into(),
                ))
            }
            Kind::Found => {}
        }
        // Every field named, no `..`: a field added to FileReport must be added here.
        Ok(Lookup::Found(Box::new(FileReport {
            sha256: self.sha256.ok_or_else(|| missing("sha256"))?,
            md5: self.md5,
            sha1: self.sha1,
            stats: self.stats.ok_or_else(|| missing("stats"))?,
            analysed: self.analysed.ok_or_else(|| missing("analysed"))?,
            threat_label: self.threat_label,
            type_description: self.type_description,
            size: self.size,
            meaningful_name: self.meaningful_name,
            names: self.names.ok_or_else(|| missing("names"))?,
            tags: self.tags.ok_or_else(|| missing("tags"))?,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            last_analysis: self.last_analysis,
            reputation: self.reputation,
            // Absent when stored without them (the document keeps them).
            engines: self.engines.unwrap_or_default(),
            document: self.document,
        })))
    }
}

#[derive(Deserialize)]
struct StoredEntry {
    queried: Hash,
    lookup: StoredLookup,
    fetched_at: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Outcome {
    Lookup,
    Error,
}

/// Every field a stored `ItemResult` object may have.
#[derive(Deserialize)]
struct StoredItem {
    outcome: Outcome,
    lookup: Option<StoredLookup>,
    from_cache: Option<bool>,
    fetched_at: Option<i64>,
    message: Option<String>,
}

fn parse<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt(e.to_string()))
}

/// A cached answer as a backend stored it.
pub fn decode_entry(text: &str) -> Result<CacheEntry> {
    let stored: StoredEntry = parse(text)?;
    Ok(CacheEntry {
        queried: stored.queried,
        lookup: stored.lookup.into_lookup()?,
        fetched_at: stored.fetched_at,
    })
}

/// A job item's result as a backend stored it.
pub fn decode_item(text: &str) -> Result<ItemResult> {
    let stored: StoredItem = parse(text)?;
    if stored
        .lookup
        .as_ref()
        .is_some_and(|l| matches!(l.kind, Kind::Object))
    {
        return parse::<ItemResult>(text);
    }
    let missing = |field: &str| Error::Corrupt(format!("a stored result has no {field}"));
    Ok(match stored.outcome {
        Outcome::Error => ItemResult::Error {
            message: stored.message.ok_or_else(|| missing("message"))?,
        },
        Outcome::Lookup => ItemResult::Lookup {
            lookup: stored
                .lookup
                .ok_or_else(|| missing("lookup"))?
                .into_lookup()?,
            from_cache: stored.from_cache.ok_or_else(|| missing("from_cache"))?,
            fetched_at: stored.fetched_at.ok_or_else(|| missing("fetched_at"))?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode<T: serde::Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap()
    }

    fn report() -> FileReport {
        let engine = |r: Option<&str>| EngineResult {
            category: "malicious".into(),
            result: r.map(str::to_string),
            version: Some("1.0".into()),
            update: Some("20240101".into()),
        };
        FileReport {
            sha256: "a".repeat(64),
            md5: Some("b".repeat(32)),
            sha1: None,
            stats: Stats {
                malicious: 3,
                type_unsupported: 2,
                ..Stats::default()
            },
            analysed: true,
            threat_label: Some("trojan.x/\"quoted\"".into()),
            type_description: Some("Win32 EXE".into()),
            size: Some(1234),
            meaningful_name: Some("x.exe".into()),
            names: vec!["x.exe".into(), "=cmd|".into()],
            tags: vec!["peexe".into()],
            first_seen: Some(1),
            last_seen: Some(2),
            last_analysis: None,
            reputation: Some(-5),
            engines: [
                ("A".into(), engine(Some("Evil"))),
                ("B".into(), engine(None)),
            ]
            .into_iter()
            .collect(),
            document: None,
        }
    }

    fn entries() -> Vec<CacheEntry> {
        let hash = |s: String| Hash::parse(&s).unwrap();
        vec![
            CacheEntry {
                queried: hash("b".repeat(32)),
                lookup: Lookup::Found(Box::new(report())),
                fetched_at: 10,
            },
            CacheEntry {
                queried: hash("c".repeat(40)),
                lookup: Lookup::Found(Box::default()),
                fetched_at: 0,
            },
            CacheEntry {
                queried: hash("d".repeat(64)),
                lookup: Lookup::Unknown,
                fetched_at: -3,
            },
            CacheEntry {
                queried: hash("e".repeat(64)),
                lookup: Lookup::Found(Box::new(FileReport {
                    // Keys out of order and spaces: kept as written, not re-serialised.
                    document: Some(
                        Document::new(r#"{"data": {"z": 1, "a": [2.50]}}"#.into()).unwrap(),
                    ),
                    ..FileReport::default()
                })),
                fetched_at: 4,
            },
        ]
    }

    #[test]
    fn entries_read_back_as_serde_reads_them() {
        for entry in entries() {
            let text = encode(&entry);
            assert_eq!(decode_entry(&text).unwrap(), entry);
            // serde's own reader buffers the tagged enum and cannot take a document.
            if let Ok(derived) = serde_json::from_str::<CacheEntry>(&text) {
                assert_eq!(derived, entry);
            }
        }
    }

    #[test]
    fn item_results_read_back_as_serde_reads_them() {
        let mut items: Vec<ItemResult> = entries()
            .into_iter()
            .map(|e| ItemResult::Lookup {
                lookup: e.lookup,
                from_cache: e.fetched_at > 0,
                fetched_at: e.fetched_at,
            })
            .collect();
        items.push(ItemResult::Error {
            message: "429 <b>".into(),
        });
        for item in items {
            let text = encode(&item);
            assert_eq!(decode_item(&text).unwrap(), item);
            if let Ok(derived) = serde_json::from_str::<ItemResult>(&text) {
                assert_eq!(derived, item);
            }
        }
    }

    #[test]
    fn what_serde_refuses_is_refused() {
        let good = encode(&entries()[0]);
        let bad = [
            good.replace("\"stats\"", "\"stat_s\""),
            good.replace("\"found\"", "\"lost\""),
            good.replace("\"queried\":\"", "\"queried\":\"zz"),
            good[..good.len() - 1].to_string(),
            r#"{"outcome":"lookup","from_cache":true,"fetched_at":1}"#.to_string(),
        ];
        for text in &bad[..4] {
            assert!(serde_json::from_str::<CacheEntry>(text).is_err(), "{text}");
            assert!(decode_entry(text).is_err(), "{text}");
        }
        assert!(serde_json::from_str::<ItemResult>(&bad[4]).is_err());
        assert!(decode_item(&bad[4]).is_err());
    }
}
