//! A CSV scan run as one job of every hash (`scan_job`: `--refresh`, `--store none`, an
//! older scan's job) writes its rows while the scan runs: the engine's results come in input
//! order when the cache answers them (its cache pass goes in input order), and are handed
//! to the writer on a thread of its own instead of being read back from the store
//! afterwards. Rows that arrive ahead of an earlier one wait in a small window; when the
//! window or the writer's backlog is full (a hash that needs VirusTotal holds up the
//! ones after it), the hand-over stops and the writer reads the rest from the store,
//! from the first row it has not written, a page at a time as before. So the memory held
//! stays bounded, and the report is the same rows in the same order either way.
//!
//! JSON Lines rows are written by the scan's events themselves; [`Written`] counts them
//! there, so their summary needs no walk of the store either.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard};

use vtsum_core::render::source::writing;
use vtsum_core::render::{RowSource, Visit};
use vtsum_core::report::{ItemResult, Row, RowOptions, Summary};
use vtsum_core::store::{JobId, Store};
use vtsum_core::Target;

/// Rows waiting, ahead of a missing one or for the writer, before the hand-over stops.
const WINDOW: usize = 4096;
/// Items asked of the store at once for the rows not handed over.
const PAGE: u64 = 1000;

#[derive(Default)]
struct State {
    /// The next row, by input index, to hand over.
    next: u64,
    /// Rows that came ahead of `next`.
    ahead: BTreeMap<u64, Row>,
    /// Rows handed over, for the writer to take, in order.
    ready: VecDeque<Row>,
    /// Set once nothing more is handed over: the writer reads from this index on.
    end: Option<u64>,
    /// The run is over: every result is in the store, so the writer may read the rest.
    over: bool,
}

/// Between the scan's events and the writer.
#[derive(Default)]
pub struct Handover {
    state: Mutex<State>,
    changed: Condvar,
}

impl Handover {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A result the store now holds.
    pub fn item(&self, index: u64, hash: &Target, result: &ItemResult, options: RowOptions) {
        let mut s = self.lock();
        if s.end.is_some() || index < s.next {
            return;
        }
        if index > s.next {
            if s.ahead.len() + s.ready.len() >= WINDOW {
                return self.stop(s);
            }
            s.ahead
                .insert(index, Row::from_result(hash, result, options));
            return;
        }
        let row = Row::from_result(hash, result, options);
        s.ready.push_back(row);
        s.next += 1;
        while let Some(row) = {
            let next = s.next;
            s.ahead.remove(&next)
        } {
            s.ready.push_back(row);
            s.next += 1;
        }
        if s.ready.len() >= WINDOW {
            return self.stop(s);
        }
        self.changed.notify_one();
    }

    /// The run is over (however it ended): the writer reads what was not handed over
    /// from the store.
    pub fn finish(&self) {
        let mut s = self.lock();
        s.over = true;
        if s.end.is_none() {
            return self.stop(s);
        }
        self.changed.notify_all();
    }

    fn stop(&self, mut s: MutexGuard<'_, State>) {
        s.end = Some(s.next);
        s.ahead.clear();
        self.changed.notify_all();
    }
}

/// The rows of a scan for a writer: those handed over, then the rest from the store.
/// Walked once (CSV needs one walk).
pub struct Streamed<'a> {
    pub handover: &'a Handover,
    pub store: &'a dyn Store,
    pub job: &'a JobId,
    pub options: RowOptions,
}

impl RowSource for Streamed<'_> {
    fn each(&self, visit: &mut Visit<'_>) -> vtsum_core::Result<()> {
        let from = loop {
            let mut s = self.handover.lock();
            while s.ready.is_empty() && !s.over {
                s = self
                    .handover
                    .changed
                    .wait(s)
                    .unwrap_or_else(|e| e.into_inner());
            }
            if s.ready.is_empty() {
                break s.end.unwrap_or(0);
            }
            let rows: Vec<Row> = s.ready.drain(..).collect();
            drop(s);
            for row in &rows {
                visit(row).map_err(writing)?;
            }
        };
        let mut offset = from;
        loop {
            let items = self.store.job_items(self.job, offset, PAGE)?;
            for item in &items {
                if let Some(result) = &item.result {
                    visit(&Row::from_result(&item.target, result, self.options))
                        .map_err(writing)?;
                }
            }
            if (items.len() as u64) < PAGE {
                return Ok(());
            }
            offset += items.len() as u64;
        }
    }
}

