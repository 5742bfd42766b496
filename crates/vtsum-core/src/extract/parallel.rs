//! Reading a whole input through the extractor with fixed-size buffers, the scanning done
//! by worker threads while the calling thread reads ahead and dedups.
//!
//! The calling thread fills a buffer (1 MiB), keeps the line left open at its end for the
//! next buffer and hands the whole lines to a worker (round robin, `std::thread::scope`,
//! channels from `std::sync::mpsc`). Workers run the block scanner of [`super::lines`] and
//! send back the buffer with the digests and alternates it held (labelled groups never
//! cross a line, so never a job's edge). The calling thread takes the results back
//! strictly in input order and inserts the digests into the one set, so first-seen order and
//! duplicate counts are exactly those of a single pass. Partial lines (a line longer than
//! half a buffer, the last line of an input without a newline) go through the state machine
//! on the calling thread, in the same order. Memory stays bounded: at most two buffers a
//! worker are in flight.

use std::hash::BuildHasher;
use std::io::{self, Read};
use std::sync::mpsc;

use hashbrown::HashTable;

use super::group::Sink;
use super::lines::{scan_lines, LineCounts};
use super::seen::Digest;
use super::Extractor;

/// Bytes read per buffer.
const PART: usize = 1 << 20;

/// Work for a worker: a buffer, the range of whole lines in it, and a vector to reuse.
struct Job {
    buf: Vec<u8>,
    lines: std::ops::Range<usize>,
    digests: Vec<(Digest, u64)>,
    alternates: Vec<(Digest, Digest)>,
}

/// A worker's answer: the job's buffers back, and what the lines held.
struct Done {
    job: Job,
    counts: LineCounts,
    /// Hashes dropped as repeats of one earlier in the same job.
    repeats: u64,
}

/// What comes next in input order.
enum Pending {
    /// The next answer of this worker.
    Worker(usize),
    /// Bytes for the state machine.
    Bytes(Vec<u8>),
}

type Spare = (Vec<u8>, Vec<(Digest, u64)>, Vec<(Digest, Digest)>);

/// A worker's findings: repeats within its job are dropped here, off the consumer's
/// thread; alternates are deduplicated by the consumer.
struct Local<'a> {
    hasher: foldhash::fast::RandomState,
    local: &'a mut HashTable<u32>,
    digests: &'a mut Vec<(Digest, u64)>,
    alternates: &'a mut Vec<(Digest, Digest)>,
    repeats: u64,
}

impl Sink for Local<'_> {
    #[inline]
    fn lookup(&mut self, d: Digest) {
        let hash = self.hasher.hash_one(d.bytes());
        let seen = &*self.digests;
        if self
            .local
            .find(hash, |&i| seen[i as usize].0 == d)
            .is_some()
        {
            self.repeats += 1;
        } else {
            self.local
                .insert_unique(hash, seen.len() as u32, |&i| seen[i as usize].1);
            self.digests.push((d, hash));
        }
    }

    fn alternate(&mut self, strong: Digest, weak: Digest) {
        self.alternates.push((strong, weak));
    }
}

impl Extractor {
    /// Reads `reader` to its end through the extractor, scanning on up to `threads`
    /// worker threads (1: everything on the calling thread). Interrupted reads are retried.
    pub fn read_all<R: Read>(&mut self, reader: R, threads: usize) -> io::Result<()> {
        self.read_all_in(reader, threads, PART)
    }

    /// [`Extractor::read_all`] with `part`-byte buffers instead of 1 MiB: tests use tiny
    /// ones to put buffer and thread boundaries everywhere.
    #[doc(hidden)]
    pub fn read_all_in<R: Read>(
        &mut self,
        mut reader: R,
        threads: usize,
        part: usize,
    ) -> io::Result<()> {
        let part = part.max(2);
        if threads <= 1 {
            let mut buf = vec![0u8; part];
            loop {
                let mut filled = 0;
                let eof = fill(&mut reader, &mut buf, &mut filled)?;
                self.feed(&buf[..filled]);
                if eof {
                    return Ok(());
                }
            }
        }
        let workers = threads.min(64);
        let hasher = self.seen.hasher();
        let mid_line = self.line_started;
        std::thread::scope(|s| {
            let mut jobs = Vec::with_capacity(workers);
            let mut answers = Vec::with_capacity(workers);
            for _ in 0..workers {
                let (job_tx, job_rx) = mpsc::channel::<Job>();
                let (done_tx, done_rx) = mpsc::channel::<Done>();
                s.spawn(move || {
                    let mut local = HashTable::<u32>::new();
                    for mut job in job_rx {
                        job.digests.clear();
                        job.alternates.clear();
                        local.clear();
                        let mut out = Local {
                            hasher,
                            local: &mut local,
                            digests: &mut job.digests,
                            alternates: &mut job.alternates,
                            repeats: 0,
                        };
                        let counts = scan_lines(&job.buf[job.lines.clone()], &mut out);
                        let repeats = out.repeats;
                        let done = Done {
                            job,
                            counts,
                            repeats,
                        };
                        if done_tx.send(done).is_err() {
                            return;
                        }
                    }
                });
                jobs.push(job_tx);
                answers.push(done_rx);
            }
            let in_flight = 2 * workers + 2;
            let (order_tx, order_rx) = mpsc::sync_channel::<Pending>(in_flight);
            let (spare_tx, spare_rx) = mpsc::channel::<Spare>();
            let consumer = s.spawn(move || self.consume(order_rx, &answers, spare_tx));
            let read = dispatch(
                &mut reader,
                part,
                mid_line,
                &jobs,
                &order_tx,
                &spare_rx,
                in_flight,
            );
            // Closing the channels ends the workers and the consumer.
            drop((jobs, order_tx));
            let consumed = consumer.join().unwrap_or_else(|_| Err(worker_gone()));
            read.and(consumed)
        })
    }

