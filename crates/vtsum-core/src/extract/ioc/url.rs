//! URLs: where one starts and ends in running text, and its normal form.
//!
//! A URL starts at `http://`, `https://` or `ftp://` (any case, after refanging; the
//! scheme may be glued to the word before, as in `URL:http://`). It ends before white
//! space, a control byte, a quote, `<`, `>`, `` ` ``, `\`, `^`, `{`, `}`, `|`, `[`, `]`
//! (except an `[IPv6]` host) or a comma — a comma is legal in a URL but threat feeds are
//! CSV and prose lists far more often than their URLs hold commas, so a URL with one is cut
//! there; also before typographic quotes and other non-ASCII punctuation (`“…”`, `«…»`).
//! Then prose is trimmed off its end: `.`, `,`, `;`, `:`, `!`, `?`, `*`, and a `)`
//! with no `(` to match inside the URL, so `(see https://x.com/a)` gives `https://x.com/a`
//! while Wikipedia's `https://en.wikipedia.org/wiki/Foo_(bar)` keeps its balanced `)`.
//!
//! `url::Url` (WHATWG parsing, already in the tree through reqwest) normalises: scheme and
//! host lower case, IDNA for non-ASCII hosts, default port dropped, an empty path becomes
//! `/`, unsafe bytes percent-encoded. Only http and https URLs are kept: `ftp://` (and
//! `fxp://`) is recognised so its host is not mistaken for a bare domain, and counted as
//! `Indicators::other_schemes`. A URL longer than [`MAX_URL`] is counted as too long.

use std::net::IpAddr;

use url::{Host, Url};

use super::domain;

/// Longest URL kept, in bytes of the text.
pub const MAX_URL: usize = 4096;

/// A URL's place in the text and its scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) ftp: bool,
}

/// The next URL in `text` at or after `from`.
pub(crate) fn next_span(text: &str, mut from: usize) -> Option<Span> {
    let b = text.as_bytes();
    while let Some(k) = memchr::memmem::find(&b[from..], b"://") {
        let sep = from + k;
        from = sep + 3;
        let (start, ftp) = if ends_with_ci(&b[..sep], b"https") {
            (sep - 5, false)
        } else if ends_with_ci(&b[..sep], b"http") {
            (sep - 4, false)
        } else if ends_with_ci(&b[..sep], b"ftp") {
            (sep - 3, true)
        } else {
            continue;
        };
        let end = trim_prose(b, start, url_end(text, sep + 3));
        if end > sep + 3 {
            return Some(Span { start, end, ftp });
        }
    }
    None
}

/// Where the URL whose authority starts at `at` stops, before any prose trimming.
fn url_end(text: &str, mut at: usize) -> usize {
    let b = text.as_bytes();
    if b.get(at) == Some(&b'[') {
        // An IPv6 literal is short; looking further would make `http://[` repeated quadratic.
        let window = &b[at..b.len().min(at + 64)];
        match window.iter().position(|&c| c == b']') {
            Some(close) => at += close + 1,
            None => return at,
        }
    }
    // `at` stays on character boundaries: it moves by ASCII bytes or whole characters.
    while at < b.len() && !is_terminator(b[at]) {
        if b[at] < 0x80 {
            at += 1;
            continue;
        }
        // Non-ASCII may be an IRI's path, but typographic quotes and punctuation are prose.
        match text.get(at..).and_then(|rest| rest.chars().next()) {
            Some(c) if !is_prose_char(c) => at += c.len_utf8(),
            _ => break,
        }
    }
    at
}

/// Non-ASCII characters that end a URL: no-break space, « », general punctuation
/// (curly quotes, dashes, ellipsis, zero-width spaces) and CJK punctuation.
fn is_prose_char(c: char) -> bool {
    matches!(c, '\u{a0}' | '«' | '»' | '\u{2000}'..='\u{206f}' | '\u{3000}'..='\u{303f}' | '\u{ff08}' | '\u{ff09}' | '\u{ff0c}' | '\u{feff}')
}

fn is_terminator(c: u8) -> bool {
    c <= b' '
        || c == 0x7f
        || matches!(
            c,
            b'"' | b'\''
                | b'<'
                | b'>'
                | b'`'
                | b'\\'
                | b'^'
                | b'{'
                | b'}'
                | b'|'
                | b'['
                | b']'
                | b','
        )
}

/// Drops trailing prose punctuation and unmatched closing parentheses.
fn trim_prose(b: &[u8], start: usize, mut end: usize) -> usize {
    let span = &b[start..end];
    let opens = span.iter().filter(|&&c| c == b'(').count();
    let mut closes = span.iter().filter(|&&c| c == b')').count();
    while end > start {
        match b[end - 1] {
            b'.' | b',' | b';' | b':' | b'!' | b'?' | b'*' => end -= 1,
            b')' if closes > opens => {
                closes -= 1;
                end -= 1;
            }
            _ => break,
        }
    }
    end
}

fn ends_with_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay[hay.len() - needle.len()..].eq_ignore_ascii_case(needle)
}

/// What a URL's host is, for the private-address and skip-list checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UrlHost {
    Domain(String),
    Ip(IpAddr),
}

/// The normal form of an http(s) URL and its host, or `None` if it does not parse or
/// its host is neither an IP address nor a name under a public suffix (`http://localhost/`,
/// `http://intranet/` say nothing about a threat).
pub(crate) fn normalise(text: &str) -> Option<(Url, UrlHost)> {
    let url = Url::parse(text).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = match url.host()? {
        Host::Domain(d) => {
            let d = d.strip_suffix('.').unwrap_or(d);
            if !domain::has_public_suffix(d) {
                return None;
            }
            UrlHost::Domain(d.to_owned())
        }
        Host::Ipv4(v4) => UrlHost::Ip(IpAddr::V4(v4)),
        Host::Ipv6(v6) => UrlHost::Ip(IpAddr::V6(v6).to_canonical()),
    };
    Some((url, host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(s) = next_span(text, from) {
            out.push(&text[s.start..s.end]);
            from = s.end;
        }
        out
    }

    #[test]
    fn prose_around_a_url_is_not_part_of_it() {
        assert_eq!(spans("(see https://x.com/a)."), ["https://x.com/a"]);
        assert_eq!(spans("<a href=\"http://x.com/\">"), ["http://x.com/"]);
        assert_eq!(spans("URL:HTTP://x.com/a,2024-01-01"), ["HTTP://x.com/a"]);
        assert_eq!(
            spans("https://en.wikipedia.org/wiki/Foo_(bar)!"),
            ["https://en.wikipedia.org/wiki/Foo_(bar)"]
        );
        assert_eq!(spans("[x](https://x.com/a)"), ["https://x.com/a"]);
        assert_eq!(spans("“https://x.com/ä”…"), ["https://x.com/ä"]);
        assert_eq!(
            spans("http://[2a03:2880::1]:8080/a]"),
            ["http://[2a03:2880::1]:8080/a"]
        );
        assert_eq!(spans("file://x gopher://y http://"), Vec::<&str>::new());
    }

    #[test]
    fn urls_are_normalised() {
        let (u, h) = normalise("HTTPS://Evil-CDN.com:443").unwrap();
        assert_eq!(u.as_str(), "https://evil-cdn.com/");
        assert_eq!(h, UrlHost::Domain("evil-cdn.com".into()));
        let (u, _) = normalise("http://münchen.de/ä").unwrap();
        assert_eq!(u.as_str(), "http://xn--mnchen-3ya.de/%C3%A4");
        assert!(normalise("http://localhost:8080/").is_none());
        assert!(normalise("ftp://evil.com/").is_none());
    }
}
