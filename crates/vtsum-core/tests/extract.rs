//! Property tests of hash extraction against an obviously-correct reference: split the input
//! on every non-word byte and keep the pieces that are 32, 40 or 64 hex digits.

use proptest::prelude::*;
use vtsum_core::extract::{extract_bytes, Extractor};

fn reference(bytes: &[u8]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    bytes
        .split(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .filter(|w| matches!(w.len(), 32 | 40 | 64) && w.iter().all(u8::is_ascii_hexdigit))
        .map(|w| String::from_utf8(w.to_ascii_lowercase()).unwrap())
        .filter(|h| seen.insert(h.clone()))
        .collect()
}

fn got(bytes: &[u8]) -> Vec<String> {
    extract_bytes(bytes)
        .hashes
        .iter()
        .map(|h| h.to_string())
        .collect()
}

/// Texts made of hashes, near-hashes and noise, so that hits are common.
fn texty() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        "[0-9a-fA-F]{32}",
        "[0-9a-fA-F]{40}",
        "[0-9a-fA-F]{64}",
        "[0-9a-fA-F]{30,66}",
        "[a-z_]{1,3}",
        "[ ,;:=\"'()\\t\\r\\n-]{1,3}",
        "[\\x{80}-\\x{10FFFF}]",
    ];
    prop::collection::vec(piece, 0..40).prop_map(|p| p.concat().into_bytes())
}

proptest! {
    #[test]
    fn agrees_with_the_reference_on_texts(bytes in texty()) {
        prop_assert_eq!(got(&bytes), reference(&bytes));
    }

    #[test]
    fn agrees_with_the_reference_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        prop_assert_eq!(got(&bytes), reference(&bytes));
    }

    #[test]
    fn chunked_feeding_equals_one_shot(bytes in texty(), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6)) {
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut ex = Extractor::new();
        let mut last = 0;
        for p in points {
            ex.feed(&bytes[last..p]);
            last = p;
        }
        ex.feed(&bytes[last..]);
        prop_assert_eq!(ex.finish(), extract_bytes(&bytes));
    }

    #[test]
    fn counts_lines_like_a_line_split(bytes in texty()) {
        let ex = extract_bytes(&bytes);
        let text_lines: Vec<&[u8]> = if bytes.is_empty() { vec![] } else {
            let mut l: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
            if bytes.ends_with(b"\n") { l.pop(); }
            l
        };
        prop_assert_eq!(ex.lines, text_lines.len() as u64);
        let without = text_lines.iter().filter(|l| {
            let l = l.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(l);
            let blank = l.iter().all(|b| b.is_ascii_whitespace());
            !blank && reference(l).is_empty()
        }).count() as u64;
        prop_assert_eq!(ex.lines_without_hash, without);
    }
}

/// README: a hash must not touch an ASCII letter, digit or `_`; anything else, non-ASCII
/// letters included, separates.
#[test]
fn non_ascii_letters_separate_and_ascii_word_characters_do_not() {
    let md5 = "d41d8cd98f00b204e9800998ecf8427e";
    for text in [
        format!("哈希{md5}。"),
        format!("prüfsumme:é{md5}ü"),
        format!("«{md5}»"),
    ] {
        assert_eq!(got(text.as_bytes()), vec![md5.to_string()], "{text}");
    }
    for text in [format!("x{md5}"), format!("{md5}_1"), format!("9{md5}")] {
        assert!(got(text.as_bytes()).is_empty(), "{text}");
    }
}
