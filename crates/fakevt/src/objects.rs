//! The fake's URLs, domains and IP addresses: the objects VirusTotal "knows" besides files,
//! so tests can enumerate them by kind, and the parsing of the identifiers the API takes for
//! them (a URL as unpadded URL-safe base64 or as the SHA-256 of its text, a domain name,
//! an IPv4 or IPv6 address). Generated in `object_gen`, answered in `object_answers`.
//!
//! URL identifiers decode with the `base64` crate (alloc only): VirusTotal's own encoding.

use std::collections::HashMap;
use std::net::IpAddr;

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// What kind of answer an object gives, so tests can pick one without magic numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// Several engines flag it; a URL has threat names.
    Malicious,
    /// One engine at most says malicious, one or two say suspicious.
    Suspicious,
    /// No engine flags it.
    Clean,
    /// Known but never analysed: no analysis date, stats or results.
    NeverAnalysed,
    /// Flagged, and its text fields (title, categories, threat names, registrar, whois,
    /// AS owner) attack HTML, spreadsheets and terminals.
    Hostile,
}

/// The verdict part every object shares.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// Engines saying `malicious` (the `last_analysis_stats` figure).
    pub malicious: u32,
    /// Engines saying `suspicious`.
    pub suspicious: u32,
    /// When it was last analysed; `None` for [`ObjectKind::NeverAnalysed`].
    pub last_analysis: Option<i64>,
    pub reputation: i64,
    pub tags: Vec<String>,
    /// `(engine, category)` pairs of the `categories` attribute (IP addresses have none,
    /// as on VirusTotal).
    pub categories: Vec<(String, String)>,
    /// Seed of this object's per-engine results.
    pub engine_seed: u64,
}

/// One URL of the corpus.
#[derive(Debug, Clone)]
pub struct CorpusUrl {
    pub index: usize,
    pub kind: ObjectKind,
    /// The URL as submitted (and as answered in `attributes.url`).
    pub url: String,
    /// SHA-256 hex of `url`: the `id` VirusTotal answers with.
    pub sha256: String,
    /// `url` as unpadded URL-safe base64: the identifier a client asks with.
    pub identifier: String,
    /// The host of `url` (a corpus domain, another domain, or a corpus IP address).
    pub host: String,
    pub last_final_url: String,
    /// `None` for never analysed URLs (no page was fetched).
    pub title: Option<String>,
    pub last_http_response_code: Option<u16>,
    pub threat_names: Vec<String>,
    pub first_submission: i64,
    pub last_submission: i64,
    pub times_submitted: u32,
    pub analysis: Analysis,
}

/// One DNS record of a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    /// `A`, `AAAA`, `NS`, `MX`, `TXT`.
    pub record_type: &'static str,
    pub value: String,
    pub ttl: u32,
}

/// One domain of the corpus.
#[derive(Debug, Clone)]
pub struct CorpusDomain {
    pub index: usize,
    pub kind: ObjectKind,
    /// Lower case, a registrable name or a host under one, on a real public suffix.
    pub domain: String,
    /// The public suffix (`com`, `co.uk`, `ru`, ...).
    pub tld: &'static str,
    pub registrar: String,
    pub creation_date: i64,
    pub dns: Vec<DnsRecord>,
    pub whois: String,
    pub analysis: Analysis,
}

/// One IP address of the corpus: every one is a public unicast address.
#[derive(Debug, Clone)]
pub struct CorpusIp {
    pub index: usize,
    pub kind: ObjectKind,
    /// Canonical text (`Display` of [`IpAddr`]): lower case, IPv6 compressed.
    pub ip: String,
    pub addr: IpAddr,
    pub asn: u32,
    pub as_owner: String,
    /// ISO 3166 alpha-2.
    pub country: &'static str,
    /// `EU`, `NA`, `SA`, `AS`, `AF`, `OC`.
    pub continent: &'static str,
    /// CIDR of the announcing network.
    pub network: String,
    /// `RIPE NCC`, `ARIN`, `APNIC`, `LACNIC`, `AFRINIC`.
    pub regional_internet_registry: &'static str,
    pub whois: String,
    pub analysis: Analysis,
}

/// The known URLs, domains and IPs with their O(1) indexes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Objects {
    pub urls: Vec<CorpusUrl>,
    pub domains: Vec<CorpusDomain>,
    pub ips: Vec<CorpusIp>,
    pub url_by_sha256: HashMap<String, usize>,
    pub domain_by_name: HashMap<String, usize>,
    pub ip_by_text: HashMap<String, usize>,
    /// Corpus URLs by host (a domain or an IP's canonical text), for v2's `detected_urls`.
    pub urls_by_host: HashMap<String, Vec<usize>>,
    /// Corpus domains resolving to an IP (canonical text), for v2's `resolutions`.
    pub domains_by_ip: HashMap<String, Vec<usize>>,
}

