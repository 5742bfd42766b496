//! One word of text (no ASCII white space in it) → indicators.
//!
//! The word is cut at invalid UTF-8 (a separator), each valid piece is refanged, URLs are
//! taken first (their text is then used up: a URL gives only the URL, not also its host as
//! a domain, as the usual IOC tools do), and what lies between URLs is cut into *runs* of
//! host characters — letters and digits (any script, for IDN), `-`, `.`, `_` and `:` —
//! each of which is at most one IP address or domain. Taking whole runs is what keeps
//! `1.2.3.4.5`, `v1.2.3.4`, `a1.2.3.4` and hex digests from giving anything.
//!
//! A dotted quad right after `name/` is a version (`Chrome/120.0.0.0`), not an address.
//! A run followed by `@` is an e-mail local part and ignored; one after `@` is an
//! e-mail domain. A run with colons is an IPv6 address if it parses as one, else it is
//! cut at the colons (`evil.com:443`, `45.142.212.61:8080`).

use std::collections::HashSet;
use std::net::IpAddr;

use super::defang::Refanged;
use super::url::{self, UrlHost, MAX_URL};
use super::{domain, ip, Indicator, IndicatorKind, Indicators, IocOptions};

/// Longest `Indicator::written`, in bytes (cut at a character boundary).
pub const MAX_WRITTEN: usize = 512;

/// What the extractor has found so far.
#[derive(Debug)]
pub(crate) struct Collector {
    pub(crate) opts: IocOptions,
    pub(crate) out: Indicators,
    seen: HashSet<(IndicatorKind, String)>,
}

impl Collector {
    pub(crate) fn new(opts: IocOptions) -> Collector {
        Collector {
            opts,
            out: Indicators::default(),
            seen: HashSet::new(),
        }
    }

    /// Scans one word (or one piece of an over-long word).
    pub(crate) fn word(&mut self, word: &[u8]) {
        if !word
            .iter()
            .any(|&c| matches!(c, b'.' | b':' | b'[' | b'(' | b'{'))
        {
            return;
        }
        for chunk in word.utf8_chunks() {
            let valid = chunk.valid();
            if !valid.is_empty() {
                self.segment(valid);
            }
        }
    }

    fn segment(&mut self, s: &str) {
        let r = Refanged::new(s);
        let text = r.text();
        let mut at = 0;
        while let Some(span) = url::next_span(text, at) {
            self.runs(&r, at, span.start);
            self.url(&r, span);
            at = span.end;
        }
        self.runs(&r, at, text.len());
    }

    fn url(&mut self, r: &Refanged<'_>, span: url::Span) {
        let kinds = self.opts.kinds;
        if !kinds.urls {
            return;
        }
        if span.end - span.start > MAX_URL {
            self.out.too_long += 1;
            return;
        }
        if span.ftp {
            self.out.other_schemes += 1;
            return;
        }
        let Some((u, host)) = url::normalise(&r.text()[span.start..span.end]) else {
            return;
        };
        if let UrlHost::Ip(addr) = host {
            if !self.opts.include_private && !ip::is_public(addr) {
                self.out.private_ips += 1;
                return;
            }
        }
        if self.opts.skip.skips_url(u.as_str(), &host) {
            self.out.skipped.urls += 1;
            return;
        }
        self.add(
            IndicatorKind::Url,
            u.into(),
            r.written(span.start, span.end),
        );
    }

    /// Cuts `text[a..b]` into runs of host characters.
    fn runs(&mut self, r: &Refanged<'_>, a: usize, b: usize) {
        let kinds = self.opts.kinds;
        if !(kinds.domains || kinds.ips) || a >= b {
            return;
        }
        let text = r.text();
        let mut start = None;
        for (i, c) in text[a..b].char_indices() {
            let i = a + i;
            if is_run_char(c) {
                start.get_or_insert(i);
            } else if let Some(s) = start.take() {
                self.run(r, s, i);
            }
        }
        if let Some(s) = start {
            self.run(r, s, b);
        }
    }

    fn run(&mut self, r: &Refanged<'_>, a: usize, b: usize) {
        let text = r.text();
        if text[b..].starts_with('@') {
            return;
        }
        let in_email = text[..a].ends_with('@');
        let run = &text[a..b];
        if !run.contains(':') {
            self.host(r, a, b, in_email);
            return;
        }
        if self.opts.kinds.ips {
            // Prose may end the address with `.` or `:`; `::` at the end is the address's.
            let v6 = run.trim_end_matches('.');
            let v6 = v6
                .strip_suffix(':')
                .filter(|t| !t.ends_with(':'))
                .unwrap_or(v6);
            if let Some(addr) = ip::parse_v6(v6) {
                self.ip(addr, r.written(a, a + v6.len()));
                return;
            }
        }
        let mut at = a;
        for part in run.split(':') {
            self.host(r, at, at + part.len(), false);
            at += part.len() + 1;
        }
    }

    /// A run without colons: an IPv4 address, a domain or nothing.
    fn host(&mut self, r: &Refanged<'_>, a: usize, b: usize, in_email: bool) {
        let text = r.text();
        let trim: &[char] = &['.', '-', '_'];
        let t = text[a..b].trim_end_matches(trim);
        let b = a + t.len();
        let t = t.trim_start_matches(trim);
        let a = b - t.len();
        if !t.contains('.') {
            return;
        }
        if t.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
            if self.opts.kinds.ips && !after_product_name(text, a) {
                if let Some(addr) = ip::parse_v4(t) {
                    self.ip(addr, r.written(a, b));
                }
            }
            return;
        }
        if !self.opts.kinds.domains {
            return;
        }
        let Some(name) = domain::parse_domain(t) else {
            return;
        };
        if name.file_like && !in_email && !r.was_defanged(a, b) {
            return;
        }
        if self.opts.skip.skips_domain(&name.ascii) {
            self.out.skipped.domains += 1;
            return;
        }
        self.add(IndicatorKind::Domain, name.ascii, r.written(a, b));
    }

    fn ip(&mut self, addr: IpAddr, written: &str) {
        if !self.opts.include_private && !ip::is_public(addr) {
            self.out.private_ips += 1;
            return;
        }
        if self.opts.skip.skips_ip(addr) {
            self.out.skipped.ips += 1;
            return;
        }
        self.add(IndicatorKind::Ip, addr.to_string(), written);
    }

    fn add(&mut self, kind: IndicatorKind, value: String, written: &str) {
        if !self.seen.insert((kind, value.clone())) {
            self.out.duplicates += 1;
            return;
        }
        self.out.found.push(Indicator {
            kind,
            value,
            written: bounded(written).to_owned(),
        });
    }
}

/// Whether the run at `a` follows `name/`, as versions do in user agents and banners
/// (`Chrome/120.0.0.0`, `nginx/1.25.3`): a quad there is a version, not an address.
fn after_product_name(text: &str, a: usize) -> bool {
    let before = &text.as_bytes()[..a];
    before.len() >= 2
        && before[before.len() - 1] == b'/'
        && before[before.len() - 2].is_ascii_alphanumeric()
}

fn is_run_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '-' | '.' | '_' | ':')
        || (!c.is_ascii() && (c.is_alphanumeric() || ('\u{300}'..='\u{36f}').contains(&c)))
}

fn bounded(s: &str) -> &str {
    if s.len() <= MAX_WRITTEN {
        return s;
    }
    let mut end = MAX_WRITTEN;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
