//! A CLI scan answered from the cache first: the rows of a `vtsum scan` in input order,
//! each from the cache or from the job of what the cache lacked.
//!
//! The cache is itself durable, so a scan keeps as its job only the items it must ask
//! VirusTotal about ([`JobSpec::answered_from_cache`] counts the others). Copying a
//! million cached answers into a job was most of a cached scan's time (about 600 bytes a
//! row written twice, through the WAL and back), and the copy bought nothing the cache
//! did not already hold: the report reads them from the cache again.
//!
//! [`ScanRows`] is the report's [`RowSource`]. Its first walk reads the cache a window at
//! a time ([`Engine::scan_hits`]: the next windows read on two threads of their own while
//! this one is written) and hands over each fresh answer as a row until the first item
//! the cache cannot answer.
//! From there it only notes the misses; when the walk is over it gives them to its
//! caller, which runs them as a job and returns that job once the run has ended, and the
//! walk goes on from the first miss, each item from the job or the cache. Later walks (the
//! formats that walk twice, or a resumed job) merge from the start. The job's items are
//! the misses in input order, a subsequence of the input, so one cursor over the job's
//! items matches them. An answer the cache has dropped since the first walk (a `cache
//! clear` during the scan) becomes an error row saying so; its age is not checked again,
//! as it was fresh when the scan began.
//!
//! [`JobSpec::answered_from_cache`]: crate::job::JobSpec::answered_from_cache

use std::cell::RefCell;
use std::collections::VecDeque;

use super::{now_unix, report_row, Engine};
use crate::error::Result;
use crate::job::{JobInfo, JobSpec};
use crate::render::source::writing;
use crate::render::{RowSource, Visit};
use crate::report::{CacheEntry, ItemResult, Row, RowOptions};
use crate::store::{JobId, JobItem, Store};
use crate::target::Target;

/// Items read from the cache at once: one query of SQLite's batched read (whose rows it
/// reads in table order, so the larger the batch the fewer times a page is read: 2,048
/// took 6.4 s for a million, 16,384 took 5.0 s), one pipeline of Redis's.
const WINDOW: usize = 16_384;
/// Threads reading the cache in a scan's first walk. The reads are most of the work:
/// with one, a million cached hashes took 4.6–5.2 s to CSV; with two, 4.3–4.7 s (at
/// some 50 MB more, two windows' answers).
const READERS: usize = 2;
/// The job's items read at once while merging.
const JOB_PAGE: u64 = 1000;

/// What the caller of the first walk does with the misses (input indexes, in order): runs
/// them, and returns the job that holds their results once the run is over.
pub type RunMisses<'a> = dyn FnMut(Vec<u64>) -> Result<Option<JobId>> + Send + 'a;

/// A scan's report rows, from the cache and the job of its misses; see the module doc.
pub struct ScanRows<'a> {
    engine: &'a Engine,
    items: &'a [Target],
    options: RowOptions,
    state: RefCell<State<'a>>,
}

enum State<'a> {
    /// Nothing walked yet: the first walk finds the misses and hands them to this.
    Fresh(Box<RunMisses<'a>>),
    /// The misses' job (none when the cache answered everything).
    Merged(Option<JobId>),
}

impl<'a> ScanRows<'a> {
    /// The rows of a new scan of `items`, whose misses `run` runs.
    pub fn new(
        engine: &'a Engine,
        items: &'a [Target],
        options: RowOptions,
        run: Box<RunMisses<'a>>,
    ) -> ScanRows<'a> {
        ScanRows {
            engine,
            items,
            options,
            state: RefCell::new(State::Fresh(run)),
        }
    }

    /// The rows of a scan of `items` whose misses are the job `job` (run by now), or
    /// that the cache answered whole (`None`).
    pub fn merged(
        engine: &'a Engine,
        items: &'a [Target],
        options: RowOptions,
        job: Option<JobId>,
    ) -> ScanRows<'a> {
        ScanRows {
            engine,
            items,
            options,
            state: RefCell::new(State::Merged(job)),
        }
    }

    fn row(&self, target: &Target, result: &ItemResult) -> Result<Row> {
        report_row(self.engine.store().as_ref(), target, result, self.options)
    }

    /// Rows from `from` on, each from the job (`job`'s items, in input order) or the cache.
    fn merge(&self, from: usize, job: Option<&JobId>, visit: &mut Visit<'_>) -> Result<()> {
        let store = self.engine.store().as_ref();
        let mut cursor = Cursor {
            store,
            job,
            offset: 0,
            page: VecDeque::new(),
        };
        for window in self.items[from..].chunks(WINDOW) {
            let mut in_job = Vec::with_capacity(window.len());
            for target in window {
                in_job.push(cursor.take_if(target)?);
            }
            let hashes: Vec<_> = window
                .iter()
                .zip(&in_job)
                .filter(|(_, j)| j.is_none())
                .filter_map(|(t, _)| t.hash().cloned())
                .collect();
            let mut cached = store.cache_get_many(&hashes)?.into_iter();
            for (target, item) in window.iter().zip(in_job) {
                let row = match item {
                    // Still pending (an interrupted run): no row, counted as pending.
                    Some(JobItem { result: None, .. }) => continue,
                    Some(JobItem {
                        result: Some(result),
                        ..
                    }) => self.row(target, &result)?,
                    None => match target.hash().and_then(|_| cached.next().flatten()) {
                        Some(entry) => self.row(target, &entry.into_result())?,
                        None => Row::error(
                            target,
                            "the cache no longer holds this answer (it was cleared during \
                             the scan); run the scan again to look it up",
                        ),
                    },
                };
                visit(&row).map_err(writing)?;
            }
        }
        Ok(())
    }
}