/// How many URLs, domains and IPs (each) a corpus of `files` files holds: half as many,
/// at least 20 so every kind appears (the kinds cycle every ten: malicious, clean,
/// hostile, suspicious, clean, malicious, never analysed, hostile, clean, hostile), at
/// most 20,000 so a million-file benchmark corpus stays cheap.
pub fn objects_for(files: usize) -> usize {
    (files / 2).clamp(20, 20_000)
}

/// The unpadded URL-safe base64 of a URL: VirusTotal's v3 URL identifier.
pub fn url_identifier(url: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url.as_bytes())
}

/// The SHA-256 hex of a URL's text: the `id` VirusTotal answers for it.
pub fn url_sha256(url: &str) -> String {
    Sha256::digest(url.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A URL no corpus holds (its host is not generated by any seed).
pub fn unknown_url(i: u64) -> String {
    format!("https://never-seen-{i}.com/path/{i}.html")
}

/// A well-formed domain no corpus holds.
pub fn unknown_domain(i: u64) -> String {
    format!("never-seen-{i}.co.uk")
}

/// A public IPv4 address no corpus holds (corpus addresses never start with 23).
pub fn unknown_ip(i: u64) -> String {
    format!(
        "23.{}.{}.{}",
        (i >> 16) & 0xff,
        (i >> 8) & 0xff,
        (i & 0x7f) + 1
    )
}

/// Longest identifier looked at; anything longer is refused before decoding.
const MAX_ID: usize = 16 * 1024;

/// Shortens hostile input for an error message or a counter key.
pub(crate) fn bounded(s: &str) -> String {
    s.chars().take(100).collect()
}

/// A v3 URL identifier (SHA-256 hex, or unpadded URL-safe base64 of the URL; padding is
/// tolerated) to the SHA-256 of the URL.
pub(crate) fn parse_url_id(id: &str) -> Result<String, String> {
    if id.len() > MAX_ID {
        return Err("URL identifier too long".into());
    }
    if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(id.to_ascii_lowercase());
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id.trim_end_matches('='))
        .map_err(|_| format!("Invalid URL identifier: {}", bounded(id)))?;
    let url = String::from_utf8(bytes)
        .map_err(|_| format!("URL identifier is not UTF-8: {}", bounded(id)))?;
    if url.trim().is_empty() {
        return Err("Empty URL".into());
    }
    Ok(url_sha256(&url))
}

/// A domain name to its lookup form (lower case, no trailing dot), or why it is not one:
/// at most 253 characters, two labels or more of 1-63 letters, digits and inner hyphens,
/// and an alphabetic (or IDNA `xn--`) top label.
pub(crate) fn parse_domain(name: &str) -> Result<String, String> {
    let bad = || format!("Domain \"{}\" is not a valid domain pattern", bounded(name));
    let d = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if d.is_empty() || d.len() > 253 {
        return Err(bad());
    }
    let labels: Vec<&str> = d.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let top = labels[labels.len() - 1];
    let top_ok = top.bytes().all(|b| b.is_ascii_alphabetic()) || top.starts_with("xn--");
    if labels.len() < 2 || !labels.iter().all(label_ok) || !top_ok {
        return Err(bad());
    }
    Ok(d)
}

/// An IP address to its canonical text, or why it is not one.
pub(crate) fn parse_ip(text: &str) -> Result<String, String> {
    text.parse::<IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| format!("\"{}\" is not a valid IP address", bounded(text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_parse_and_refuse() {
        let url = "http://evil-update-17.com/a?b=c";
        let sha = url_sha256(url);
        assert_eq!(parse_url_id(&url_identifier(url)), Ok(sha.clone()));
        assert_eq!(parse_url_id(&sha.to_uppercase()), Ok(sha));
        assert!(parse_url_id("not base64!").is_err());
        assert!(parse_url_id("__4").is_err(), "bytes ff fe are not UTF-8");
        assert!(parse_url_id("").is_err());
        assert_eq!(
            parse_domain("CDN-4.Example-Shop.net."),
            Ok("cdn-4.example-shop.net".into())
        );
        for bad in [
            "localhost",
            "-a.com",
            "a..com",
            "a_b.com",
            "a.123",
            "x.c om",
            "",
        ] {
            assert!(parse_domain(bad).is_err(), "{bad}");
        }
        assert!(parse_domain(&format!("{}.com", "a".repeat(64))).is_err());
        assert_eq!(parse_ip("2A01:04F8:0:0::1"), Ok("2a01:4f8::1".into()));
        for bad in ["1.2.3", "256.1.1.1", "01.2.3.4", "::g", "1.2.3.4/24"] {
            assert!(parse_ip(bad).is_err(), "{bad}");
        }
    }
}
