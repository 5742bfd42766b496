//! Labelled hashes in EDR exports: the hashes of one file in one field are one lookup (the
//! strongest) plus alternates, hashes labelled as something other than the file (IMPHASH)
//! are counted and never looked up — and none of that depends on where chunks are cut.

use proptest::prelude::*;
use vtsum_core::extract::{extract_bytes, Extracted, Extractor};

const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";
const SHA1: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
const SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const IMP: &str = "f34d5f2d4577ed6d9ceec516c1f5a744";
const OTHER: &str = "0123456789abcdef0123456789abcdef";

fn ex(text: &str) -> Extracted {
    extract_bytes(text.as_bytes())
}

fn hashes(e: &Extracted) -> Vec<String> {
    e.hashes.iter().map(|h| h.to_string()).collect()
}

fn pairs(e: &Extracted) -> Vec<(String, String)> {
    e.alternates
        .iter()
        .map(|(s, w)| (s.to_string(), w.to_string()))
        .collect()
}

fn pair(strong: &str, weak: &str) -> (String, String) {
    (strong.to_string(), weak.to_string())
}

#[test]
fn a_sysmon_event_line_is_one_lookup_with_its_md5_as_alternate() {
    let line = format!(
        "<Data Name=\"Image\">C:\\Windows\\x.exe</Data><Data Name=\"Hashes\">\
         MD5={},SHA256={},IMPHASH={}</Data>\n",
        MD5.to_uppercase(),
        SHA256.to_uppercase(),
        IMP.to_uppercase()
    );
    let e = ex(&line);
    assert_eq!(hashes(&e), vec![SHA256]);
    assert_eq!(pairs(&e), vec![pair(SHA256, MD5)]);
    assert_eq!(e.non_file_hashes, 1);
    assert_eq!((e.lines, e.lines_without_hash, e.duplicates), (1, 0, 0));
}

#[test]
fn a_line_with_only_non_file_hashes_has_no_hash() {
    let e = ex(&format!(
        "IMPHASH={IMP}\nAuthentihash: {SHA256}\n\"pehash\": \"{SHA1}\"\n"
    ));
    assert!(e.hashes.is_empty());
    assert_eq!(e.non_file_hashes, 3);
    assert_eq!((e.lines, e.lines_without_hash), (3, 3));
}

#[test]
fn lower_case_labels_key_value_and_json_forms_group_too() {
    for text in [
        format!("hashes=md5={MD5},sha256={SHA256}"),
        format!("md5: {MD5}; sha-256: {SHA256}"),
        format!("{{\"md5\": \"{MD5}\", \"sha256\": \"{SHA256}\"}}"),
        format!("MD5 = '{MD5}' | Sha256 = '{SHA256}'"),
    ] {
        let e = ex(&text);
        assert_eq!(hashes(&e), vec![SHA256], "{text}");
        assert_eq!(pairs(&e), vec![pair(SHA256, MD5)], "{text}");
    }
}

#[test]
fn sha1_is_the_strongest_of_a_sha1_and_md5_group() {
    let e = ex(&format!("SHA1={SHA1},MD5={MD5}\n"));
    assert_eq!(hashes(&e), vec![SHA1]);
    assert_eq!(pairs(&e), vec![pair(SHA1, MD5)]);
    let all = ex(&format!(
        "SHA1={SHA1},MD5={MD5},SHA256={SHA256},IMPHASH={IMP}"
    ));
    assert_eq!(hashes(&all), vec![SHA256]);
    assert_eq!(pairs(&all), vec![pair(SHA256, SHA1), pair(SHA256, MD5)]);
}

#[test]
fn a_weak_hash_seen_unlabelled_elsewhere_stays_a_lookup() {
    let group = format!("MD5={MD5},SHA256={SHA256}");
    for text in [
        format!("{group}\nsee {MD5}\n"),
        format!("{MD5}\n{group}\n"),
        format!("{group} and then {MD5}\n"),
    ] {
        let e = ex(&text);
        let mut got = hashes(&e);
        got.sort();
        assert_eq!(got, vec![MD5, SHA256], "{text}");
        assert!(e.alternates.is_empty(), "{text}");
    }
}

