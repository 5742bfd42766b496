//! The fixed tables the object generator draws from: engine names, categories, name
//! stems, public suffixes, registrars, network owners, and the hostile texts. Kept apart
//! from `object_gen` so the generator reads as logic, not lists.

use crate::objects::ObjectKind;

/// Texts that attack whatever shows them: HTML, spreadsheets (CSV/XLSX formulas),
/// terminals (ANSI screen clear, OSC 8 hyperlink). Hostile objects carry these in their
/// free-text fields; one in every nine carries [`long_hostile`] instead.
pub const HOSTILE_TEXTS: &[&str] = &[
    "<script>alert(document.domain)</script>",
    "\"><img src=x onerror=alert(1)>",
    "=HYPERLINK(\"http://evil-update-17.com/x\",\"Open invoice\")",
    "+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C notepad'!A0",
    "\u{1b}[2J\u{1b}[1;31mYOUR FILES ARE ENCRYPTED\u{1b}[0m",
    "\u{1b}]8;;http://evil-update-17.com/\u{7}https://bank-online.co.uk/\u{1b}]8;;\u{7}",
    "-10+20,\"quoted\", comma\nand newline\r",
];

/// The very long hostile text: 10,000 characters ending in markup.
pub fn long_hostile() -> String {
    format!("{}<b>long</b>", "A".repeat(10_000 - 11))
}

/// The `n`th hostile text, the long one included.
pub(crate) fn hostile_text(n: usize) -> String {
    match HOSTILE_TEXTS.get(n % (HOSTILE_TEXTS.len() + 1)) {
        Some(t) => (*t).to_string(),
        None => long_hostile(),
    }
}

/// URL scanners, like VirusTotal's list for URLs, domains and IPs.
pub(crate) const URL_ENGINES: &[&str] = &[
    "Abusix",
    "Acronis",
    "ADMINUSLabs",
    "AlienVault",
    "alphaMountain.ai",
    "Antiy-AVL",
    "Avira",
    "benkow.cc",
    "Bfore.Ai PreCrime",
    "BitDefender",
    "Blueliv",
    "Certego",
    "Chong Lua Dao",
    "CINS Army",
    "Cluster25",
    "CRDF",
    "Criminal IP",
    "CyRadar",
    "Dr.Web",
    "Emsisoft",
    "ESET",
    "Forcepoint ThreatSeeker",
    "Fortinet",
    "G-Data",
    "Google Safebrowsing",
    "GreenSnow",
    "Gridinsoft",
    "Heimdal Security",
    "IPsum",
    "Juniper Networks",
    "Kaspersky",
    "Lionic",
    "Lumu",
    "MalwarePatrol",
    "Netcraft",
    "OpenPhish",
    "Phishing Database",
    "PhishLabs",
    "Phishtank",
    "Quttera",
    "Sophos",
    "Spam404",
    "Sucuri SiteCheck",
    "Trustwave",
    "URLhaus",
    "Viettel Threat Intelligence",
    "ViriBack",
    "Webroot",
    "Xcitium Verdict Cloud",
    "Yandex Safebrowsing",
    "zvelo",
];

pub(crate) const CATEGORISERS: &[&str] = &[
    "Forcepoint ThreatSeeker",
    "Sophos",
    "BitDefender",
    "alphaMountain.ai",
    "Xcitium Verdict Cloud",
];
pub(crate) const BAD_CATEGORIES: &[&str] = &[
    "malicious web sites",
    "phishing and other frauds",
    "malware repository",
    "command and control",
    "Malicious (alphaMountain.ai)",
];
pub(crate) const GOOD_CATEGORIES: &[&str] = &[
    "business and economy",
    "information technology",
    "news and media",
    "shopping",
    "search engines and portals",
];
pub(crate) const ODD_CATEGORIES: &[&str] =
    &["newly registered websites", "parked", "uncategorized"];
pub(crate) const BAD_STEMS: &[&str] = &[
    "evil-update",
    "secure-login",
    "account-verify",
    "free-gift",
    "invoice-docs",
    "update-service",
    "wallet-connect",
    "parcel-track",
];
pub(crate) const GOOD_STEMS: &[&str] = &[
    "example-shop",
    "news-daily",
    "city-library",
    "weather-now",
    "photo-share",
    "green-garden",
];
/// Public suffixes, several of two labels.
pub(crate) const TLDS: &[&str] = &[
    "com", "net", "org", "co.uk", "ru", "top", "xyz", "info", "de", "io", "com.br", "online", "cn",
    "fr", "shop", "com.au",
];
pub(crate) const REGISTRARS: &[&str] = &[
    "NameCheap, Inc.",
    "GoDaddy.com, LLC",
    "REG.RU LLC",
    "RU-CENTER-RU",
    "MarkMonitor Inc.",
    "Tucows Domains Inc.",
    "NameSilo, LLC",
    "Gandi SAS",
    "PDR Ltd. d/b/a PublicDomainRegistry.com",
];
/// (ASN, owner, country, continent, RIR, first IPv4 octets, IPv6 /32 prefix). No octet is
/// private, loopback, link-local, CGNAT (100), documentation or benchmarking (192, 198,
/// 203) or multicast; no prefix is 2001:db8.
pub(crate) type Owner = (
    u32,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [u8],
    &'static str,
);
pub(crate) const OWNERS: &[Owner] = &[
    (
        24940,
        "Hetzner Online GmbH",
        "DE",
        "EU",
        "RIPE NCC",
        &[88, 95, 116, 135],
        "2a01:4f8",
    ),
    (
        16276,
        "OVH SAS",
        "FR",
        "EU",
        "RIPE NCC",
        &[51, 54, 137, 145],
        "2001:41d0",
    ),
    (
        14061,
        "DIGITALOCEAN-ASN",
        "US",
        "NA",
        "ARIN",
        &[104, 134, 159, 165],
        "2604:a880",
    ),
    (
        12389,
        "PJSC Rostelecom",
        "RU",
        "EU",
        "RIPE NCC",
        &[5, 31, 77, 91, 94, 212],
        "2a02:2698",
    ),
    (
        45102,
        "Alibaba US Technology Co., Ltd.",
        "CN",
        "AS",
        "APNIC",
        &[47, 39],
        "2408:4000",
    ),
    (
        28573,
        "CLARO S.A.",
        "BR",
        "SA",
        "LACNIC",
        &[177, 187, 189, 201],
        "2804:14c",
    ),
    (
        37100,
        "SEACOM-AS",
        "ZA",
        "AF",
        "AFRINIC",
        &[41, 102, 105, 197],
        "2c0f:fb50",
    ),
    (
        1221,
        "Telstra Corporation Ltd",
        "AU",
        "OC",
        "APNIC",
        &[1, 58, 101, 110],
        "2001:8000",
    ),
];

/// Kinds cycle every ten, three hostile so a small corpus shows many attacks.
pub(crate) const CYCLE: [ObjectKind; 10] = [
    ObjectKind::Malicious,
    ObjectKind::Clean,
    ObjectKind::Hostile,
    ObjectKind::Suspicious,
    ObjectKind::Clean,
    ObjectKind::Malicious,
    ObjectKind::NeverAnalysed,
    ObjectKind::Hostile,
    ObjectKind::Clean,
    ObjectKind::Hostile,
];
