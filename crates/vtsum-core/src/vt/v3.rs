//! Parsing VirusTotal API v3 answers: `GET /api/v3/files/{hash}` and error bodies.
//!
//! Attributes are sparse (any may be missing or null) and attacker-influenced (file names),
//! so every field is optional, lists and strings are bounded, and a field of the wrong type
//! is dropped rather than failing the whole report.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::report::{Document, EngineResult, FileReport, Stats};

/// Longest string kept from VirusTotal's data, in bytes.
pub const MAX_STRING: usize = 1_000;
/// Most names kept per file.
pub const MAX_NAMES: usize = 100;

/// Cuts a string to at most `max` bytes on a character boundary.
pub fn bound(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// A bounded string from a JSON string or number.
pub(crate) fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(bound(s.clone(), MAX_STRING)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An integer from a JSON number or numeric string.
pub(crate) fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Largest engine count kept. VirusTotal has about 75 engines; a bigger number is garbage,
/// and bounding it keeps sums of counts from overflowing.
pub const MAX_COUNT: u32 = 100_000;

/// An engine count: non-negative, at most [`MAX_COUNT`].
pub(crate) fn count(v: Option<&Value>) -> u32 {
    int(v).map_or(0, |n| n.clamp(0, i64::from(MAX_COUNT)) as u32)
}

pub(crate) fn strings(v: Option<&Value>, max: usize) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| text(Some(i)))
            .take(max)
            .collect(),
        _ => Vec::new(),
    }
}

/// A v3 object's `data` and its `attributes` (empty when missing or not an object).
pub(crate) fn envelope(body: &[u8]) -> Result<(Value, serde_json::Map<String, Value>), String> {
    let mut root: Value =
        serde_json::from_slice(body).map_err(|e| format!("malformed JSON from VirusTotal: {e}"))?;
    let mut data = root
        .get_mut("data")
        .map(Value::take)
        .ok_or("no `data` in VirusTotal's answer")?;
    let attrs = match data.get_mut("attributes").map(Value::take) {
        Some(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    Ok((data, attrs))
}

/// Parses a `GET /api/v3/files/{hash}` body.
pub fn parse_file(body: &[u8]) -> Result<FileReport, String> {
    let (data, attrs) = envelope(body)?;
    let a = |k: &str| attrs.get(k);
    let sha256 = text(a("sha256"))
        .or_else(|| text(data.get("id")))
        .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or("VirusTotal's answer has no valid sha256")?
        .to_ascii_lowercase();
    let stats = parse_stats(a("last_analysis_stats"));
    let engines = parse_engines(a("last_analysis_results"));
    let last_analysis = int(a("last_analysis_date"));
    Ok(FileReport {
        md5: text(a("md5")).map(|s| s.to_ascii_lowercase()),
        sha1: text(a("sha1")).map(|s| s.to_ascii_lowercase()),
        sha256,
        stats,
        analysed: last_analysis.is_some() || !engines.is_empty(),
        threat_label: a("popular_threat_classification")
            .and_then(|p| text(p.get("suggested_threat_label"))),
        type_description: text(a("type_description")),
        size: int(a("size")).and_then(|n| u64::try_from(n).ok()),
        meaningful_name: text(a("meaningful_name")),
        names: strings(a("names"), MAX_NAMES),
        tags: strings(a("tags"), MAX_NAMES),
        first_seen: int(a("first_submission_date")),
        last_seen: int(a("last_submission_date")),
        last_analysis,
        reputation: int(a("reputation")),
        engines,
        // The body as it came (valid UTF-8: it parsed as JSON).
        document: std::str::from_utf8(body)
            .ok()
            .and_then(|text| Document::new(text.to_string()).ok()),
    })
}

/// `last_analysis_stats`, zero where missing.
pub(crate) fn parse_stats(v: Option<&Value>) -> Stats {
    v.map(|s| Stats {
        malicious: count(s.get("malicious")),
        suspicious: count(s.get("suspicious")),
        undetected: count(s.get("undetected")),
        harmless: count(s.get("harmless")),
        timeout: count(s.get("timeout")).saturating_add(count(s.get("confirmed-timeout"))),
        type_unsupported: count(s.get("type-unsupported")),
        failure: count(s.get("failure")),
    })
    .unwrap_or_default()
}

pub(crate) fn parse_engines(v: Option<&Value>) -> BTreeMap<String, EngineResult> {
    let Some(Value::Object(map)) = v else {
        return BTreeMap::new();
    };
    map.iter()
        .take(500)
        .filter_map(|(name, r)| {
            let r = r.as_object()?;
            Some((
                bound(name.clone(), 100),
                EngineResult {
                    category: text(r.get("category")).unwrap_or_else(|| "unknown".into()),
                    result: text(r.get("result")),
                    version: text(r.get("engine_version")),
                    update: text(r.get("engine_update")),
                },
            ))
        })
        .collect()
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorInner,
}

#[derive(Deserialize)]
struct ErrorInner {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// The `(code, message)` of a v3 error body such as
/// `{"error":{"code":"NotFoundError","message":"..."}}`.
pub fn parse_error(body: &[u8]) -> Option<(String, String)> {
    let e: ErrorBody = serde_json::from_slice(body).ok()?;
    Some((bound(e.error.code, 100), bound(e.error.message, MAX_STRING)))
}
