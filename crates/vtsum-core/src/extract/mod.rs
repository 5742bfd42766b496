//! Finding hashes in any text: plain lists, CSV, logs, e-mails.
//!
//! A hash is a maximal run of ASCII word characters (`[A-Za-z0-9_]`) that is exactly 32, 40
//! or 64 characters long and all hex. So a SHA-512 is not two SHA-256s and `x` + 32 hex is
//! not an md5. Every other byte — punctuation, white space, non-ASCII, invalid UTF-8 — is a
//! separator. Hashes are folded to lower case and deduplicated in first-seen order.
//!
//! Two scanners share that definition. Whole lines go through [`lines`], which works on
//! 64-byte blocks of bit masks and is several times faster; the partial lines at a chunk's
//! edges go through the byte-at-a-time state machine here, which can stop and resume at any
//! byte. So [`Extractor::feed`] takes chunks cut anywhere, and memory stays bounded whatever
//! the input's size or line length (apart from the set of unique hashes, see [`seen`]).
//! [`Extractor::read_all`] reads a whole input with fixed buffers, scanning on worker
//! threads while one thread keeps the set in input order ([`parallel`]). `memchr` finds
//! the line ends that decide which scanner runs; `hashbrown` and `foldhash` keep the set
//! ([`seen`]): both are already in the dependency tree, and std's `HashSet` has no way to
//! store a 4-byte position while comparing by the digest it points to.

use std::io::Read;

use crate::hash::Hash;

pub mod ioc;
mod lines;
mod parallel;
mod seen;

pub use seen::Digest;
use seen::Seen;

/// What extraction found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extracted {
    /// Unique hashes, lower case, in first-seen order.
    pub hashes: Vec<Hash>,
    /// Lines read (a final line without a newline counts).
    pub lines: u64,
    /// Non-blank lines that held no hash. Blank lines (white space, or a BOM) do not count.
    pub lines_without_hash: u64,
    /// Hashes seen again after their first occurrence.
    pub duplicates: u64,
}

/// What extraction found, with the hashes as raw digests (no allocation per hash).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digests {
    /// Unique digests in first-seen order.
    pub digests: Vec<Digest>,
    /// As in [`Extracted`].
    pub lines: u64,
    /// As in [`Extracted`].
    pub lines_without_hash: u64,
    /// As in [`Extracted`].
    pub duplicates: u64,
}

impl From<Digests> for Extracted {
    fn from(d: Digests) -> Extracted {
        Extracted {
            hashes: d.digests.iter().map(Digest::to_hash).collect(),
            lines: d.lines,
            lines_without_hash: d.lines_without_hash,
            duplicates: d.duplicates,
        }
    }
}

/// Word characters (`[A-Za-z0-9_]`).
static CLASS_WORD: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'_';
        b += 1;
    }
    t
};

/// The streaming extractor: `feed` chunks (or `read_all` readers), then `finish`.
#[derive(Debug)]
pub struct Extractor {
    /// The current run of word characters, kept only while it could still be a hash.
    run: [u8; 64],
    /// Length of the current run (saturating past 64: then it is too long).
    run_len: usize,
    run_all_hex: bool,
    line_has_hash: bool,
    line_blank: bool,
    /// Bytes into the current line (saturating): a UTF-8 BOM keeps a line blank only at its
    /// very start.
    line_pos: u8,
    /// Some byte of the current line was read: the state machine is mid-line.
    line_started: bool,
    seen: Seen,
    lines: u64,
    lines_without_hash: u64,
}

impl Default for Extractor {
    fn default() -> Self {
        Extractor::new()
    }
}

impl Extractor {
    pub fn new() -> Extractor {
        Extractor {
            run: [0; 64],
            run_len: 0,
            run_all_hex: true,
            line_has_hash: false,
            line_blank: true,
            line_pos: 0,
            line_started: false,
            seen: Seen::default(),
            lines: 0,
            lines_without_hash: 0,
        }
    }

    /// Scans the next chunk; a hash may span chunks.
    pub fn feed(&mut self, chunk: &[u8]) {
        let mut rest = chunk;
        if self.line_started {
            match memchr::memchr(b'\n', rest) {
                Some(i) => {
                    self.feed_bytes(&rest[..=i]);
                    rest = &rest[i + 1..];
                }
                None => return self.feed_bytes(rest),
            }
        }
        if let Some(j) = memchr::memrchr(b'\n', rest) {
            self.feed_lines(&rest[..=j]);
            rest = &rest[j + 1..];
        }
        self.feed_bytes(rest);
    }

