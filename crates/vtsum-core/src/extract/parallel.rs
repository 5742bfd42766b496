//! Reading a whole input through the extractor with fixed-size buffers, the whole lines of
//! each buffer shared between threads.
//!
//! Each round fills one buffer (1 MiB a thread), finishes the line left open by the last
//! round with the state machine, cuts the whole lines into one part a thread at line ends
//! and scans the parts at once (`std::thread::scope`). The calling thread dedups its own
//! part's hashes as it finds them and then the other parts' in order, so first-seen order
//! and duplicate counts are exactly those of one thread. A line longer than half the buffer
//! goes through the state machine in pieces, so memory stays bounded by the buffer.

use std::io::{self, Read};

use super::lines::{scan_lines, LineCounts};
use super::seen::Digest;
use super::Extractor;

/// Bytes read per round and thread.
const PART: usize = 1 << 20;

impl Extractor {
    /// Reads `reader` to its end through the extractor, splitting the work between up to
    /// `threads` threads (1: only the calling thread). Interrupted reads are retried.
    pub fn read_all<R: Read>(&mut self, reader: R, threads: usize) -> io::Result<()> {
        self.read_all_in(reader, threads, PART)
    }

    /// [`Extractor::read_all`] with `part` bytes per round and thread instead of 1 MiB:
    /// tests use tiny buffers to put round and thread boundaries everywhere.
    #[doc(hidden)]
    pub fn read_all_in<R: Read>(
        &mut self,
        mut reader: R,
        threads: usize,
        part: usize,
    ) -> io::Result<()> {
        let threads = threads.clamp(1, 64);
        // Below this many bytes of whole lines a round is not worth a thread.
        let min_split = part.max(2) / 16;
        let mut buf = vec![0u8; part.max(2) * threads];
        let mut filled = 0;
        loop {
            let eof = fill(&mut reader, &mut buf, &mut filled)?;
            let data = &buf[..filled];
            let mut start = 0;
            if self.line_started {
                match memchr::memchr(b'\n', data) {
                    Some(i) => {
                        self.feed_bytes(&data[..=i]);
                        start = i + 1;
                    }
                    None => {
                        self.feed_bytes(data);
                        start = filled;
                    }
                }
            }
            let end = memchr::memrchr(b'\n', &data[start..]).map_or(start, |j| start + j + 1);
            self.feed_lines_split(&data[start..end], threads, min_split);
            let tail = &data[end..];
            // The open line is kept for the next round, unless it is long: then the state
            // machine takes it now, so every round frees at least half the buffer.
            if eof || tail.len() > buf.len() / 2 {
                self.feed_bytes(tail);
                filled = 0;
            } else {
                buf.copy_within(end..filled, 0);
                filled -= end;
            }
            if eof {
                return Ok(());
            }
        }
    }

    /// Whole lines from a clean state, split between threads when there is enough.
    fn feed_lines_split(&mut self, text: &[u8], threads: usize, min_split: usize) {
        if threads == 1 || text.len() < min_split {
            return self.feed_lines(text);
        }
        let parts = split_at_lines(text, threads);
        let (first, others) = parts.split_first().unwrap_or((&text, &[]));
        let found: Vec<(Vec<Digest>, LineCounts)> = std::thread::scope(|s| {
            let handles: Vec<_> = others
                .iter()
                .map(|part| {
                    s.spawn(move || {
                        let mut digests = Vec::with_capacity(part.len() / 64);
                        let counts = scan_lines(part, |d| digests.push(d));
                        (digests, counts)
                    })
                })
                .collect();
            self.feed_lines(first);
            handles
                .into_iter()
                .zip(others)
                .map(|(h, part)| {
                    // A scanning thread cannot panic on input; should it anyway, its part
                    // is scanned again here rather than lost.
                    h.join().unwrap_or_else(|_| {
                        let mut digests = Vec::new();
                        let counts = scan_lines(part, |d| digests.push(d));
                        (digests, counts)
                    })
                })
                .collect()
        });
        for (digests, counts) in found {
            for d in digests {
                self.seen.insert(d);
            }
            self.add_counts(counts);
        }
    }
}

/// Reads until `buf` is full or the reader ends (true).
fn fill<R: Read>(reader: &mut R, buf: &mut [u8], filled: &mut usize) -> io::Result<bool> {
    while *filled < buf.len() {
        match reader.read(&mut buf[*filled..]) {
            Ok(0) => return Ok(true),
            Ok(n) => *filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

/// Cuts whole lines into up to `n` parts of whole lines, each ending at a newline. The
/// first part is smaller: its thread also dedups every part's hashes.
pub(super) fn split_at_lines(text: &[u8], n: usize) -> Vec<&[u8]> {
    let mut parts = Vec::with_capacity(n);
    let mut start = 0;
    for k in 1..n {
        // The first part gets about two thirds of an equal share.
        let share = text.len() / (3 * n - 1);
        let target = (2 * share + (k - 1) * 3 * share).max(start);
        if target >= text.len() {
            break;
        }
        match memchr::memchr(b'\n', &text[target..]) {
            Some(i) => {
                let cut = target + i + 1;
                parts.push(&text[start..cut]);
                start = cut;
            }
            None => break,
        }
    }
    if start < text.len() {
        parts.push(&text[start..]);
    }
    parts
}
