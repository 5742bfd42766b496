//! Domain names: a dotted run is a domain only if it ends in a real public suffix.
//!
//! The suffix comes from the Public Suffix List compiled into the `psl` crate (nothing is
//! fetched at run time; a newer list arrives with a newer crate). A name that *is* an ICANN
//! suffix (`co.uk`) is not a domain; a name that is a private-section suffix
//! (`duckdns.org`, `github.io`) is, since those are real hosts. `url::Host::parse` does
//! IDNA (UTS #46: `münchen.de` → `xn--mnchen-3ya.de`) and lower-cases; a trailing dot
//! is dropped. Labels are LDH (`[a-z0-9-]`, not starting or ending with `-`): a name with
//! `_` is a file or identifier, not a host name.
//!
//! Some real TLDs are also common file extensions ([`FILE_EXTENSION_TLDS`]): `invoice.zip`
//! or `setup.py` in a log is a file. Such a name counts only where the writer marked it as
//! a host: defanged (`evil[.]zip`), in a URL or in an e-mail address. `svchost.exe`,
//! `kernel32.dll` and `report.pdf` need no rule: `exe`, `dll` and `pdf` are not suffixes.

use psl::Psl;
use url::Host;

/// Real TLDs that are also file extensions seen in logs and reports: `.zip` archives,
/// `.mov` videos, `.py`/`.sh`/`.pl`/`.rs` scripts and sources, `.md` text, `.ps`
/// PostScript, `.app` macOS bundles, `.so` shared libraries. `.pl` is Poland too: a bare
/// Polish domain is dropped unless defanged, the price of not reporting every Perl script.
/// Not here: `.com` (real domains far outnumber DOS executables), `.dev`, `.cc`, `.in`.
pub const FILE_EXTENSION_TLDS: &[&str] = &[
    "zip", "mov", "py", "sh", "pl", "md", "rs", "ps", "app", "so",
];

/// Longest name looked at (bytes of the text, before IDNA); DNS names are at most 253.
const MAX_NAME: usize = 1024;

/// A normalised domain name (ASCII, lower case, no trailing dot) and whether its TLD is
/// also a file extension.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Name {
    pub(crate) ascii: String,
    pub(crate) file_like: bool,
}

/// Normalises `name` to ASCII lower case and checks it is an LDH host name; `None` if not.
/// No public-suffix check: skip lists may name internal hosts.
pub(crate) fn normalise_host(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > MAX_NAME {
        return None;
    }
    let ascii = match Host::parse(name).ok()? {
        Host::Domain(d) => d,
        Host::Ipv4(_) | Host::Ipv6(_) => return None,
    };
    let ascii = ascii.strip_suffix('.').map(str::to_owned).unwrap_or(ascii);
    if ascii.is_empty() || ascii.len() > 253 || !ascii.split('.').all(is_ldh_label) {
        return None;
    }
    Some(ascii)
}

/// A dotted run as a domain indicator: a valid host name whose suffix is on the list.
pub(crate) fn parse_domain(name: &str) -> Option<Name> {
    if !name.contains('.') {
        return None;
    }
    let ascii = normalise_host(name)?;
    if !has_public_suffix(&ascii) {
        return None;
    }
    let tld = ascii.rsplit('.').next().unwrap_or("");
    let file_like = FILE_EXTENSION_TLDS.contains(&tld);
    Some(Name { ascii, file_like })
}

/// Whether a normalised name ends in a known public suffix and is more than an ICANN one.
pub(crate) fn has_public_suffix(ascii: &str) -> bool {
    if !ascii.contains('.') {
        return false;
    }
    match psl::List.suffix(ascii.as_bytes()) {
        Some(s) if s.is_known() => {
            s.as_bytes().len() < ascii.len() || s.typ() == Some(psl::Type::Private)
        }
        _ => false,
    }
}

fn is_ldh_label(l: &str) -> bool {
    let b = l.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ascii(s: &str) -> Option<String> {
        parse_domain(s).map(|n| n.ascii)
    }

    #[test]
    fn only_names_on_the_public_suffix_list() {
        assert_eq!(ascii("Evil-Corp.COM"), Some("evil-corp.com".into()));
        assert_eq!(
            ascii("a.b.example.co.uk."),
            Some("a.b.example.co.uk".into())
        );
        assert_eq!(ascii("münchen.de"), Some("xn--mnchen-3ya.de".into()));
        assert_eq!(ascii("duckdns.org"), Some("duckdns.org".into()));
        for not in [
            "co.uk",
            "com",
            "svchost.exe",
            "kernel32.dll",
            "report.pdf",
            "v2.3.1",
            "1.2.3.4.5",
            "foo.unknowntld",
            "my_file.com",
            "-a.com",
            "a..com",
        ] {
            assert_eq!(ascii(not), None, "{not}");
        }
    }

    #[test]
    fn file_extension_tlds_are_flagged() {
        assert!(parse_domain("invoice.zip").unwrap().file_like);
        assert!(!parse_domain("evil.com").unwrap().file_like);
    }
}