/// The JSON Lines rows written, counted as a report's summary counts them.
#[derive(Debug, Clone, Default)]
pub struct Written {
    counts: Summary,
    rows: usize,
}

impl Written {
    pub fn count(&mut self, row: &Row) {
        self.counts.count_rows(std::slice::from_ref(row));
        self.rows += 1;
    }

    /// Completes `summary` (its `total` the job's) as a walk of the written rows would:
    /// verdicts, cache hits, and what the rows leave of the total as `pending`.
    pub fn complete(self, summary: &mut Summary) {
        summary.verdicts = self.counts.verdicts;
        summary.cache_hits = self.counts.cache_hits;
        summary.pending = summary.total.saturating_sub(self.rows);
        summary.total = self.rows + summary.pending;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vtsum_core::report::Lookup;
    use vtsum_core::store::JobSpec;
    use vtsum_store::memory::MemoryStore;

    fn hash(i: u64) -> Target {
        Target::File(vtsum_core::Hash::parse(&format!("{i:064x}")).unwrap())
    }

    fn result(i: u64) -> ItemResult {
        ItemResult::Lookup {
            lookup: Lookup::Unknown,
            from_cache: i.is_multiple_of(2),
            fetched_at: i as i64,
        }
    }

    /// Hands `n` results over in `order` (every one also in the store, as the engine
    /// records before it reports), and returns the inputs the writer wrote, in order.
    fn written(n: u64, order: &[u64]) -> Vec<String> {
        let store = MemoryStore::new();
        let job = JobId("a".repeat(32));
        let hashes: Vec<Target> = (0..n).map(hash).collect();
        store
            .job_create(&job, &JobSpec::default(), &hashes, 0)
            .unwrap();
        let handover = Handover::default();
        let options = RowOptions::default();
        let mut out = Vec::new();
        std::thread::scope(|scope| {
            let writer = scope.spawn(|| {
                let rows = Streamed {
                    handover: &handover,
                    store: &store,
                    job: &job,
                    options,
                };
                let mut seen = Vec::new();
                rows.each(&mut |row| {
                    seen.push(row.input.clone());
                    Ok(())
                })
                .unwrap();
                seen
            });
            for &i in order {
                store.job_record(&job, i, &result(i), 0).unwrap();
                handover.item(i, &hash(i), &result(i), options);
            }
            handover.finish();
            out = writer.join().unwrap();
        });
        out
    }

    fn in_input_order(n: u64) -> Vec<String> {
        (0..n).map(|i| hash(i).to_string()).collect()
    }

    #[test]
    fn rows_that_come_out_of_order_are_written_in_input_order() {
        // Each pair swapped, and every tenth row held back until the end (a miss that
        // waits for VirusTotal while the cache answers the rows after it).
        let n = 300;
        let mut order: Vec<u64> = (0..n).filter(|i| i % 10 != 3).collect();
        for pair in order.chunks_mut(2) {
            pair.reverse();
        }
        order.extend((0..n).filter(|i| i % 10 == 3));
        assert_eq!(written(n, &order), in_input_order(n));
    }

    #[test]
    fn past_the_window_the_rest_comes_from_the_store_in_order() {
        // Row 0 last: everything else is ahead of it, more than the window holds.
        let n = WINDOW as u64 * 2 + 10;
        let mut order: Vec<u64> = (1..n).collect();
        order.push(0);
        assert_eq!(written(n, &order), in_input_order(n));
        // In order from the start, but more than the window: handed over whole.
        let order: Vec<u64> = (0..n).collect();
        assert_eq!(written(n, &order), in_input_order(n));
    }
}