    /// Takes the scanned parts in input order: the one place the set of hashes grows.
    fn consume(
        &mut self,
        order: mpsc::Receiver<Pending>,
        answers: &[mpsc::Receiver<Done>],
        spare: mpsc::Sender<Spare>,
    ) -> io::Result<()> {
        for next in order {
            match next {
                Pending::Bytes(b) => self.feed_bytes(&b),
                Pending::Worker(w) => {
                    let done = answers[w].recv().map_err(|_| worker_gone())?;
                    for &(d, hash) in &done.job.digests {
                        self.seen.insert_hashed(d, hash);
                    }
                    for &(strong, weak) in &done.job.alternates {
                        self.pairs.insert(strong, weak);
                    }
                    self.add_counts(done.counts);
                    self.seen.add_duplicates(done.repeats);
                    // The reader may have stopped on an error: then nobody needs it back.
                    let _ = spare.send((done.job.buf, done.job.digests, done.job.alternates));
                }
            }
        }
        Ok(())
    }
}

/// The calling thread's share: reads buffers, keeps each buffer's open line for the next,
/// and hands whole lines to the workers and the rest to the state machine, announcing
/// every piece to the consumer in input order.
fn dispatch<R: Read>(
    reader: &mut R,
    part: usize,
    mut mid_line: bool,
    jobs: &[mpsc::Sender<Job>],
    order: &mpsc::SyncSender<Pending>,
    spare: &mpsc::Receiver<Spare>,
    in_flight: usize,
) -> io::Result<()> {
    let mut made = 0;
    let mut carry: Vec<u8> = Vec::new();
    let mut next = 0;
    let send = |p: Pending| order.send(p).map_err(|_| worker_gone());
    loop {
        let (mut buf, digests, alternates) = match spare.try_recv() {
            Ok(s) => s,
            Err(_) if made < in_flight + 1 => {
                made += 1;
                (vec![0u8; part], Vec::with_capacity(part / 64), Vec::new())
            }
            Err(_) => spare.recv().map_err(|_| worker_gone())?,
        };
        buf[..carry.len()].copy_from_slice(&carry);
        let mut filled = carry.len();
        carry.clear();
        let eof = fill(reader, &mut buf, &mut filled)?;
        let data = &buf[..filled];
        let mut start = 0;
        if mid_line {
            start = memchr::memchr(b'\n', data).map_or(filled, |i| i + 1);
            send(Pending::Bytes(data[..start].to_vec()))?;
            mid_line = start == filled && data.last() != Some(&b'\n');
        }
        let end = memchr::memrchr(b'\n', &data[start..]).map_or(start, |j| start + j + 1);
        let tail = &data[end..];
        // The open line waits for the next buffer, unless it is long or the input is over:
        // then the state machine takes it, so each buffer frees at least half.
        let tail_now = (eof || tail.len() > part / 2) && !tail.is_empty();
        let tail_bytes = if tail_now {
            mid_line = true;
            Some(tail.to_vec())
        } else {
            carry.extend_from_slice(tail);
            None
        };
        if end > start {
            let lines = start..end;
            jobs[next]
                .send(Job {
                    buf,
                    lines,
                    digests,
                    alternates,
                })
                .map_err(|_| worker_gone())?;
            send(Pending::Worker(next))?;
            next = (next + 1) % jobs.len();
        } else {
            // Not lost: allocated again above when needed.
            made -= 1;
        }
        if let Some(t) = tail_bytes {
            send(Pending::Bytes(t))?;
        }
        if eof {
            return Ok(());
        }
    }
}

fn worker_gone() -> io::Error {
    io::Error::other("an extraction thread stopped")
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