    /// A hint that about `bytes` more bytes will be read (a file's size): room for the
    /// hashes they may hold is made at once, up to four million (about 170 MB).
    pub fn expect_bytes(&mut self, bytes: u64) {
        // The benchmark's hash-dense log holds one unique hash in about 130 bytes.
        self.seen.reserve((bytes / 128).min(1 << 22) as usize);
    }

    /// Ends the current text without ending the whole input: an open hash or line ends
    /// here, so nothing runs on into the next file (a newline is added only if one is
    /// missing, so the line count stays that of the files).
    pub fn end_input(&mut self) {
        if self.line_started {
            self.feed_bytes(b"\n");
        }
    }

    /// Whole lines, from a clean state, through the fast scanner.
    fn feed_lines(&mut self, text: &[u8]) {
        let seen = &mut self.seen;
        let counts = lines::scan_lines(text, |d| {
            seen.insert(d);
        });
        self.add_counts(counts);
    }

    fn add_counts(&mut self, counts: lines::LineCounts) {
        self.lines += counts.lines;
        self.lines_without_hash += counts.lines_without_hash;
    }

    /// The state machine: any bytes, from any state.
    ///
    /// The loop alternates between a tight scan over a run of word characters and a scan
    /// over separators, so per-byte work is one table lookup; the bookkeeping happens once
    /// per run rather than once per byte.
    fn feed_bytes(&mut self, chunk: &[u8]) {
        let n = chunk.len();
        let mut i = 0;
        while i < n {
            let start = i;
            let mut all_hex = true;
            while i < n && CLASS_WORD[chunk[i] as usize] {
                all_hex &= chunk[i].is_ascii_hexdigit();
                i += 1;
            }
            if i > start {
                self.extend_run(&chunk[start..i], all_hex);
                if i == n {
                    return;
                }
            }
            self.end_run();
            while i < n && !CLASS_WORD[chunk[i] as usize] {
                let b = chunk[i];
                if b == b'\n' {
                    self.end_line();
                } else {
                    self.line_started = true;
                    if !b.is_ascii_whitespace() && !self.bom_byte(b) {
                        self.line_blank = false;
                    }
                    self.line_pos = self.line_pos.saturating_add(1);
                }
                i += 1;
            }
        }
    }

    fn extend_run(&mut self, bytes: &[u8], all_hex: bool) {
        if self.run_len < 64 {
            let take = bytes.len().min(64 - self.run_len);
            self.run[self.run_len..self.run_len + take].copy_from_slice(&bytes[..take]);
        }
        self.run_len = self.run_len.saturating_add(bytes.len());
        self.run_all_hex &= all_hex;
        self.line_started = true;
        self.line_blank = false;
        self.line_pos = self.line_pos.saturating_add(bytes.len().min(255) as u8);
    }

    /// Whether `b` continues a UTF-8 BOM at the start of a line (it keeps the line blank).
    fn bom_byte(&mut self, b: u8) -> bool {
        const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];
        let pos = self.line_pos as usize;
        pos < 3 && b == BOM[pos] && self.line_blank
    }

    fn end_run(&mut self) {
        if self.run_len == 0 {
            return;
        }
        if self.run_all_hex && self.run_len <= 64 {
            if let Some(d) = Digest::from_hex(&self.run[..self.run_len]) {
                self.line_has_hash = true;
                self.seen.insert(d);
            }
        }
        self.run_len = 0;
        self.run_all_hex = true;
    }

    fn end_line(&mut self) {
        self.lines += 1;
        if !self.line_has_hash && !self.line_blank {
            self.lines_without_hash += 1;
        }
        self.line_has_hash = false;
        self.line_blank = true;
        self.line_started = false;
        self.line_pos = 0;
    }

    /// Ends the input and returns what was found, as raw digests.
    pub fn finish_digests(mut self) -> Digests {
        self.end_run();
        if self.line_started {
            self.end_line();
        }
        Digests {
            duplicates: self.seen.duplicates(),
            digests: self.seen.into_digests(),
            lines: self.lines,
            lines_without_hash: self.lines_without_hash,
        }
    }

    /// Ends the input and returns what was found.
    pub fn finish(self) -> Extracted {
        self.finish_digests().into()
    }
}

/// Extracts from a reader, on one thread.
pub fn extract_reader<R: Read>(reader: R) -> std::io::Result<Extracted> {
    let mut ex = Extractor::new();
    ex.read_all(reader, 1)?;
    Ok(ex.finish())
}

/// Extracts from bytes in memory.
pub fn extract_bytes(bytes: &[u8]) -> Extracted {
    let mut ex = Extractor::new();
    ex.feed(bytes);
    ex.finish()
}

#[cfg(test)]
mod tests {
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
}