#[test]
fn unlabelled_or_far_apart_hashes_stay_separate_lookups() {
    for text in [
        format!("{MD5},{SHA256}\n"),
        format!("{MD5} {SHA256}\n"),
        format!("MD5={MD5} copied to SHA256={SHA256}\n"),
        format!("MD5={MD5}\nSHA256={SHA256}\n"),
        format!("MD5={MD5},{SHA256}\n"),
    ] {
        let e = ex(&text);
        assert_eq!(hashes(&e), vec![MD5, SHA256], "{text}");
        assert!(e.alternates.is_empty(), "{text}");
    }
}

#[test]
fn a_label_of_the_wrong_length_or_a_repeated_kind_is_no_group() {
    let e = ex(&format!("MD5={SHA256},SHA1={SHA1}\n"));
    assert_eq!(hashes(&e), vec![SHA256, SHA1]);
    assert!(e.alternates.is_empty());
    let e = ex(&format!("MD5={MD5},MD5={OTHER},SHA256={SHA256}\n"));
    assert_eq!(hashes(&e), vec![MD5, SHA256]);
    assert_eq!(pairs(&e), vec![pair(SHA256, OTHER)]);
}

#[test]
fn a_repeated_group_counts_one_duplicate_and_one_pair() {
    let line = format!("Hashes=MD5={MD5},SHA256={SHA256},IMPHASH={IMP}\n");
    let e = ex(&line.repeat(3));
    assert_eq!(hashes(&e), vec![SHA256]);
    assert_eq!(pairs(&e), vec![pair(SHA256, MD5)]);
    assert_eq!((e.duplicates, e.non_file_hashes), (2, 3));
}

fn feed_cut(bytes: &[u8], cuts: &[usize]) -> Extracted {
    let mut ex = Extractor::new();
    let mut last = 0;
    for &p in cuts {
        ex.feed(&bytes[last..p]);
        last = p;
    }
    ex.feed(&bytes[last..]);
    ex.finish()
}

#[test]
fn a_sysmon_log_cut_at_every_byte_gives_the_same_result() {
    let text = format!(
        "Hashes=MD5={MD5},SHA256={SHA256},IMPHASH={IMP}\n\
         x md5: {OTHER} | sha-1: \"{SHA1}\"\nIMPHASH={IMP}\n"
    );
    let whole = ex(&text);
    assert_eq!(whole.hashes.len(), 2);
    assert_eq!(whole.alternates.len(), 2);
    for a in 0..=text.len() {
        for b in (a..=text.len()).step_by(7) {
            assert_eq!(feed_cut(text.as_bytes(), &[a, b]), whole, "cuts {a} {b}");
        }
    }
}

/// Labels, separators and hashes in every order, so groups, near-groups and wrong-length
/// labels are common.
fn labelled() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        "[0-9a-fA-F]{32}",
        "[0-9a-fA-F]{40}",
        "[0-9a-fA-F]{64}",
        Just(MD5.to_string()),
        Just(SHA1.to_string()),
        "(MD5|md5|SHA1|sha-1|SHA256|Sha-256|IMPHASH|imphash|TLSH|rich_hash|xMD5|Hashes)",
        "[ \"']{0,2}[=:][ \"']{0,2}",
        "[,;| \"]{1,3}",
        "[a-z_]{1,3}",
        "\n",
    ];
    prop::collection::vec(piece, 0..80).prop_map(|p| p.concat().into_bytes())
}

proptest! {
    #[test]
    fn labelled_text_cut_anywhere_equals_one_pass(
        bytes in labelled(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        prop_assert_eq!(feed_cut(&bytes, &points), extract_bytes(&bytes));
    }

    #[test]
    fn alternates_pair_a_lookup_with_a_weaker_hash_that_is_not_one(bytes in labelled()) {
        let e = extract_bytes(&bytes);
        let unlabelled: Vec<u8> = bytes
            .iter()
            .map(|&b| if b == b'=' || b == b':' { b'.' } else { b })
            .collect();
        let plain = hashes(&extract_bytes(&unlabelled));
        for h in hashes(&e) {
            prop_assert!(plain.contains(&h), "labels never invent a hash");
        }
        for (s, w) in &e.alternates {
            prop_assert!(e.hashes.contains(s) && !e.hashes.contains(w));
            prop_assert!(s.as_str().len() > w.as_str().len());
            prop_assert!(plain.contains(&w.to_string()));
        }
    }
}
