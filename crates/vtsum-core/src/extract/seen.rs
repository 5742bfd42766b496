//! The set of hashes already seen, and the compact form a hash is kept in while scanning.
//!
//! A [`Digest`] is the hash's raw bytes (16, 20 or 32), so case folding is free and a
//! duplicate costs no allocation. [`Seen`] keeps the unique digests in first-seen order in
//! one `Vec` and indexes them with a `hashbrown::HashTable` of `u32` positions: the table is
//! five bytes a hash (a million hashes fit in the CPU's cache), so inserting a new hash
//! touches no other memory. `foldhash` with a per-process random seed hashes the digest:
//! fast on 16–32 bytes and, seeded, not floodable with crafted collisions by hostile input.

use std::fmt;
use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::hash::{Hash, HashKind};

/// One md5, sha1 or sha256 as raw bytes (zero-padded past its length).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest {
    len: u8,
    bytes: [u8; 32],
}

/// Eight hex digits (checked by the caller; first digit in the low byte) to their four
/// bytes (first byte in the low byte). `0`-`9` are 0x30-0x39 and `a`-`f`/`A`-`F` 0x41-0x46
/// or 0x61-0x66: the low four bits, plus 9 when bit 6 (a letter) is set.
fn decode8(x: u64) -> u32 {
    const LOW: u64 = 0x0F0F_0F0F_0F0F_0F0F;
    let v = (x & LOW) + ((x >> 6) & 0x0101_0101_0101_0101) * 9;
    // Each 16-bit lane holds (high digit, low digit): make it one byte.
    let pairs = ((v & 0x00FF_00FF_00FF_00FF) << 4 | (v >> 8) & 0x00FF_00FF_00FF_00FF)
        & 0x00FF_00FF_00FF_00FF;
    let quads = (pairs | pairs >> 8) & 0x0000_FFFF_0000_FFFF;
    (quads | quads >> 16) as u32
}

const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";

impl Digest {
    /// Decodes 32, 40 or 64 hex digits the caller checked (any other length is `None`).
    pub(crate) fn from_hex(hex: &[u8]) -> Option<Digest> {
        if !matches!(hex.len(), 32 | 40 | 64) {
            return None;
        }
        let mut bytes = [0u8; 32];
        // Eight digits at a time: every length is a multiple of eight.
        for (out, digits) in bytes.chunks_exact_mut(4).zip(hex.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(digits);
            out.copy_from_slice(&decode8(u64::from_le_bytes(w)).to_le_bytes());
        }
        Some(Digest {
            len: (hex.len() / 2) as u8,
            bytes,
        })
    }

    /// The algorithm, from the length.
    pub fn kind(&self) -> HashKind {
        match self.len {
            16 => HashKind::Md5,
            20 => HashKind::Sha1,
            _ => HashKind::Sha256,
        }
    }

    /// The raw digest bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// Writes the lower-case hex into `out` and returns it (32, 40 or 64 bytes).
    pub fn hex<'a>(&self, out: &'a mut [u8; 64]) -> &'a [u8] {
        for (pair, b) in out.chunks_exact_mut(2).zip(self.bytes()) {
            pair[0] = LOWER_HEX[(b >> 4) as usize];
            pair[1] = LOWER_HEX[(b & 15) as usize];
        }
        &out[..self.len as usize * 2]
    }

    /// The same hash as the rest of vtsum uses it.
    pub fn to_hash(&self) -> Hash {
        let mut buf = [0u8; 64];
        let hex = self.hex(&mut buf);
        // Always ASCII: written from LOWER_HEX just above.
        Hash::from_lower_hex(std::str::from_utf8(hex).unwrap_or_default())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 64];
        // Always ASCII: written from LOWER_HEX.
        f.write_str(std::str::from_utf8(self.hex(&mut buf)).unwrap_or_default())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

/// Unique digests in first-seen order.
#[derive(Default)]
pub struct Seen {
    order: Vec<Digest>,
    /// Each entry: the top 32 bits of the digest's hash, then its position in `order`.
    /// Growing the table and telling most different digests apart need only the entry, so
    /// `order` (large, read at random) is touched only when the 32 bits agree.
    index: HashTable<u64>,
    state: foldhash::fast::RandomState,
    duplicates: u64,
}

