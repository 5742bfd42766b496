//! Network indicators in any text: URLs, domains and IP addresses, defanged or not.
//!
//! Threat reports, e-mails and logs name the hosts an incident touched as well as its
//! file hashes; this module finds those (the hashes stay with [`super::Extractor`]). It is
//! separate from the hash scanner because its rules are different and slower: refanging
//! ([`defang`]), URL bounds and normalisation ([`url`]), the Public Suffix List
//! ([`domain`]), address ranges ([`ip`]) and a user's skip list ([`skip`]); [`scan`] ties
//! them together for one word.
//!
//! No indicator holds ASCII white space, so the input is cut into *words* at space, tab
//! and newline, and a chunk boundary only ever carries the partial word at its end: feeding
//! chunks cut anywhere gives the same result as one chunk, and memory stays bounded
//! (apart from the set of unique indicators, as with hashes). A word longer than
//! [`MAX_WORD`] is scanned in [`MAX_WORD`]-byte pieces counted in `Indicators::long_words`
//! (an indicator across a piece boundary may be lost or cut). Defanged forms written with
//! spaces (`evil [.] com`) are therefore not recognised.
//!
//! Decisions, for readers of the output:
//! - A URL gives only the URL: its host is not also reported as a domain (as the usual
//!   IOC tools do). Its text is used up even when URLs are not asked for, so turning URLs
//!   off does not turn their hosts into domains.
//! - Only http and https URLs are kept; `ftp://`/`fxp://` ones are counted
//!   (`other_schemes`). A URL on a non-public address counts as a private address.
//! - A domain in an e-mail address counts (`bob@evil-corp.com` → `evil-corp.com`); the
//!   local part never does.
//! - Counts (`duplicates`, `private_ips`, `skipped`, …) are of occurrences.
//!
//! Scanning is hand-written (`memchr` finds `://`; a word without `.`, `:` or a bracket is
//! skipped at once) rather than with `regex`, which is not in the tree: every step is
//! linear in its word, so the whole is O(input), and nothing panics on any bytes
//! (invalid UTF-8 is a separator).

mod defang;
mod domain;
mod ip;
mod scan;
mod skip;
mod url;

pub use domain::FILE_EXTENSION_TLDS;
pub use scan::MAX_WRITTEN;
pub use skip::{SkipList, MAX_SKIP_ENTRIES, MAX_SKIP_LINE};
pub use url::MAX_URL;

use scan::Collector;

/// Longest word scanned whole, in bytes; longer words are scanned in pieces.
pub const MAX_WORD: usize = 16 * 1024;

/// What an indicator is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndicatorKind {
    /// An http or https URL.
    Url,
    /// A domain name under a public suffix.
    Domain,
    /// An IPv4 or IPv6 address.
    Ip,
}

impl IndicatorKind {
    /// `url`, `domain` or `ip`.
    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorKind::Url => "url",
            IndicatorKind::Domain => "domain",
            IndicatorKind::Ip => "ip",
        }
    }
}

/// Which kinds to look for (all by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kinds {
    pub urls: bool,
    pub domains: bool,
    pub ips: bool,
}

impl Default for Kinds {
    fn default() -> Kinds {
        Kinds {
            urls: true,
            domains: true,
            ips: true,
        }
    }
}

/// `--kinds`: hashes and the other indicators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindList {
    pub hashes: bool,
    pub other: Kinds,
}

impl Kinds {
    /// None of the three.
    pub const NONE: Kinds = Kinds {
        urls: false,
        domains: false,
        ips: false,
    };
}

impl Default for KindList {
    /// Hashes only: what a scan looks up unless told otherwise (each other indicator costs
    /// a request of its own).
    fn default() -> KindList {
        KindList {
            hashes: true,
            other: Kinds::NONE,
        }
    }
}

impl KindList {
    /// Nothing at all: the start of a list built up kind by kind.
    pub const NONE: KindList = KindList {
        hashes: false,
        other: Kinds::NONE,
    };

    /// Whether URLs, domains or IPs are wanted.
    pub fn any_other(&self) -> bool {
        self.other.urls || self.other.domains || self.other.ips
    }

    /// Every kind either list names.
    pub fn union(self, more: KindList) -> KindList {
        KindList {
            hashes: self.hashes || more.hashes,
            other: Kinds {
                urls: self.other.urls || more.other.urls,
                domains: self.other.domains || more.other.domains,
                ips: self.other.ips || more.other.ips,
            },
        }
    }

