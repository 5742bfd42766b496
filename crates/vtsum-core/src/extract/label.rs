//! What a found hash is labelled as, read from the few bytes just before it.
//!
//! EDR exports name their hashes: Sysmon `Hashes=MD5=…,SHA256=…,IMPHASH=…`, key-value
//! `md5: …`, JSON `"sha256": "…"`, ECS `file.hash.sha1: …`. A label is a whole word
//! (case-insensitive) followed by `=` or `:`, with up to four spaces, tabs or quotes on
//! either side of that sign. File labels are `MD5`, `SHA1`, `SHA-1`, `SHA256`, `SHA-256`;
//! non-file labels (hashes of something other than the file, never worth a lookup) are
//! `IMPHASH`, `AUTHENTIHASH`, `PEHASH`, `TLSH`, `SSDEEP`, `RICHHASH`, `RICH_HASH` and
//! `ICONHASH`. Any other word (`file_md5`, `hash`) is no label.
//!
//! The look-back runs once per found hash, never per byte, so it costs nothing on text
//! without hashes. It reads at most [`LOOK_BACK`] bytes and decides within the last 30 of
//! them, so both scanners give the same answer: the block scanner passes the bytes before
//! the hash (a newline among them ends the look-back), the state machine the last bytes of
//! the current line (fewer only at the line's start, which ends the look-back the same way).

use crate::hash::HashKind;

use super::CLASS_WORD;

/// Bytes before a hash that the look-back may read.
pub(super) const LOOK_BACK: usize = 32;

/// Spaces, tabs or quotes allowed on either side of the `=` or `:`.
const PAD: usize = 4;
/// The longest label (`AUTHENTIHASH`).
const LONGEST: usize = 12;
/// Separators allowed between one labelled hash and the next label of its group.
const GAP: usize = 8;

/// What a hash's label says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Label {
    /// No label (or one this module does not know).
    None,
    /// A hash of something other than the file (an import hash, a fuzzy hash).
    NonFile,
    /// A file hash of this kind (whatever the hash's length: the caller compares).
    File(HashKind),
}

/// A label and how far back its field reaches: the hash's start minus `reach` is where
/// the separators (`,` `;` `|` spaces, quotes) before the label begin, so the hash is in
/// the same group as a previous labelled hash that ends exactly there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Labelled {
    pub label: Label,
    pub reach: usize,
}

fn pad(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'"' | b'\'')
}

fn gap(b: u8) -> bool {
    matches!(b, b',' | b';' | b'|' | b' ' | b'\t' | b'"' | b'\'')
}

/// Moves `i` back over at most `max` bytes of `win` that are in `set`.
fn skip(win: &[u8], i: &mut usize, max: usize, set: fn(u8) -> bool) {
    let stop = i.saturating_sub(max);
    while *i > stop && set(win[*i - 1]) {
        *i -= 1;
    }
}

/// The word of at most `max` characters ending at `end` (None when longer or empty).
fn word_before(win: &[u8], end: usize, max: usize) -> Option<usize> {
    let mut i = end;
    skip(win, &mut i, max + 1, |b| CLASS_WORD[b as usize]);
    (i < end && end - i <= max).then_some(i)
}

/// The label of a hash whose preceding bytes (at most [`LOOK_BACK`], the line's start or a
/// newline ending them) are `win`.
#[inline]
pub(super) fn label_before(win: &[u8]) -> Labelled {
    const NONE: Labelled = Labelled {
        label: Label::None,
        reach: 0,
    };
    // Most hashes follow a comma, a space or a line start: decided at the first byte.
    match win.last() {
        Some(b'=' | b':' | b'"' | b'\'' | b' ' | b'\t') => {}
        _ => return NONE,
    }
    let mut i = win.len();
    skip(win, &mut i, PAD, pad);
    if i == 0 || !matches!(win[i - 1], b'=' | b':') {
        return NONE;
    }
    i -= 1;
    skip(win, &mut i, PAD, pad);
    let Some(start) = word_before(win, i, LONGEST) else {
        return NONE;
    };
    let mut lower = [0u8; LONGEST];
    let word = &mut lower[..i - start];
    word.copy_from_slice(&win[start..i]);
    word.make_ascii_lowercase();
    let (label, mut i) = match &*word {
        b"md5" => (Label::File(HashKind::Md5), start),
        b"sha1" => (Label::File(HashKind::Sha1), start),
        b"sha256" => (Label::File(HashKind::Sha256), start),
        b"1" | b"256" => match sha_dash(win, start) {
            Some(s) if word == b"1" => (Label::File(HashKind::Sha1), s),
            Some(s) => (Label::File(HashKind::Sha256), s),
            None => return NONE,
        },
        b"imphash" | b"authentihash" | b"pehash" | b"tlsh" | b"ssdeep" | b"richhash"
        | b"rich_hash" | b"iconhash" => (Label::NonFile, start),
        _ => return NONE,
    };
    skip(win, &mut i, GAP, gap);
    Labelled {
        label,
        reach: win.len() - i,
    }
}

