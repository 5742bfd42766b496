//! Readable config-file errors that never show a secret.
//!
//! toml's own message prints the offending line verbatim, so a typo next to `api_keys`
//! would put a key on the terminal, in CI logs and in bug reports. Here the message is
//! rebuilt from the error's position: the line is shown with the value of any secret field
//! (`api_keys`, anything named like a key, token, password or secret, and `store`, whose URL
//! may hold a password) replaced by `<redacted>`, and every word of a secret value is
//! scrubbed from toml's explanation too.

use std::ops::Range;

/// Longest part of the offending line shown, in characters: a config file is hostile too.
const MAX_SHOWN: usize = 120;
const REDACTED: &str = "<redacted>";

/// Whether a field's value must never be shown.
fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "key", "token", "secret", "password", "passwd", "auth", "store",
    ]
    .iter()
    .any(|w| key.contains(w))
}

/// The key of a line such as `api_keys = [...]` or `serve.auth_token = "..."`.
fn assignment_key(line: &str) -> Option<&str> {
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let bare = |c: char| c.is_ascii_alphanumeric() || "_-.\"' ".contains(c);
    (!key.is_empty() && key.chars().all(bare)).then_some(key)
}

/// A table header line such as `[serve]`.
fn is_header(line: &str) -> bool {
    let line = line.trim();
    line.starts_with('[')
        && line.ends_with(']')
        && line
            .trim_matches(['[', ']'])
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-. ".contains(c))
}

/// Change of bracket depth over a line, ignoring brackets in strings and comments.
fn depth_change(line: &str) -> i64 {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in line.chars() {
        match quote {
            Some('"') if escaped => escaped = false,
            Some('"') if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '#' => break,
                '[' | '{' => depth += 1,
                ']' | '}' => depth -= 1,
                _ => {}
            },
        }
    }
    depth
}

/// Byte ranges of the text holding secret values: from after the `=` of a secret field to
/// the end of its value (a multi-line array runs until its brackets close or the next field).
fn secret_regions(text: &str) -> Vec<Range<usize>> {
    let mut regions = Vec::new();
    let mut open: Option<(usize, i64)> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let end = offset + line.len();
        let key = assignment_key(line);
        if let Some((start, depth)) = open.take() {
            if depth > 0 && key.is_none() && !is_header(line) {
                open = Some((start, depth + depth_change(line)));
                if open.is_some_and(|(_, d)| d <= 0) {
                    regions.push(start..end);
                    open = None;
                }
                offset = end;
                continue;
            }
            regions.push(start..offset);
        }
        if key.is_some_and(is_secret_key) {
            let value_start = offset + line.find('=').map_or(0, |i| i + 1);
            let depth = depth_change(&text[value_start..end]);
            if depth > 0 {
                open = Some((value_start, depth));
            } else {
                regions.push(value_start..end);
            }
        }
        offset = end;
    }
    if let Some((start, _)) = open {
        regions.push(start..text.len());
    }
    regions
}

/// The words of the secret values, longest first, to scrub from any message.
fn secret_words(text: &str, regions: &[Range<usize>]) -> Vec<String> {
    let mut words: Vec<String> = regions
        .iter()
        .flat_map(|r| {
            text[r.clone()].split(|c: char| c.is_whitespace() || "\"'[],{}#=".contains(c))
        })
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_string)
        .collect();
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    words.dedup();
    words
}

/// Replaces every secret word in `message`.
fn scrub(message: &str, words: &[String]) -> String {
    let mut out = message.to_string();
    for w in words {
        // A word inside the marker itself is no secret the message could reveal.
        if out.contains(w.as_str()) && !REDACTED.contains(w.as_str()) {
            out = out.replace(w.as_str(), REDACTED);
        }
    }
    out
}

/// Keeps the first `MAX_SHOWN` characters, without control characters.
fn shown(text: &str) -> String {
    let mut out: String = text
        .trim_end()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_SHOWN)
        .collect();
    if text.trim_end().chars().count() > MAX_SHOWN {
        out.push('…');
    }
    out
}

/// Describes a TOML error in `text`: where, the line (secrets redacted), and what is wrong.
pub fn describe(text: &str, err: &toml::de::Error) -> String {
    let regions = secret_regions(text);
    let words = secret_words(text, &regions);
    let Some(span) = err.span().filter(|s| s.start <= text.len()) else {
        return scrub(err.message().trim(), &words);
    };
    let at = (0..=span.start)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let line_no = text[..line_start].matches('\n').count() + 1;
    let column = text[line_start..at].chars().count() + 1;
    let in_secret = |i: usize| regions.iter().any(|r| r.contains(&i));
    let line = match regions
        .iter()
        .find(|r| r.start < line_end.max(line_start + 1) && r.end > line_start)
    {
        Some(r) => {
            let before = shown(&text[line_start..r.start.max(line_start)]);
            let gap = if before.is_empty() { "" } else { " " };
            format!("{before}{gap}{REDACTED}")
        }
        None => shown(&text[line_start..line_end]),
    };
    // A secret written again under a field not known as secret is still a secret.
    let line = scrub(&line, &words);
    let what = if in_secret(at) {
        "this secret value is not valid TOML or not of the right type (it is not shown); \
         keys are a list of strings: api_keys = [\"key1\", \"key2\"]"
            .to_string()
    } else {
        scrub(err.message().trim(), &words)
    };
    format!("line {line_no}, column {column}: {what}\n  {line_no} | {line}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Probe {
        api_keys: Option<Vec<String>>,
        rate: Option<String>,
        store: Option<String>,
    }

    fn message(text: &str) -> String {
        let err = toml::from_str::<Probe>(text).unwrap_err();
        describe(text, &err)
    }

    #[test]
    fn shows_the_line_of_an_ordinary_error() {
        let m = message("rate = \"4/min\"\nrate = 5\n");
        assert!(m.contains("line 2"), "{m}");
        assert!(m.contains("rate = 5"), "{m}");
    }

    #[test]
    fn never_shows_a_key_whatever_the_mistake() {
        let secret = "0123456789abcdef0123456789abcdefSECRETKEY";
        for text in [
            format!("api_keys = [\"{secret}\"\nrate = \"4/min\"\n"),
            format!("api_keys = [\"{secret}\" \"x\"]\n"),
            format!("api_keys = \"{secret}\"\n"),
            format!("api_keys = [\n  \"{secret}\",\n  {secret}\n]\n"),
            format!("api_keys = [\"{secret}]\n"),
            format!("rate = \"4/min\"\napi_keys = {secret}\n"),
            format!("store = \"redis://:{secret}@host:6379/0\"\nstore = 1\n"),
        ] {
            let m = message(&text);
            assert!(!m.contains("SECRETKEY"), "{text:?} -> {m}");
            assert!(m.contains("line "), "{m}");
        }
    }

    proptest::proptest! {
        /// Any text around a secret: an error message without it, never a panic.
        #[test]
        fn arbitrary_configs_never_leak(
            before in "\\PC{0,30}",
            after in "[ -~\n]{0,30}",
            other in "\\PC{0,60}",
        ) {
            let text = format!("{before}\napi_keys = [\"zzSECRETzz{after}\n");
            if let Err(e) = toml::from_str::<Probe>(&text) {
                let m = describe(&text, &e);
                proptest::prop_assert!(!m.contains("SECRET"), "{:?} -> {}", text, m);
            }
            if let Err(e) = toml::from_str::<Probe>(&other) {
                let _ = describe(&other, &e);
            }
        }
    }
}
