//! What VirusTotal knows about a URL, a domain or an IP address: the object behind a report
//! row of kind `url`, `domain` or `ip`, as the client parses it (`vt::objects`) and the
//! stores keep it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Document, EngineResult, Stats};
use crate::extract::ioc::IndicatorKind;

/// What VirusTotal knows about a URL, a domain or an IP address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ObjectReport {
    /// VirusTotal's id: a URL's SHA-256, the domain, the address.
    pub id: String,
    pub stats: Stats,
    /// Whether any engine looked at it.
    pub analysed: bool,
    pub last_analysis: Option<i64>,
    pub reputation: Option<i64>,
    /// The categories engines gave it, each once, in order.
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    /// URL: where it led, its page title, the last HTTP status, the threat names.
    pub final_url: Option<String>,
    pub title: Option<String>,
    pub last_http_response_code: Option<u16>,
    pub threat_names: Vec<String>,
    /// Domain: the registrar, the creation date, the DNS records as `TYPE value`.
    pub registrar: Option<String>,
    pub creation_date: Option<i64>,
    pub last_dns_records: Vec<String>,
    /// IP address: the autonomous system, its owner, the country and the network.
    pub asn: Option<u32>,
    pub as_owner: Option<String>,
    pub country: Option<String>,
    pub network: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub engines: BTreeMap<String, EngineResult>,
    /// A v3 answer as it came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<Document>,
}

/// The VirusTotal page of a URL, a domain or an IP address (a URL's page is named by the
/// SHA-256 of the URL, whatever id the answer carried).
pub fn object_permalink(kind: IndicatorKind, value: &str) -> String {
    match kind {
        IndicatorKind::Url => {
            let digest = Sha256::digest(value.as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            format!("https://www.virustotal.com/gui/url/{hex}")
        }
        IndicatorKind::Domain => format!("https://www.virustotal.com/gui/domain/{value}"),
        IndicatorKind::Ip => format!("https://www.virustotal.com/gui/ip-address/{value}"),
    }
}