impl fmt::Debug for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Seen")
            .field("unique", &self.order.len())
            .field("duplicates", &self.duplicates)
            .finish()
    }
}

/// The table's hash of an entry: its 32 tag bits, in both halves (hashbrown takes the
/// bucket from the low bits and its control byte from the top seven).
fn spread(entry: u64) -> u64 {
    (entry & !0xFFFF_FFFF) | (entry >> 32)
}

impl Seen {
    /// The hasher of digests (`hash_one(digest.bytes())`), for threads that hash ahead.
    pub fn hasher(&self) -> foldhash::fast::RandomState {
        self.state
    }

    /// Adds a digest; false (and one more duplicate) when it was already there.
    pub fn insert(&mut self, d: Digest) -> bool {
        self.insert_hashed(d, self.state.hash_one(d.bytes()))
    }

    /// [`Seen::insert`] with the digest's hash from [`Seen::hasher`] already computed.
    pub fn insert_hashed(&mut self, d: Digest, hash: u64) -> bool {
        let tag = hash & !0xFFFF_FFFF;
        let hash = spread(tag);
        let order = &self.order;
        let found = self
            .index
            .find(hash, |&e| {
                e & !0xFFFF_FFFF == tag && order[(e & 0xFFFF_FFFF) as usize] == d
            })
            .is_some();
        if found {
            self.duplicates += 1;
            return false;
        }
        // Past 2^32 unique hashes (over 140 GB of them) positions would wrap; nothing
        // reads that many.
        let entry = tag | (self.order.len() as u64 & 0xFFFF_FFFF);
        self.index.insert_unique(hash, entry, |&e| spread(e));
        self.order.push(d);
        true
    }

    /// Whether `d` is in the set.
    pub fn contains(&self, d: &Digest) -> bool {
        let tag = self.state.hash_one(d.bytes()) & !0xFFFF_FFFF;
        self.index
            .find(spread(tag), |&e| {
                e & !0xFFFF_FFFF == tag && self.order[(e & 0xFFFF_FFFF) as usize] == *d
            })
            .is_some()
    }

    /// Counts repeats that were dropped before reaching the set.
    pub fn add_duplicates(&mut self, n: u64) {
        self.duplicates += n;
    }

    /// Makes room for `n` more unique hashes at once, sparing the table's growth steps.
    pub fn reserve(&mut self, n: usize) {
        self.index.reserve(n, |&e| spread(e));
        self.order.reserve(n);
    }

    /// Hashes seen again after their first occurrence.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// The unique digests, first seen first.
    pub fn into_digests(self) -> Vec<Digest> {
        self.order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pair_of_digits_in_every_place_decodes_like_from_str_radix() {
        let digits = b"0123456789abcdefABCDEF";
        for &hi in digits {
            for &lo in digits {
                for at in (0..32).step_by(2) {
                    let mut hex = [b'0'; 32];
                    hex[at] = hi;
                    hex[at + 1] = lo;
                    let d = Digest::from_hex(&hex).unwrap();
                    let want =
                        u8::from_str_radix(std::str::from_utf8(&[hi, lo]).unwrap(), 16).unwrap();
                    assert_eq!(d.bytes()[at / 2], want);
                    assert_eq!(
                        d.bytes().iter().filter(|&&b| b != 0).count(),
                        usize::from(want != 0)
                    );
                }
            }
        }
    }

    #[test]
    fn the_set_keeps_first_seen_order_and_counts_repeats() {
        let mut seen = Seen::default();
        let a = Digest::from_hex(&[b'a'; 32]).unwrap();
        let b = Digest::from_hex(&[b'A'; 40]).unwrap();
        assert!(seen.insert(a) && seen.insert(b) && !seen.insert(a));
        assert!(seen.contains(&b) && !seen.contains(&Digest::from_hex(&[b'b'; 32]).unwrap()));
        assert_eq!(seen.duplicates(), 1);
        assert_eq!(seen.into_digests(), vec![a, b]);
    }
}
