//! The fast path: hashes and line counts in a run of whole lines.
//!
//! The input is cut into 64-byte blocks and each block turned into bit masks (which bytes
//! are hex digits, which are newlines) eight bytes at a time with SWAR arithmetic on `u64`
//! — stable, safe Rust, no SIMD intrinsics. A hash is at least 32 hex digits in a row, so
//! "32 hex digits start here" is found with five shift-and-ANDs over two blocks' masks, and
//! blocks without such a place (prose, log fields) cost only the mask arithmetic. Only there
//! are bytes looked at one by one: the run's length (exactly 32, 40 or 64, so a SHA-512 is
//! one run of 128, never two hashes) and its neighbours (not word characters).
//!
//! Each hash found is labelled from the bytes before it ([`super::label`]) and goes through
//! a [`Group`], so labelled hashes of one file make one lookup; that happens per hash,
//! never per byte. A line holding only non-file hashes (`IMPHASH=…`) has no hash.
//!
//! It runs from a clean state only — the start of a line, no run open — and its slice ends
//! with a newline, so no hash, group or line crosses its edges. [`super::Extractor`] handles the
//! partial lines at a chunk's edges with its byte-at-a-time state machine.

use super::group::{Found, Group, Sink};
use super::label::{label_before, LOOK_BACK};
use super::seen::Digest;
use super::CLASS_WORD;

/// What a run of whole lines held, besides its digests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LineCounts {
    pub lines: u64,
    pub lines_without_hash: u64,
    pub non_file_hashes: u64,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Gathers the high bit of each byte of `m` (all other bits clear) into 8 bits.
#[inline(always)]
fn gather(m: u64) -> u64 {
    ((m >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56
}

/// Per-byte `lo <= b <= hi` for bytes below 0x80, as high bits.
#[inline(always)]
fn in_range(t: u64, lo: u8, hi: u8) -> u64 {
    let ge_lo = t.wrapping_add(ONES * (0x80 - lo as u64));
    let gt_hi = t.wrapping_add(ONES * (0x7F - hi as u64));
    ge_lo & !gt_hi
}

/// Hex digits and newlines among 8 bytes, as two 8-bit masks.
#[inline(always)]
fn classify8(x: u64) -> (u64, u64) {
    let ascii = !x & HIGH;
    let t = x & !HIGH;
    let digit = in_range(t, b'0', b'9');
    let letter = in_range(t | (ONES * 0x20), b'a', b'f');
    let hex = (digit | letter) & ascii;
    let y = t ^ (ONES * b'\n' as u64);
    // Exact zero-byte test: no false positives from borrows, since nothing is subtracted.
    let newline = !((y.wrapping_add(!HIGH)) | y) & ascii;
    (gather(hex), gather(newline))
}

/// Hex and newline masks of up to 64 bytes (missing bytes count as neither).
#[inline(always)]
fn classify64(block: &[u8]) -> (u64, u64) {
    let mut hex = 0;
    let mut nl = 0;
    if block.len() == 64 {
        for (k, word) in block.chunks_exact(8).enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            let (h, n) = classify8(u64::from_le_bytes(w));
            hex |= h << (8 * k);
            nl |= n << (8 * k);
        }
    } else {
        let mut padded = [0u8; 64];
        padded[..block.len()].copy_from_slice(block);
        return classify64(&padded);
    }
    (hex, nl)
}

/// Bit i set when bits i..i+32 of `x` are all set.
#[inline(always)]
fn runs_of_32(x: u128) -> u128 {
    let a = x & (x >> 1);
    let b = a & (a >> 2);
    let c = b & (b >> 4);
    let d = c & (c >> 8);
    d & (d >> 16)
}

fn is_word(b: u8) -> bool {
    CLASS_WORD[b as usize]
}

/// A line is blank when it is white space only, after a UTF-8 byte-order mark (or a
/// prefix of one) at its start.
pub(super) fn is_blank(line: &[u8]) -> bool {
    const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];
    let bom = line.iter().zip(BOM).take_while(|(a, b)| *a == b).count();
    line[bom..].iter().all(u8::is_ascii_whitespace)
}

