//! Finding hashes in any text: plain lists, CSV, logs, e-mails.
//!
//! A hash is a maximal run of ASCII word characters (`[A-Za-z0-9_]`) that is exactly 32, 40
//! or 64 characters long and all hex. So a SHA-512 is not two SHA-256s and `x` + 32 hex is
//! not an md5. Every other byte — punctuation, white space, non-ASCII, invalid UTF-8 — is a
//! separator. Hashes are folded to lower case and deduplicated in first-seen order.
//!
//! Labels before a hash are read too ([`label`], [`group`]): a hash labelled `IMPHASH=` (or
//! another non-file label) is counted, never looked up, and labelled file hashes of one
//! file (`MD5=…,SHA256=…`) are one lookup, the strongest, with the others as alternates.
//!
//! Two scanners share that definition. Whole lines go through [`lines`], which works on
//! 64-byte blocks of bit masks and is several times faster; the partial lines at a chunk's
//! edges go through the byte-at-a-time state machine here, which can stop and resume at any
//! byte (it keeps the line's last bytes for the label look-back). So [`Extractor::feed`]
//! takes chunks cut anywhere, and memory stays bounded whatever the input's size or line
//! length (apart from the unique hashes and alternates, see [`seen`] and [`group`]).
//! [`Extractor::read_all`] reads a whole input with fixed buffers, scanning on worker
//! threads while one thread keeps the set in input order ([`parallel`]). `memchr` finds
//! the line ends that decide which scanner runs; `hashbrown` and `foldhash` keep the set
//! ([`seen`]): both are already in the dependency tree, and std's `HashSet` has no way to
//! store a 4-byte position while comparing by the digest it points to.

use std::io::Read;

use crate::hash::Hash;

mod group;
pub mod ioc;
mod label;
mod lines;
mod parallel;
mod seen;

use group::{Group, Keep, Pairs};
use label::{label_before, Context};
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
    /// Hashes labelled as something other than the file (`IMPHASH=…`), every occurrence:
    /// never looked up, and not in `hashes`.
    pub non_file_hashes: u64,
    /// Weaker hashes of a file that has a stronger one in `hashes`, as `(strong, weak)`:
    /// `MD5=…,SHA256=…` on one line is one lookup, the sha256, and the pair (sha256, md5).
    /// Unique, first-seen order, the weaker of one group strongest first. A weak hash that
    /// is also a lookup (it appears unlabelled elsewhere) is in `hashes` and not here.
    pub alternates: Vec<(Hash, Hash)>,
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
    /// As in [`Extracted`].
    pub non_file_hashes: u64,
    /// As in [`Extracted`].
    pub alternates: Vec<(Digest, Digest)>,
}

impl Extracted {
    /// What a job holds: the lookups, then the weaker hashes of labelled groups (each
    /// once), which [`crate::engine::Engine::group_hashes`] answers from their strong
    /// hash's answer when it agrees.
    pub fn job_hashes(&self) -> Vec<Hash> {
        let mut hashes = self.hashes.clone();
        hashes.extend(weak_once(&self.alternates));
        hashes
    }

    /// Forgets the hashes (and their groups) when only other kinds are to be looked up;
    /// the counts stay, since they describe the text.
    pub fn drop_hashes(&mut self) {
        self.hashes.clear();
        self.alternates.clear();
    }

    /// [`Extracted::job_hashes`] as a job's items, then `indicators` (URLs, domains, IP
    /// addresses, when they were asked for) after every hash. The hashes move into the
    /// items and `hashes` is left empty: a million of them are not held twice.
    pub fn take_job_targets(
        &mut self,
        indicators: &[ioc::Indicator],
    ) -> Vec<crate::target::Target> {
        let weak = weak_once(&self.alternates);
        let hashes = std::mem::take(&mut self.hashes);
        let mut targets = Vec::with_capacity(hashes.len() + weak.len() + indicators.len());
        targets.extend(
            hashes
                .into_iter()
                .chain(weak)
                .map(crate::target::Target::File),
        );
        targets.extend(indicators.iter().map(crate::target::Target::of_indicator));
        targets
    }
}

impl Digests {
    /// The weaker hashes of labelled groups, each once: what [`Extracted::job_hashes`]
    /// adds after the lookups.
    pub fn weak_digests(&self) -> Vec<Digest> {
        weak_once(&self.alternates)
    }
}

