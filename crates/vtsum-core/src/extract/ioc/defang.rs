//! Refanging: threat reports write indicators "defanged" so nobody clicks them
//! (`hxxps://evil[.]com`), and a defanged form must give the same indicator as its plain one.
//!
//! Bracketed forms, case-insensitive: `[.]` `(.)` `{.}` `[dot]` `(dot)` `{dot}` → `.`,
//! `[:]` → `:`, `[://]` → `://`, `[/]` → `/`, `[@]` → `@`. Schemes just before `://`:
//! `hxxp`, `hxxps`, `h**p`, `h**ps` → `http(s)` and `fxp` → `ftp` (ftp URLs are then
//! recognised but not kept: see [`super::url`]). Every replacement is ASCII, so the text
//! stays valid UTF-8; a map from each output byte back to the input keeps the form the
//! report wrote (`Indicator::written`) and tells whether an indicator was defanged.

/// Bracketed forms and what they stand for. Longest first so `[://]` wins over `[:]`.
const BRACKETED: &[(&[u8], &[u8])] = &[
    (b"[://]", b"://"),
    (b"[dot]", b"."),
    (b"(dot)", b"."),
    (b"{dot}", b"."),
    (b"[.]", b"."),
    (b"(.)", b"."),
    (b"{.}", b"."),
    (b"[:]", b":"),
    (b"[/]", b"/"),
    (b"[@]", b"@"),
];

/// Defanged schemes (lower case) and their plain form, same length so offsets hold.
const SCHEMES: &[(&[u8], &[u8])] = &[
    (b"hxxps", b"https"),
    (b"h**ps", b"https"),
    (b"hxxp", b"http"),
    (b"h**p", b"http"),
    (b"fxp", b"ftp"),
];

/// A text segment with its defanged forms replaced.
#[derive(Debug)]
pub(crate) struct Refanged<'a> {
    original: &'a str,
    text: String,
    /// `map[k]` is the input offset of output byte `k`; one more entry for the end.
    /// `None` when nothing was replaced (output = input).
    map: Option<Vec<u32>>,
}

impl<'a> Refanged<'a> {
    /// Refangs `s` (a word of at most [`super::MAX_WORD`] bytes or a skip-list line:
    /// offsets fit in `u32`).
    pub(crate) fn new(s: &'a str) -> Refanged<'a> {
        let b = s.as_bytes();
        let has_bracket = b.iter().any(|&c| matches!(c, b'[' | b'(' | b'{'));
        let has_sep = memchr::memmem::find(b, b"://").is_some() || has_bracket;
        if !has_sep {
            return Refanged {
                original: s,
                text: String::new(),
                map: None,
            };
        }
        let mut out: Vec<u8> = Vec::with_capacity(b.len());
        let mut map: Vec<u32> = Vec::with_capacity(b.len() + 1);
        let mut i = 0;
        while i < b.len() {
            if matches!(b[i], b'[' | b'(' | b'{') {
                if let Some((from, to)) = BRACKETED
                    .iter()
                    .find(|(from, _)| starts_with_ci(&b[i..], from))
                {
                    for &c in *to {
                        out.push(c);
                        map.push(i as u32);
                    }
                    i += from.len();
                    continue;
                }
            }
            out.push(b[i]);
            map.push(i as u32);
            i += 1;
        }
        map.push(b.len() as u32);
        refang_schemes(&mut out);
        // Only ASCII was replaced by ASCII at ASCII positions: still UTF-8.
        let text = String::from_utf8(out).unwrap_or_default();
        if text.len() + 1 != map.len() {
            // Unreachable; falls back to the plain text rather than panicking.
            return Refanged {
                original: s,
                text: String::new(),
                map: None,
            };
        }
        Refanged {
            original: s,
            text,
            map: Some(map),
        }
    }

    /// The refanged text.
    pub(crate) fn text(&self) -> &str {
        match self.map {
            Some(_) => &self.text,
            None => self.original,
        }
    }

    /// The input text that output range `a..b` came from.
    pub(crate) fn written(&self, a: usize, b: usize) -> &'a str {
        match &self.map {
            None => self.original.get(a..b).unwrap_or(""),
            Some(map) => {
                let (x, y) = (map[a] as usize, map[b] as usize);
                self.original.get(x..y).unwrap_or("")
            }
        }
    }

    /// Whether output range `a..b` was written differently in the input.
    pub(crate) fn was_defanged(&self, a: usize, b: usize) -> bool {
        self.map.is_some() && self.written(a, b) != &self.text[a..b]
    }
}

/// Rewrites defanged schemes in place wherever they stand just before `://`.
fn refang_schemes(out: &mut [u8]) {
    let mut from = 0;
    while let Some(k) = memchr::memmem::find(&out[from..], b"://") {
        let at = from + k;
        for (defanged, plain) in SCHEMES {
            let n = defanged.len();
            if at >= n && eq_ci(&out[at - n..at], defanged) {
                let starts_word = at == n || !out[at - n - 1].is_ascii_alphanumeric();
                if starts_word {
                    out[at - n..at].copy_from_slice(plain);
                    break;
                }
            }
        }
        from = at + 3;
    }
}

fn starts_with_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && eq_ci(&hay[..needle.len()], needle)
}

fn eq_ci(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_and_schemes_are_refanged_and_mapped_back() {
        let r = Refanged::new("see hXXps[://]evil[DOT]com(.)ru[/]a{.}b [:] fxp://x");
        assert_eq!(r.text(), "see https://evil.com.ru/a.b : ftp://x");
        let t = r.text();
        let a = t.find("https").unwrap();
        let b = t.find(" :").unwrap();
        assert_eq!(r.written(a, b), "hXXps[://]evil[DOT]com(.)ru[/]a{.}b");
        assert!(r.was_defanged(a, b));
        assert!(!r.was_defanged(0, 3));
    }

    #[test]
    fn a_scheme_inside_a_word_is_left_alone() {
        assert_eq!(Refanged::new("ahxxp://x").text(), "ahxxp://x");
        assert_eq!(Refanged::new("plain.text").text(), "plain.text");
    }
}