    /// Parses `hashes,urls,domains,ips` (any of them, comma-separated, any case) or `all`:
    /// `scan --kinds`, `extract --kinds` and the web API's `kinds`.
    pub fn parse(text: &str) -> Result<KindList, String> {
        let mut kinds = KindList::NONE;
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word.to_ascii_lowercase().as_str() {
                "all" => {
                    kinds.hashes = true;
                    kinds.other = Default::default();
                }
                "hashes" | "hash" | "files" => kinds.hashes = true,
                "urls" | "url" => kinds.other.urls = true,
                "domains" | "domain" => kinds.other.domains = true,
                "ips" | "ip" => kinds.other.ips = true,
                _ => {
                    let shown: String = word.chars().take(40).filter(|c| !c.is_control()).collect();
                    return Err(format!(
                        "unknown kind {shown:?}: use hashes, urls, domains, ips (comma-separated) or all"
                    ));
                }
            }
        }
        if !kinds.hashes && !kinds.any_other() {
            return Err("no kind named: use hashes, urls, domains, ips or all".into());
        }
        Ok(kinds)
    }
}

/// One indicator found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    pub kind: IndicatorKind,
    /// Normal form: refanged, lower-case host, IDNA (`xn--`); a URL as `url::Url` writes it,
    /// an IP address as `std::net::IpAddr` displays it (IPv6 compressed).
    pub value: String,
    /// The first form seen in the text (perhaps defanged), at most [`MAX_WRITTEN`] bytes.
    pub written: String,
}

/// Indicators dropped by the skip list, by kind (occurrences, not unique values).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SkipCounts {
    pub urls: u64,
    pub domains: u64,
    pub ips: u64,
}

impl SkipCounts {
    /// Of every kind.
    pub fn total(&self) -> u64 {
        self.urls + self.domains + self.ips
    }
}

/// What extraction found. Counts are of occurrences.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Indicators {
    /// Unique per (kind, value), in first-seen order.
    pub found: Vec<Indicator>,
    /// Indicators seen again after their first occurrence.
    pub duplicates: u64,
    /// Non-public addresses dropped (bare or as a URL's host), unless `include_private`.
    pub private_ips: u64,
    /// Dropped by the skip list.
    pub skipped: SkipCounts,
    /// URLs longer than [`MAX_URL`], dropped.
    pub too_long: u64,
    /// `ftp://` (or `fxp://`) URLs, recognised but not kept.
    pub other_schemes: u64,
    /// Words longer than [`MAX_WORD`], scanned in pieces.
    pub long_words: u64,
}

impl Indicators {
    /// The values of one kind, in first-seen order.
    pub fn values(&self, kind: IndicatorKind) -> impl Iterator<Item = &str> {
        self.found
            .iter()
            .filter(move |i| i.kind == kind)
            .map(|i| i.value.as_str())
    }
}

/// What to extract.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IocOptions {
    pub kinds: Kinds,
    /// Keep private, loopback, documentation and other non-public addresses.
    pub include_private: bool,
    pub skip: SkipList,
}

/// The streaming extractor: `feed` chunks cut anywhere, then `finish`.
#[derive(Debug)]
pub struct IocExtractor {
    collector: Collector,
    /// The partial word at the end of the last chunk (at most [`MAX_WORD`] bytes).
    carry: Vec<u8>,
}

impl IocExtractor {
    pub fn new(opts: IocOptions) -> IocExtractor {
        IocExtractor {
            collector: Collector::new(opts),
            carry: Vec::new(),
        }
    }

    /// Scans the next chunk of input.
    pub fn feed(&mut self, mut chunk: &[u8]) {
        while let Some(i) = memchr::memchr3(b' ', b'\n', b'\t', chunk) {
            if self.carry.is_empty() && i <= MAX_WORD {
                self.collector.word(&chunk[..i]);
            } else {
                self.push(&chunk[..i]);
                self.end_word();
            }
            chunk = &chunk[i + 1..];
        }
        self.push(chunk);
    }

    /// Ends the input and returns what was found.
    pub fn finish(mut self) -> Indicators {
        self.end_word();
        self.collector.out
    }

    /// Adds to the partial word. A full [`MAX_WORD`] piece is scanned only once more of
    /// the word arrives, so a word of exactly [`MAX_WORD`] bytes is one word however the
    /// input was cut.
    fn push(&mut self, mut part: &[u8]) {
        while !part.is_empty() {
            if self.carry.len() == MAX_WORD {
                self.collector.word(&self.carry);
                self.carry.clear();
                self.collector.out.long_words += 1;
            }
            let take = (MAX_WORD - self.carry.len()).min(part.len());
            self.carry.extend_from_slice(&part[..take]);
            part = &part[take..];
        }
    }

    fn end_word(&mut self) {
        if !self.carry.is_empty() {
            self.collector.word(&self.carry);
            self.carry.clear();
        }
    }
}

/// Extracts indicators from a whole input at once.
pub fn extract_indicators(bytes: &[u8], opts: &IocOptions) -> Indicators {
    let mut x = IocExtractor::new(opts.clone());
    x.feed(bytes);
    x.finish()
}