/// Scans `text`, which must be whole lines (empty, or ending with `\n`), passing lookups
/// and alternates to `out` in order.
pub(super) fn scan_lines(text: &[u8], out: &mut impl Sink) -> LineCounts {
    debug_assert!(text.last().is_none_or(|&b| b == b'\n'));
    let mut counts = LineCounts::default();
    let mut next = classify64(&text[..text.len().min(64)]);
    // Absolute position before which everything is decided.
    let mut resume = 0usize;
    let mut line_start = 0usize;
    let mut line_has_hash = false;
    let mut group = Group::default();
    let mut base = 0usize;
    while base < text.len() {
        let (hex, nl) = next;
        let after = (base + 64).min(text.len());
        next = classify64(&text[after..(after + 64).min(text.len())]);
        let window = hex as u128 | (next.0 as u128) << 64;
        let mut starts = runs_of_32(window) as u64;
        // Positions (in this block) where a hash began.
        let mut hashes_here = 0u64;
        if resume > base {
            let skip = resume - base;
            starts &= if skip >= 64 { 0 } else { !0u64 << skip };
        }
        while starts != 0 {
            let off = starts.trailing_zeros();
            let p = base + off as usize;
            // The run's length from the masks. A run reaching past the next block is over
            // 64 digits (no hash); what is left of it starts next to a hex digit, so it
            // cannot pass the neighbour test below either.
            let end = p + (!(window >> off)).trailing_zeros() as usize;
            let clear =
                (p == 0 || !is_word(text[p - 1])) && text.get(end).is_none_or(|&b| !is_word(b));
            if clear {
                if let Some(d) = Digest::from_hex(&text[p..end]) {
                    // A newline among these bytes ends the look-back: the group ends with
                    // its line, since a newline never separates a group's hashes.
                    let label = label_before(&text[p.saturating_sub(LOOK_BACK)..p]);
                    match group.hash(d, label, p as u64, end as u64, out) {
                        Found::File => hashes_here |= 1 << (p - base),
                        Found::NonFile => counts.non_file_hashes += 1,
                    }
                }
            }
            resume = end;
            let skip = end - base;
            starts &= if skip >= 64 { 0 } else { !0u64 << skip };
        }
        // Lines ending in this block.
        let mut nls = nl;
        let mut from_bit = 0u32;
        while nls != 0 {
            let q = nls.trailing_zeros();
            let here = hashes_here & bits_between(from_bit, q);
            let has = line_has_hash || here != 0;
            let end = base + q as usize;
            counts.lines += 1;
            if !has && !is_blank(&text[line_start..end]) {
                counts.lines_without_hash += 1;
            }
            line_has_hash = false;
            line_start = end + 1;
            from_bit = q + 1;
            nls &= nls - 1;
        }
        line_has_hash |= hashes_here & bits_between(from_bit, 64) != 0;
        base += 64;
    }
    group.flush(out);
    counts
}

/// Bits `from..to` of a u64 (to at most 64).
#[inline(always)]
fn bits_between(from: u32, to: u32) -> u64 {
    let upto = if to >= 64 { !0 } else { (1u64 << to) - 1 };
    let below = if from >= 64 { !0 } else { (1u64 << from) - 1 };
    upto & !below
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_agree_with_the_byte_tests_for_every_byte_in_every_lane() {
        for b in 0..=255u8 {
            for lane in 0..8 {
                let mut w = [b'.'; 8];
                w[lane] = b;
                let (hex, nl) = classify8(u64::from_le_bytes(w));
                assert_eq!(
                    hex == 1 << lane,
                    b.is_ascii_hexdigit(),
                    "{b:#x} lane {lane}"
                );
                assert_eq!(nl == 1 << lane, b == b'\n', "{b:#x} lane {lane}");
            }
        }
    }

    #[test]
    fn runs_of_32_marks_exactly_the_starts_of_32_set_bits() {
        let x: u128 = ((1u128 << 40) - 1) << 10; // bits 10..50
        let r = runs_of_32(x);
        assert_eq!(r, ((1u128 << 9) - 1) << 10, "starts 10..=18");
    }
}
