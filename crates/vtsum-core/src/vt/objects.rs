//! Looking up URLs, domains and IP addresses: v3 `GET /api/v3/urls/{id}` (the id is the
//! URL in unpadded URL-safe base64), `/api/v3/domains/{domain}` and
//! `/api/v3/ip_addresses/{ip}`; v2 `url/report`, `domain/report` and `ip-address/report`.
//!
//! The answer is an [`ObjectReport`]: the verdict's counts from `last_analysis_stats` as
//! for files, and the fields that matter per kind (a URL's final URL, title and HTTP code;
//! a domain's registrar, creation date and DNS records; an IP's AS, country and network).
//! As for files, every field is optional and bounded, since titles, categories and
//! registrar names are chosen by whoever runs the site. v2's domain and IP reports carry no
//! analysis at all: they come back found but not analysed, with what they do carry.
//!
//! The scheduler sends them one a request (`engine/flight.rs`), whatever the API version.

use std::collections::BTreeSet;

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::Value;

use super::client::{v2_error, v3_error, VtClient};
use super::v2::{scan_date, scans};
use super::v3::{count, envelope, int, parse_engines, parse_stats, strings, text, MAX_NAMES};
use super::{ApiVersion, FetchError};
use crate::extract::ioc::IndicatorKind;
use crate::key::ApiKey;
pub use crate::report::ObjectReport;
use crate::report::{Document, Stats};

/// Most DNS records and categories kept per object.
const MAX_RECORDS: usize = 20;

/// A lookup's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ObjectLookup {
    Found(Box<ObjectReport>),
    Unknown,
}

/// A URL's v3 id: unpadded URL-safe base64 of the URL.
pub fn url_id(url: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
}

impl VtClient {
    /// Looks up one URL, domain or IP address (normalised, as `extract::ioc` gives them).
    pub async fn lookup_object(
        &self,
        key: &ApiKey,
        kind: IndicatorKind,
        value: &str,
    ) -> Result<ObjectLookup, FetchError> {
        let base = &self.config.base_url;
        match self.config.version {
            ApiVersion::V3 => {
                let url = match kind {
                    IndicatorKind::Url => format!("{base}/api/v3/urls/{}", url_id(value)),
                    IndicatorKind::Domain => format!("{base}/api/v3/domains/{value}"),
                    IndicatorKind::Ip => format!("{base}/api/v3/ip_addresses/{value}"),
                };
                let req = self.http.get(url).header("x-apikey", key.expose());
                let (status, body) = self.get(req).await?;
                match status {
                    StatusCode::OK => parse_v3(&body)
                        .map(|r| ObjectLookup::Found(Box::new(r)))
                        .map_err(FetchError::Transient),
                    StatusCode::NOT_FOUND => Ok(ObjectLookup::Unknown),
                    _ => Err(v3_error(status, &body, key)),
                }
            }
            ApiVersion::V2 => {
                let (path, param) = match kind {
                    IndicatorKind::Url => ("url/report", "resource"),
                    IndicatorKind::Domain => ("domain/report", "domain"),
                    IndicatorKind::Ip => ("ip-address/report", "ip"),
                };
                let req = self
                    .http
                    .get(format!("{base}/vtapi/v2/{path}"))
                    .query(&[("apikey", key.expose()), (param, value)]);
                let (status, body) = self.get(req).await?;
                match status {
                    StatusCode::OK => parse_v2(&body, kind, value),
                    _ => Err(v2_error(status, key)),
                }
            }
        }
    }
}

/// Parses a v3 URL, domain or IP address object.
pub fn parse_v3(body: &[u8]) -> Result<ObjectReport, String> {
    let (data, attrs) = envelope(body)?;
    let id = text(data.get("id")).ok_or("VirusTotal's answer has no id")?;
    let a = |k: &str| attrs.get(k);
    let engines = parse_engines(a("last_analysis_results"));
    let last_analysis = int(a("last_analysis_date"));
    Ok(ObjectReport {
        id,
        stats: parse_stats(a("last_analysis_stats")),
        analysed: last_analysis.is_some() || !engines.is_empty(),
        last_analysis,
        reputation: int(a("reputation")),
        categories: categories(a("categories")),
        tags: strings(a("tags"), MAX_NAMES),
        first_seen: int(a("first_submission_date")),
        last_seen: int(a("last_submission_date")),
        final_url: text(a("last_final_url")),
        title: text(a("title")),
        last_http_response_code: int(a("last_http_response_code"))
            .and_then(|n| u16::try_from(n).ok()),
        threat_names: strings(a("threat_names"), MAX_NAMES),
        registrar: text(a("registrar")),
        creation_date: int(a("creation_date")),
        last_dns_records: dns_records(a("last_dns_records")),
        asn: int(a("asn")).and_then(|n| u32::try_from(n).ok()),
        as_owner: text(a("as_owner")),
        country: text(a("country")),
        network: text(a("network")),
        engines,
        document: std::str::from_utf8(body)
            .ok()
            .and_then(|text| Document::new(text.to_string()).ok()),
    })
}

/// Parses a v2 report; `asked` is the URL, domain or address as sent.
pub fn parse_v2(body: &[u8], kind: IndicatorKind, asked: &str) -> Result<ObjectLookup, FetchError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| FetchError::Transient(format!("malformed JSON from VirusTotal: {e}")))?;
    match int(v.get("response_code")) {
        Some(1) => {}
        // An address or name VirusTotal calls invalid: asking again will not help.
        Some(-1) => {
            return Err(FetchError::Permanent(format!(
                "VirusTotal calls this {} invalid",
                kind.as_str()
            )))
        }
        // 0: unknown; -2: queued, which for a lookup means not known yet.
        _ => return Ok(ObjectLookup::Unknown),
    }
    let mut report = ObjectReport {
        id: asked.to_string(),
        categories: categories(v.get("categories")),
        as_owner: text(v.get("as_owner")),
        asn: int(v.get("asn")).and_then(|n| u32::try_from(n).ok()),
        country: text(v.get("country")),
        ..ObjectReport::default()
    };
    if kind == IndicatorKind::Url {
        let positives = count(v.get("positives"));
        let total = count(v.get("total"));
        report.stats = Stats {
            malicious: positives,
            undetected: total.saturating_sub(positives),
            ..Stats::default()
        };
        report.engines = scans(&v);
        report.last_analysis = scan_date(&v);
        report.analysed = report.last_analysis.is_some() || total > 0;
    }
    Ok(ObjectLookup::Found(Box::new(report)))
}

/// Categories as v3 (`{engine: category}`) or v2 (`[category]`) give them, each once.
fn categories(v: Option<&Value>) -> Vec<String> {
    let values: Vec<String> = match v {
        Some(Value::Object(map)) => map.values().filter_map(|c| text(Some(c))).collect(),
        Some(Value::Array(_)) => strings(v, MAX_NAMES),
        _ => Vec::new(),
    };
    let mut seen = BTreeSet::new();
    values
        .into_iter()
        .filter(|c| seen.insert(c.to_ascii_lowercase()))
        .take(MAX_RECORDS)
        .collect()
}

/// `last_dns_records` in short form: `A 192.0.2.1`, `MX mail.example.com`.
fn dns_records(v: Option<&Value>) -> Vec<String> {
    let Some(Value::Array(records)) = v else {
        return Vec::new();
    };
    records
        .iter()
        .filter_map(|r| {
            Some(format!(
                "{} {}",
                text(r.get("type"))?,
                text(r.get("value"))?
            ))
        })
        .take(MAX_RECORDS)
        .collect()
}
