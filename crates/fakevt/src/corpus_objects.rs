//! The corpus's URLs, domains and IP addresses as tests find them: by kind, by text, by
//! id. Apart from `objects` so that module needs nothing of the corpus (no import loop).

use crate::corpus::Corpus;
use crate::objects::{
    parse_domain, parse_ip, url_sha256, CorpusDomain, CorpusIp, CorpusUrl, ObjectKind,
};

impl Corpus {
    /// Every known URL, in index order; kinds cycle as described in [`objects_for`].
    pub fn urls(&self) -> &[CorpusUrl] {
        &self.objects.urls
    }

    pub fn domains(&self) -> &[CorpusDomain] {
        &self.objects.domains
    }

    pub fn ips(&self) -> &[CorpusIp] {
        &self.objects.ips
    }

    /// A URL by its text, exactly as listed in [`CorpusUrl::url`].
    pub fn find_url(&self, url: &str) -> Option<&CorpusUrl> {
        self.url_by_sha256(&url_sha256(url))
    }

    /// A URL by the SHA-256 hex of its text (either case).
    pub fn url_by_sha256(&self, sha256: &str) -> Option<&CorpusUrl> {
        let o = &self.objects;
        o.url_by_sha256
            .get(&sha256.to_ascii_lowercase())
            .map(|&i| &o.urls[i])
    }

    /// A domain by name, case-insensitively, with or without the root's trailing dot.
    pub fn find_domain(&self, name: &str) -> Option<&CorpusDomain> {
        let o = &self.objects;
        let key = parse_domain(name).ok()?;
        o.domain_by_name.get(&key).map(|&i| &o.domains[i])
    }

    /// An IP address in any textual form `IpAddr` parses.
    pub fn find_ip(&self, ip: &str) -> Option<&CorpusIp> {
        let o = &self.objects;
        let key = parse_ip(ip).ok()?;
        o.ip_by_text.get(&key).map(|&i| &o.ips[i])
    }

    pub fn first_url_of(&self, kind: ObjectKind) -> Option<&CorpusUrl> {
        self.objects.urls.iter().find(|u| u.kind == kind)
    }

    pub fn first_domain_of(&self, kind: ObjectKind) -> Option<&CorpusDomain> {
        self.objects.domains.iter().find(|d| d.kind == kind)
    }

    pub fn first_ip_of(&self, kind: ObjectKind) -> Option<&CorpusIp> {
        self.objects.ips.iter().find(|i| i.kind == kind)
    }
}