/// Where `SHA-` starts when it ends at `end` (the `1` or `256` of `SHA-1`, `SHA-256`).
fn sha_dash(win: &[u8], end: usize) -> Option<usize> {
    if end == 0 || win[end - 1] != b'-' {
        return None;
    }
    let start = word_before(win, end - 1, 3)?;
    win[start..end - 1]
        .eq_ignore_ascii_case(b"sha")
        .then_some(start)
}

/// The last bytes of the current line before the current run: the state machine's
/// look-back, kept across chunk edges.
#[derive(Debug, Clone, Default)]
pub(super) struct Context {
    buf: [u8; LOOK_BACK],
    len: usize,
}

impl Context {
    /// Appends bytes of the line.
    pub fn push(&mut self, bytes: &[u8]) {
        if bytes.len() >= LOOK_BACK {
            self.buf.copy_from_slice(&bytes[bytes.len() - LOOK_BACK..]);
            self.len = LOOK_BACK;
            return;
        }
        let keep = (LOOK_BACK - bytes.len()).min(self.len);
        self.buf.copy_within(self.len - keep..self.len, 0);
        self.buf[keep..keep + bytes.len()].copy_from_slice(bytes);
        self.len = keep + bytes.len();
    }

    /// Appends a run of `len` word characters whose bytes were not kept (a run too long to
    /// be a hash): any word characters read the same in the look-back, which only asks
    /// whether a short word ends somewhere.
    pub fn push_word_run(&mut self, len: usize) {
        let fill = [b'_'; LOOK_BACK];
        self.push(&fill[..len.min(LOOK_BACK)]);
    }

    /// The bytes, oldest first (fewer than [`LOOK_BACK`] only near the line's start).
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// A new line begins.
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(before: &str) -> Label {
        label_before(before.as_bytes()).label
    }

    #[test]
    fn file_and_non_file_labels_in_their_usual_spellings() {
        for (text, want) in [
            ("Hashes=MD5=", Label::File(HashKind::Md5)),
            ("x,sha1: '", Label::File(HashKind::Sha1)),
            ("\"SHA-256\" : \"", Label::File(HashKind::Sha256)),
            ("Sha-1=", Label::File(HashKind::Sha1)),
            ("file.hash.sha256: ", Label::File(HashKind::Sha256)),
            (",IMPHASH=", Label::NonFile),
            ("rich_hash:", Label::NonFile),
            ("md5 ", Label::None),
            ("file_md5=", Label::None),
            ("xsha-256=", Label::None),
            ("md5=     ", Label::None),
            ("=", Label::None),
            ("", Label::None),
        ] {
            assert_eq!(label(text), want, "{text:?}");
        }
    }

    #[test]
    fn reach_ends_where_the_previous_hash_ends() {
        let l = label_before(b"abc\", \"sha256\": \"");
        assert_eq!((l.label, l.reach), (Label::File(HashKind::Sha256), 14));
        assert_eq!(label_before(b"\nSHA1=").reach, 5, "a newline ends the gap");
    }

    #[test]
    fn the_decision_never_needs_more_than_the_look_back() {
        let longest = ";;;;\"\"\"\"AUTHENTIHASH\"\"\"\"=\"\"\"\"";
        assert!(longest.len() < LOOK_BACK);
        let alone = label_before(longest.as_bytes());
        assert_eq!((alone.label, alone.reach), (Label::NonFile, longest.len()));
        for before in ["x", "\n", ";;;", "AUTHENTIHASH"] {
            let more = format!("{before}{longest}");
            assert_eq!(label_before(more.as_bytes()), alone, "{before:?}");
        }
    }

    #[test]
    fn the_context_keeps_the_last_bytes_whatever_the_pieces() {
        let text: Vec<u8> = (0..100u8).collect();
        for piece in 1..40 {
            let mut c = Context::default();
            for p in text.chunks(piece) {
                c.push(p);
            }
            assert_eq!(c.bytes(), &text[100 - LOOK_BACK..], "pieces of {piece}");
        }
        let mut c = Context::default();
        c.push(b"ab");
        c.push_word_run(3);
        assert_eq!(c.bytes(), b"ab___");
    }
}
