//! Parsing the legacy VirusTotal API v2 answer of `GET /vtapi/v2/file/report`: one object
//! for one resource, an array for several.

use std::collections::BTreeMap;

use serde_json::Value;

use super::v3::{bound, count, int, text};
use crate::hash::Hash;
use crate::report::{EngineResult, FileReport, Lookup, Stats};

/// Parses a report body and pairs each asked hash with its answer, matched by `resource`.
pub fn parse_reports(body: &[u8], asked: &[Hash]) -> Result<Vec<(Hash, Lookup)>, String> {
    let root: Value =
        serde_json::from_slice(body).map_err(|e| format!("malformed JSON from VirusTotal: {e}"))?;
    let answers: Vec<&Value> = match &root {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![&root],
        _ => return Err("unexpected v2 answer".into()),
    };
    asked
        .iter()
        .map(|hash| {
            let answer = answers
                .iter()
                .find(|a| {
                    text(a.get("resource")).is_some_and(|r| r.eq_ignore_ascii_case(hash.as_str()))
                })
                .or_else(|| (asked.len() == 1 && answers.len() == 1).then(|| &answers[0]))
                .ok_or_else(|| format!("VirusTotal's v2 answer lacks {hash}"))?;
            Ok((hash.clone(), parse_one(answer)?))
        })
        .collect()
}

fn parse_one(v: &Value) -> Result<Lookup, String> {
    if int(v.get("response_code")) != Some(1) {
        // 0: unknown; -2: queued for analysis, which for a lookup means not known yet.
        return Ok(Lookup::Unknown);
    }
    let sha256 = text(v.get("sha256"))
        .filter(|s| s.len() == 64)
        .ok_or("v2 report without sha256")?
        .to_ascii_lowercase();
    let engines = scans(v);
    let positives = count(v.get("positives"));
    let total = count(v.get("total"));
    let scan_date = scan_date(v);
    Ok(Lookup::Found(Box::new(FileReport {
        sha256,
        md5: text(v.get("md5")).map(|s| s.to_ascii_lowercase()),
        sha1: text(v.get("sha1")).map(|s| s.to_ascii_lowercase()),
        stats: Stats {
            malicious: positives,
            undetected: total.saturating_sub(positives),
            ..Stats::default()
        },
        analysed: scan_date.is_some() || total > 0,
        last_analysis: scan_date,
        engines,
        ..FileReport::default()
    })))
}

/// `scans`: each engine's `detected` and `result`, as v3's categories.
pub(crate) fn scans(v: &Value) -> BTreeMap<String, EngineResult> {
    let mut engines = BTreeMap::new();
    if let Some(Value::Object(scans)) = v.get("scans") {
        for (name, s) in scans.iter().take(500) {
            let detected = s.get("detected").and_then(Value::as_bool).unwrap_or(false);
            engines.insert(
                bound(name.clone(), 100),
                EngineResult {
                    category: if detected { "malicious" } else { "undetected" }.to_string(),
                    result: text(s.get("result")),
                    version: text(s.get("version")),
                    update: text(s.get("update")),
                },
            );
        }
    }
    engines
}

/// `scan_date` (`YYYY-MM-DD HH:MM:SS`, UTC) as Unix seconds.
pub(crate) fn scan_date(v: &Value) -> Option<i64> {
    text(v.get("scan_date")).and_then(|d| {
        chrono::NaiveDateTime::parse_from_str(&d, "%Y-%m-%d %H:%M:%S")
            .ok()
            .map(|t| t.and_utc().timestamp())
    })
}