/// The weak side of each `(strong, weak)` pair, each once. None is a lookup: the
/// extractor drops a pair whose weak hash is one ([`group`]).
fn weak_once<T: Clone + Eq + std::hash::Hash>(pairs: &[(T, T)]) -> Vec<T> {
    let mut seen = std::collections::HashSet::new();
    pairs
        .iter()
        .map(|(_, weak)| weak)
        .filter(|weak| seen.insert(*weak))
        .cloned()
        .collect()
}

impl From<Digests> for Extracted {
    fn from(d: Digests) -> Extracted {
        Extracted {
            hashes: d.digests.iter().map(Digest::to_hash).collect(),
            lines: d.lines,
            lines_without_hash: d.lines_without_hash,
            duplicates: d.duplicates,
            non_file_hashes: d.non_file_hashes,
            alternates: d
                .alternates
                .iter()
                .map(|(s, w)| (s.to_hash(), w.to_hash()))
                .collect(),
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
    /// Bytes of the current line read, the open run included: where a hash starts, for
    /// the group's adjacency test.
    line_off: u64,
    /// The line's bytes before the open run, for the label look-back.
    context: Context,
    group: Group,
    seen: Seen,
    pairs: Pairs,
    lines: u64,
    lines_without_hash: u64,
    non_file_hashes: u64,
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
            line_off: 0,
            context: Context::default(),
            group: Group::default(),
            seen: Seen::default(),
            pairs: Pairs::default(),
            lines: 0,
            lines_without_hash: 0,
            non_file_hashes: 0,
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
        let mut keep = Keep {
            seen: &mut self.seen,
            pairs: &mut self.pairs,
        };
        let counts = lines::scan_lines(text, &mut keep);
        self.add_counts(counts);
    }

    fn add_counts(&mut self, counts: lines::LineCounts) {
        self.lines += counts.lines;
        self.lines_without_hash += counts.lines_without_hash;
        self.non_file_hashes += counts.non_file_hashes;
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
            // The line's separators, for the look-back: pushed once per stretch.
            let mut line_from = i;
            while i < n && !CLASS_WORD[chunk[i] as usize] {
                let b = chunk[i];
                if b == b'\n' {
                    self.end_line();
                    line_from = i + 1;
                } else {
                    self.line_started = true;
                    if !b.is_ascii_whitespace() && !self.bom_byte(b) {
                        self.line_blank = false;
                    }
                    self.line_pos = self.line_pos.saturating_add(1);
                }
                i += 1;
            }
            self.context.push(&chunk[line_from..i]);
            self.line_off += (i - line_from) as u64;
        }
    }

    fn extend_run(&mut self, bytes: &[u8], all_hex: bool) {
        if self.run_len < 64 {
            let take = bytes.len().min(64 - self.run_len);
            self.run[self.run_len..self.run_len + take].copy_from_slice(&bytes[..take]);
        }
        self.run_len = self.run_len.saturating_add(bytes.len());
        self.run_all_hex &= all_hex;
        self.line_off += bytes.len() as u64;
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
                let label = label_before(self.context.bytes());
                let start = self.line_off - self.run_len as u64;
                let mut keep = Keep {
                    seen: &mut self.seen,
                    pairs: &mut self.pairs,
                };
                match self.group.hash(d, label, start, self.line_off, &mut keep) {
                    group::Found::File => self.line_has_hash = true,
                    group::Found::NonFile => self.non_file_hashes += 1,
                }
            }
        }
        if self.run_len <= 64 {
            self.context.push(&self.run[..self.run_len]);
        } else {
            self.context.push_word_run(self.run_len);
        }
        self.run_len = 0;
        self.run_all_hex = true;
    }

    fn end_line(&mut self) {
        self.group.flush(&mut Keep {
            seen: &mut self.seen,
            pairs: &mut self.pairs,
        });
        self.context.clear();
        self.line_off = 0;
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
        let seen = &self.seen;
        let alternates = self.pairs.into_vec(|weak| seen.contains(weak));
        Digests {
            duplicates: self.seen.duplicates(),
            digests: self.seen.into_digests(),
            lines: self.lines,
            lines_without_hash: self.lines_without_hash,
            non_file_hashes: self.non_file_hashes,
            alternates,
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
mod tests;