impl RowSource for ScanRows<'_> {
    fn each(&self, visit: &mut Visit<'_>) -> Result<()> {
        if let State::Merged(job) = &*self.state.borrow() {
            return self.merge(0, job.as_ref(), visit);
        }
        let walked = self
            .engine
            .scan_hits(self.items, self.options, false, visit)?;
        let (from, job) = match walked.first() {
            None => (self.items.len(), None),
            Some(&first) => match &mut *self.state.borrow_mut() {
                State::Fresh(run) => (first as usize, run(walked)?),
                State::Merged(job) => (first as usize, job.clone()),
            },
        };
        *self.state.borrow_mut() = State::Merged(job.clone());
        self.merge(from, job.as_ref(), visit)
    }
}

/// How a CLI scan starts ([`Engine::scan_start`]).
pub enum ScanStart {
    /// An interrupted scan of the same input and options: its job, to resume.
    Resume(JobInfo),
    /// A new scan, with the id its job gets (a finished scan of the same input was
    /// removed, so the new one starts afresh).
    New(JobId),
}

impl Engine {
    /// Finds the job of an interrupted scan of `items` with `spec`'s options, or removes
    /// a finished one.
    pub fn scan_start(&self, items: &[Target], spec: &JobSpec) -> Result<ScanStart> {
        let id = JobId::for_input(items, spec);
        if let Some(job) = self.store.job_get(&id)? {
            if !job.state.is_final() {
                return Ok(ScanStart::Resume(job));
            }
            self.store.job_delete(&id)?;
        }
        Ok(ScanStart::New(id))
    }

    /// Creates a scan's job of `items` (all of a scan's, or its misses).
    pub fn scan_create(&self, id: &JobId, mut spec: JobSpec, items: &[Target]) -> Result<JobInfo> {
        spec.objects = super::count_objects(items);
        self.store.job_create(id, &spec, items, now_unix())?;
        self.store
            .job_get(id)?
            .ok_or_else(|| crate::Error::NoSuchJob(id.0.clone()))
    }
}

/// The job's items in input order, read a page at a time.
struct Cursor<'a> {
    store: &'a dyn Store,
    job: Option<&'a JobId>,
    offset: u64,
    page: VecDeque<JobItem>,
}

impl Cursor<'_> {
    /// The job's next item if it is `target`'s.
    fn take_if(&mut self, target: &Target) -> Result<Option<JobItem>> {
        let Some(job) = self.job else {
            return Ok(None);
        };
        if self.page.is_empty() {
            let page = self.store.job_items(job, self.offset, JOB_PAGE)?;
            self.offset += page.len() as u64;
            if page.is_empty() {
                self.job = None;
                return Ok(None);
            }
            self.page.extend(page);
        }
        Ok(match self.page.front() {
            Some(item) if item.target == *target => self.page.pop_front(),
            _ => None,
        })
    }
}

impl Engine {
    /// Walks `items` through the cache a window at a time (the next window read on a
    /// thread of its own while this one is visited), in input order: each fresh answer
    /// goes to `visit` as a row, until the first miss unless `all`. Returns the misses
    /// (input indexes, in order). A `visit` that writes nothing makes it the list of
    /// misses alone.
    pub fn scan_hits(
        &self,
        items: &[Target],
        options: RowOptions,
        all: bool,
        visit: &mut Visit<'_>,
    ) -> Result<Vec<u64>> {
        let mut misses = Vec::new();
        std::thread::scope(|s| {
            // Each reader takes every READERS-th window and reads the next while its last
            // one waits to be visited, and no further: a reader further ahead would only
            // hold more answers.
            let rx: Vec<_> = (0..READERS)
                .map(|k| {
                    let (tx, rx) = std::sync::mpsc::sync_channel(0);
                    s.spawn(move || {
                        for window in items.chunks(WINDOW).skip(k).step_by(READERS) {
                            if tx.send(self.cache_window(window)).is_err() {
                                return;
                            }
                        }
                    });
                    rx
                })
                .collect();
            for (n, window) in items.chunks(WINDOW).enumerate() {
                let Ok(looked) = rx[n % READERS].recv() else {
                    break;
                };
                let start = n * WINDOW;
                for (i, (target, found)) in window.iter().zip(looked?).enumerate() {
                    match found {
                        Some(result) if all || misses.is_empty() => {
                            let row = report_row(self.store.as_ref(), target, &result, options)?;
                            visit(&row).map_err(writing)?
                        }
                        Some(_) => {}
                        None => misses.push((start + i) as u64),
                    }
                }
            }
            Ok(misses)
        })
    }

    /// The cache's fresh answers for `items` (none for URLs, domains and IP addresses:
    /// their few go through the job), in order.
    fn cache_window(&self, items: &[Target]) -> Result<Vec<Option<ItemResult>>> {
        let hashes: Vec<_> = items.iter().filter_map(|t| t.hash().cloned()).collect();
        let mut found = self.store.cache_get_many(&hashes)?.into_iter();
        let (fresh, now) = (self.freshness(None), now_unix());
        Ok(items
            .iter()
            .map(|t| {
                t.hash()?;
                found
                    .next()
                    .flatten()
                    .filter(|entry| fresh.admits(entry, now))
                    .map(CacheEntry::into_result)
            })
            .collect())
    }
}
