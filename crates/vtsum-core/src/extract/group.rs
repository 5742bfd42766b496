//! Labelled hashes of one file, one lookup: `MD5=…,SHA256=…` is one file, not two.
//!
//! Labelled file hashes ([`super::label`]) that follow each other on one line, separated
//! only by `,` `;` `|`, spaces, tabs or quotes, form a group; a labelled non-file hash
//! (`IMPHASH=…`) between them does not break it. A group holds at most one hash of each
//! kind (a second md5 starts a new group). Only its strongest hash (sha256 > sha1 > md5) is
//! a lookup; each weaker one becomes an alternate `(strong, weak)`, so the engine can check
//! VirusTotal's answer agrees and look the weak one up only if it does not. A label whose
//! kind does not match the hash's length (`MD5=` and 64 hex digits) is ignored: the hash is
//! an unlabelled lookup.
//!
//! [`Group`] is the open group of one scanner; it is emitted when the next hash is not
//! adjacent and at every line's end, so both scanners emit in the same order. [`Pairs`]
//! keeps the unique alternates in first-seen order, a `hashbrown::HashTable` of positions
//! into a `Vec` like [`super::seen::Seen`].

use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::label::{Label, Labelled};
use super::seen::{Digest, Seen};
use crate::hash::HashKind;

/// Where a scanner's findings go.
pub(super) trait Sink {
    /// A hash to look up.
    fn lookup(&mut self, d: Digest);
    /// A weaker hash of the same file as `strong`.
    fn alternate(&mut self, strong: Digest, weak: Digest);
}

/// Where both scanners' findings end up: the set of lookups and the alternates.
pub(super) struct Keep<'a> {
    pub seen: &'a mut Seen,
    pub pairs: &'a mut Pairs,
}

impl Sink for Keep<'_> {
    #[inline]
    fn lookup(&mut self, d: Digest) {
        self.seen.insert(d);
    }

    fn alternate(&mut self, strong: Digest, weak: Digest) {
        self.pairs.insert(strong, weak);
    }
}

/// What one found hash turned out to be, for the line's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Found {
    /// A file hash (a lookup, or a member of a group).
    File,
    /// A non-file hash: counted, never looked up.
    NonFile,
}

/// The open group: one slot per kind, weakest first.
#[derive(Debug, Default)]
pub(super) struct Group {
    slots: [Option<Digest>; 3],
    /// A group is open (it may hold only non-file hashes so far).
    open: bool,
    /// Where the group's last labelled hash ended (the scanner's own positions).
    end: u64,
}

fn slot(kind: HashKind) -> usize {
    match kind {
        HashKind::Md5 => 0,
        HashKind::Sha1 => 1,
        HashKind::Sha256 => 2,
    }
}

impl Group {
    /// Takes the hash `d` found at `start..end` with label `l`.
    #[inline]
    pub fn hash(
        &mut self,
        d: Digest,
        l: Labelled,
        start: u64,
        end: u64,
        out: &mut impl Sink,
    ) -> Found {
        let adjacent = self.open && start.checked_sub(l.reach as u64) == Some(self.end);
        match l.label {
            Label::NonFile => {
                if !adjacent {
                    self.flush(out);
                    self.open = true;
                }
                self.end = end;
                Found::NonFile
            }
            Label::File(kind) if kind == d.kind() => {
                let s = slot(kind);
                if !adjacent || self.slots[s].is_some() {
                    self.flush(out);
                    self.open = true;
                }
                self.slots[s] = Some(d);
                self.end = end;
                Found::File
            }
            _ => {
                self.flush(out);
                out.lookup(d);
                Found::File
            }
        }
    }

    /// Emits the open group, if any: its strongest hash, then its alternates.
    #[inline]
    pub fn flush(&mut self, out: &mut impl Sink) {
        if !self.open {
            return;
        }
        self.open = false;
        let [md5, sha1, sha256] = std::mem::take(&mut self.slots);
        match (sha256, sha1, md5) {
            (Some(strong), sha1, md5) => {
                out.lookup(strong);
                sha1.into_iter()
                    .chain(md5)
                    .for_each(|w| out.alternate(strong, w));
            }
            (None, Some(strong), md5) => {
                out.lookup(strong);
                md5.into_iter().for_each(|w| out.alternate(strong, w));
            }
            (None, None, Some(md5)) => out.lookup(md5),
            (None, None, None) => {}
        }
    }
}

/// Unique `(strong, weak)` pairs in first-seen order.
#[derive(Default)]
pub(super) struct Pairs {
    order: Vec<(Digest, Digest)>,
    index: HashTable<u32>,
    state: foldhash::fast::RandomState,
}

impl std::fmt::Debug for Pairs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pairs")
            .field("unique", &self.order.len())
            .finish()
    }
}

impl Pairs {
    fn hash(&self, p: &(Digest, Digest)) -> u64 {
        self.state.hash_one((p.0.bytes(), p.1.bytes()))
    }

    pub fn insert(&mut self, strong: Digest, weak: Digest) {
        let pair = (strong, weak);
        let hash = self.hash(&pair);
        let order = &self.order;
        if self
            .index
            .find(hash, |&i| order[i as usize] == pair)
            .is_some()
        {
            return;
        }
        let Pairs {
            order,
            index,
            state,
        } = self;
        // As in Seen: past 2^32 pairs positions would wrap; nothing reads that many.
        index.insert_unique(hash, order.len() as u32, |&i| {
            let p = &order[i as usize];
            state.hash_one((p.0.bytes(), p.1.bytes()))
        });
        order.push(pair);
    }

    /// The pairs, first seen first, without those whose weak hash `is_lookup`.
    pub fn into_vec(self, is_lookup: impl Fn(&Digest) -> bool) -> Vec<(Digest, Digest)> {
        let mut v = self.order;
        v.retain(|(_, weak)| !is_lookup(weak));
        v
    }
}
