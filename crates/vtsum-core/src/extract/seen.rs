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
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    len: u8,
    bytes: [u8; 32],
}

/// The value of each byte as a hex digit; only read for bytes the scanner found to be hex.
static NIBBLE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => 0,
        };
        b += 1;
    }
    t
};

const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";

impl Digest {
    /// Decodes 32, 40 or 64 hex digits the caller checked (any other length is `None`).
    pub(crate) fn from_hex(hex: &[u8]) -> Option<Digest> {
        if !matches!(hex.len(), 32 | 40 | 64) {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (b, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
            *b = (NIBBLE[pair[0] as usize] << 4) | NIBBLE[pair[1] as usize];
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
    index: HashTable<u32>,
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

impl Seen {
    /// Adds a digest; false (and one more duplicate) when it was already there.
    pub fn insert(&mut self, d: Digest) -> bool {
        let hash = self.state.hash_one(d.bytes());
        let order = &self.order;
        let state = &self.state;
        let found = self.index.find(hash, |&i| order[i as usize] == d).is_some();
        if found {
            self.duplicates += 1;
            return false;
        }
        let i = self.order.len() as u32;
        self.index
            .insert_unique(hash, i, |&j| state.hash_one(order[j as usize].bytes()));
        self.order.push(d);
        true
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
