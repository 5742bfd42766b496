//! The skip list: indicators a team already knows about (its own domains, its CDN) and
//! does not want reported.
//!
//! One entry a line; blank lines and lines starting with `#` are ignored, and so is
//! anything after ` #`. An entry is a domain (`example.com` skips it and every subdomain,
//! as domain indicators and as URL hosts), an IP address (skips it, bare or as a URL
//! host) or an http(s) URL prefix (`https://cdn.example.net/static/` skips URLs whose
//! normal form starts with the prefix's normal form). Entries may be defanged. The file is
//! user-supplied, so it is bounded ([`MAX_SKIP_ENTRIES`], [`MAX_SKIP_LINE`]) and every
//! error names its line.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use super::defang::Refanged;
use super::domain;
use super::url::UrlHost;
use crate::{Error, Result};

/// Most entries a skip list may hold.
pub const MAX_SKIP_ENTRIES: usize = 100_000;
/// Longest line of a skip list, in bytes.
pub const MAX_SKIP_LINE: usize = 4096;

/// Parsed skip-list entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkipList {
    domains: HashSet<String>,
    ips: HashSet<IpAddr>,
    /// URL prefixes (normal form) by their host, so a URL is checked against its host's only.
    prefixes: HashMap<String, Vec<String>>,
}

impl SkipList {
    /// Parses a skip list; the error names the first bad line (1-based).
    pub fn parse(text: &[u8]) -> Result<SkipList> {
        let mut list = SkipList::default();
        let mut entries = 0usize;
        for (i, raw) in text.split(|&c| c == b'\n').enumerate() {
            let line = i + 1;
            let bad = |why: String| Error::SkipList { line, why };
            if raw.len() > MAX_SKIP_LINE {
                return Err(bad(format!("longer than {MAX_SKIP_LINE} bytes")));
            }
            let raw = std::str::from_utf8(raw).map_err(|_| bad("not UTF-8 text".into()))?;
            let entry = raw.split(" #").next().unwrap_or("").trim();
            if entry.is_empty() || entry.starts_with('#') {
                continue;
            }
            entries += 1;
            if entries > MAX_SKIP_ENTRIES {
                return Err(bad(format!("more than {MAX_SKIP_ENTRIES} entries")));
            }
            list.add(entry).map_err(bad)?;
        }
        Ok(list)
    }

    /// Whether the list has no entry.
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty() && self.ips.is_empty() && self.prefixes.is_empty()
    }

    fn add(&mut self, entry: &str) -> std::result::Result<(), String> {
        let refanged = Refanged::new(entry);
        let entry = refanged.text();
        if entry.split_whitespace().nth(1).is_some() {
            return Err(format!("{entry:?} has spaces: one entry a line"));
        }
        if entry.contains("://") {
            let (url, host) = super::url::normalise(entry).ok_or_else(|| {
                format!("{entry:?} is not an http(s) URL with a public host name or IP address")
            })?;
            let key = host_key(&host);
            self.prefixes
                .entry(key)
                .or_default()
                .push(url.as_str().to_owned());
        } else if let Ok(ip) = entry.parse::<IpAddr>() {
            self.ips.insert(ip.to_canonical());
        } else if let Some(d) = domain::normalise_host(entry) {
            self.domains.insert(d);
        } else {
            return Err(format!(
                "{entry:?} is not a domain, an IP address or an http(s) URL prefix"
            ));
        }
        Ok(())
    }

    /// Whether `name` (normalised) or one of its parent domains is listed.
    pub(crate) fn skips_domain(&self, name: &str) -> bool {
        if self.domains.is_empty() {
            return false;
        }
        let mut rest = name;
        loop {
            if self.domains.contains(rest) {
                return true;
            }
            match rest.find('.') {
                Some(dot) => rest = &rest[dot + 1..],
                None => return false,
            }
        }
    }

    pub(crate) fn skips_ip(&self, ip: IpAddr) -> bool {
        self.ips.contains(&ip)
    }

    /// Whether a normalised URL is skipped by its host or a prefix.
    pub(crate) fn skips_url(&self, url: &str, host: &UrlHost) -> bool {
        let by_host = match host {
            UrlHost::Domain(d) => self.skips_domain(d),
            UrlHost::Ip(ip) => self.skips_ip(*ip),
        };
        by_host
            || self
                .prefixes
                .get(&host_key(host))
                .is_some_and(|ps| ps.iter().any(|p| url.starts_with(p.as_str())))
    }
}

fn host_key(host: &UrlHost) -> String {
    match host {
        UrlHost::Domain(d) => d.clone(),
        UrlHost::Ip(ip) => ip.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_comments_and_errors() {
        let l = SkipList::parse(
            b"# ours\n\nExample.com # our site\n10.0.0.1\nhxxps://cdn[.]example.net/static/\n",
        )
        .unwrap();
        assert!(l.skips_domain("example.com") && l.skips_domain("a.b.example.com"));
        assert!(!l.skips_domain("notexample.com"));
        assert!(l.skips_ip("10.0.0.1".parse().unwrap()));
        let cdn = UrlHost::Domain("cdn.example.net".into());
        assert!(l.skips_url("https://cdn.example.net/static/a.js", &cdn));
        assert!(!l.skips_url("https://cdn.example.net/other", &cdn));
        let e = SkipList::parse(b"example.com\n\nnot a domain\n").unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
        let e = SkipList::parse(b"example.com\nx\xff.com\n").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let long = vec![b'a'; MAX_SKIP_LINE + 1];
        assert!(SkipList::parse(&long).is_err());
    }
}
