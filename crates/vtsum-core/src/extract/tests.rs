//! The extractor's own cases: the hash definition at its edges (a SHA-512, word
//! characters, case, a BOM) on small hand-written texts.

use super::*;

fn found(text: &str) -> Vec<String> {
    extract_bytes(text.as_bytes())
        .hashes
        .iter()
        .map(|h| h.to_string())
        .collect()
}

const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";
const SHA1: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
const SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

#[test]
fn finds_all_three_kinds_in_prose_csv_and_logs() {
    let text = format!("md5={MD5}, sha1 \"{SHA1}\"\n{SHA256};x\n");
    assert_eq!(found(&text), vec![MD5, SHA1, SHA256]);
}

#[test]
fn a_sha512_is_not_two_sha256s_and_word_characters_join() {
    let sha512 = SHA256.repeat(2);
    assert!(found(&sha512).is_empty());
    assert!(found(&format!("x{MD5}")).is_empty());
    assert!(found(&format!("{MD5}_1")).is_empty());
    assert!(
        found(&format!("{}g", &SHA1[..39])).is_empty(),
        "a g is a word char, not hex"
    );
    assert_eq!(found(&format!("-{MD5}-")), vec![MD5]);
}

#[test]
fn folds_case_dedupes_in_order_and_counts() {
    let text = format!(
        "{}\n\n  \n{MD5}\nnothing here\r\n{SHA1}",
        MD5.to_uppercase()
    );
    let ex = extract_bytes(text.as_bytes());
    let got: Vec<&str> = ex.hashes.iter().map(Hash::as_str).collect();
    assert_eq!(got, vec![MD5, SHA1]);
    assert_eq!(ex.duplicates, 1);
    assert_eq!(ex.lines, 6);
    assert_eq!(ex.lines_without_hash, 1, "blank lines do not count");
}

#[test]
fn bom_crlf_and_invalid_utf8_are_separators() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(MD5.as_bytes());
    bytes.extend_from_slice(b"\r\n\xff\xfe");
    bytes.extend_from_slice(SHA1.as_bytes());
    bytes.extend_from_slice("\u{e9}".as_bytes());
    let ex = extract_bytes(&bytes);
    assert_eq!(ex.hashes.len(), 2);
    assert_eq!(ex.lines_without_hash, 0);
    let blank_bom = extract_bytes(b"\xEF\xBB\xBF\n");
    assert_eq!(blank_bom.lines_without_hash, 0);
}

#[test]
fn a_hash_split_across_chunks_is_found_at_every_split_point() {
    let text = format!("a {SHA256} b");
    for split in 0..=text.len() {
        let mut ex = Extractor::new();
        ex.feed(&text.as_bytes()[..split]);
        ex.feed(&text.as_bytes()[split..]);
        let got = ex.finish();
        assert_eq!(got.hashes.len(), 1, "split at {split}");
        assert_eq!(got.lines, 1);
    }
}
