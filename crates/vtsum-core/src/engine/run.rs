//! The scheduler loop of one job: answer from the cache what it can, then keep every key
//! busy at exactly its quota until each hash has a result.
//!
//! Work waits in a queue; a batch (one hash in v3, up to four in v2) leaves the queue only
//! with a [`Lease`] from the key pool, so the pool alone decides the pace. A refused key
//! (429) puts its hashes back at the front for another key; transient failures come back
//! after an exponential backoff with jitter, a bounded number of times; then the hash gets
//! an `error` row. No hash is dropped and none is sent while its answer is being awaited.
//!
//! Here: the run's state and the loop. Taking work (cache, claims, store outages) is in
//! `take`, sending and landing requests in `flight`, saving results in `record`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::io::Io;
use super::lane::Lane;
use super::{now_unix, Cancel, Engine, Event, Progress, RunOptions, RunOutcome};
use crate::error::{Error, Result};
use crate::hash::Hash;
use crate::quota::Lease;
use crate::report::ItemResult;
use crate::store::{self, JobId, JobInfo, JobState};
use crate::target::Target;
use crate::vt::FetchError;

/// How soon a hash another process is asking for is looked for in the cache again.
pub(super) const CLAIM_POLL: Duration = Duration::from_millis(200);
/// How soon an unreachable store is first tried again; each failure doubles it, to 4 s.
pub(super) const STORE_RETRY: Duration = Duration::from_millis(250);

pub(super) struct Work {
    pub index: u64,
    pub target: Target,
    pub attempts: u32,
    pub not_before: Option<Instant>,
}

impl Work {
    fn new(index: u64, target: Target) -> Work {
        Work {
            index,
            target,
            attempts: 0,
            not_before: None,
        }
    }
}

pub(super) struct Flight {
    pub lease: Lease,
    pub items: Vec<Work>,
}

/// A request's answers by target (a v2 batch answers several files), or why it failed.
pub(super) type Answered = std::result::Result<Vec<(Target, crate::report::Lookup)>, FetchError>;

pub(super) type Landed = (Flight, Answered, Instant);

/// A result waiting to be saved.
pub(super) struct Unsaved {
    pub work: Work,
    pub result: ItemResult,
    /// Whether the result is a fresh lookup that also goes into the cache.
    pub cache: bool,
}

/// The state of one run of one job (or of one part of it).
pub(super) struct Run<'a> {
    pub engine: &'a Engine,
    pub job: JobInfo,
    pub progress: Progress,
    pub sink: &'a (dyn Fn(&Event) + Send + Sync),
    pub rng: u64,
    /// The run's store round trips (cache, rows, claims), each on a blocking thread.
    pub io: Io,
    /// Results that wait for the store to come back.
    pub unsaved: Vec<Unsaved>,
    /// Failed tries since the store became unreachable (the outage is logged once).
    pub away: u32,
    /// The run's lane (`RunOptions::lane`).
    pub lane: Lane,
    /// While an interactive run waits for a key: batch runs hold back.
    pub lane_waiting: Option<super::lane::Waiting<'a>>,
    /// Weak hashes of a group waiting for their strong one's answer (`group.rs`).
    pub held: Held,
}

/// Weak hashes waiting for their strong one's answer in a run (`group.rs` moves them).
#[derive(Default)]
pub(super) struct Held {
    pub by_strong: std::collections::HashMap<Hash, Vec<Work>>,
    pub released: Vec<Work>,
}

/// Pending items of a whole job read at once at the start of a run, each window's cache
/// pass done before the next is read.
const PENDING_WINDOW: u64 = 65_536;

/// Items answered from the cache per blocking call at the start of a run
/// ([`Store::job_answer_from_cache`](crate::store::Store::job_answer_from_cache)): few
/// hops for a list the cache answers, and progress and rows that move while it goes.
const CACHE_CHUNK: usize = 2048;

impl Engine {
    /// Runs a job until every hash has a result, the daily quotas run out (unless
    /// `opts.wait_for_quota`), or `cancel` fires. Events go to `sink` as they happen.
    pub async fn run_job(
        &self,
        id: &JobId,
        opts: RunOptions,
        sink: &(dyn Fn(&Event) + Send + Sync),
        cancel: &Cancel,
    ) -> Result<RunOutcome> {
        self.run_range(id, None, opts, sink, cancel).await
    }

    /// Runs the hashes at input positions `from..to` of a job: one part from the work
    /// queue. The job becomes `done` when its last hash gets a result, whichever worker's
    /// part that is; a cancelled part leaves the job's state to the other parts.
    pub async fn run_part(
        &self,
        id: &JobId,
        (from, to): (u64, u64),
        opts: RunOptions,
        sink: &(dyn Fn(&Event) + Send + Sync),
        cancel: &Cancel,
    ) -> Result<RunOutcome> {
        self.run_range(id, Some((from, to)), opts, sink, cancel)
            .await
    }

    async fn run_range(
        &self,
        id: &JobId,
        part: Option<(u64, u64)>,
        opts: RunOptions,
        sink: &(dyn Fn(&Event) + Send + Sync),
        cancel: &Cancel,
    ) -> Result<RunOutcome> {
        let (job, pending) = {
            let id = id.clone();
            store::blocking(&self.store, move |s| {
                let job = s
                    .job_get(&id)?
                    .ok_or_else(|| Error::NoSuchJob(id.0.clone()))?;
                let pending = match part {
                    None => s.job_pending_in(&id, 0, PENDING_WINDOW)?,
                    Some((from, to)) => s.job_pending_in(&id, from, to)?,
                };
                Ok((job, pending))
            })
            .await?
        };
        let io = Io {
            store: self.store.clone(),
            job: id.clone(),
            // `--refresh` wants answers fetched by this job, which also makes a resumed
            // refresh keep what it already fetched.
            fresh: self.freshness(job.spec.refresh.then_some(job.created_at)),
            shared: self.store.shares_quota(),
            // Starts with the process id: a store on one machine frees a dead one's claims.
            token: format!("{}-{}", std::process::id(), JobId::random().0),
            claim_ttl: self.cfg.client.timeout + Duration::from_secs(10),
        };
        if part.is_none() || !pending.is_empty() {
            io.set_state(JobState::Running, None, None).await?;
        }
        let mut run = Run {
            engine: self,
            progress: Progress {
                total: job.total,
                done: job.done,
                cache_hits: job.cache_hits,
                errors: job.errors,
                eta_secs: None,
            },
            job,
            sink,
            rng: seed(),
            io: io.clone(),
            unsaved: Vec::new(),
            away: 0,
            lane: opts.lane,
            lane_waiting: None,
            held: Default::default(),
        };
        let mut queue = run.answer_pending_from_cache(pending).await?;
        // A whole job's pending items are read a window at a time: a million-hash job
        // never holds all its items, only the cache's misses.
        let mut from = PENDING_WINDOW;
        while part.is_none() && from < run.job.total {
            let to = from.saturating_add(PENDING_WINDOW);
            let id = id.clone();
            let pending =
                store::blocking(&self.store, move |s| s.job_pending_in(&id, from, to)).await?;
            queue.extend(run.answer_pending_from_cache(pending).await?);
            from = to;
        }
        let queue = run.hold_weak(queue);
        if !queue.is_empty() {
            // Before the first request: a key VirusTotal says is spent is not tried.
            if let Err(e) = self.read_figures().await {
                tracing::warn!("cannot apply VirusTotal's quota figures: {e}");
            }
        }
        run.emit_progress(queue.len());
        // Re-checks hold back while this job has work (`lane.rs`).
        let _running = (opts.lane == Lane::Job && !queue.is_empty()).then(|| self.job_running());
        let result = run.schedule(queue, opts, cancel).await;
        match &result {
            Ok(RunOutcome::Done) => {
                if part.is_none() {
                    self.forget_groups(id);
                }
                if part.is_none() || self.job_complete(id).await? {
                    io.set_state(JobState::Done, None, None).await?
                }
            }
            Ok(RunOutcome::Cancelled) if part.is_some() => {}
            Ok(RunOutcome::Cancelled) => io.set_state(JobState::Queued, None, None).await?,
            Ok(RunOutcome::WaitingQuota { resumes_at }) => {
                io.set_state(JobState::WaitingQuota, Some(*resumes_at), None)
                    .await?
            }
            // Not the job's fault: the part is tried again when the store is back.
            Err(e) if e.is_unavailable() => {}
            Err(e) => {
                io.set_state(JobState::Failed, None, Some(e.to_string()))
                    .await?
            }
        }
        result
    }

    /// Whether every hash of a job has a result (a deleted job counts as complete).
    async fn job_complete(&self, id: &JobId) -> Result<bool> {
        let id = id.clone();
        let job = store::blocking(&self.store, move |s| s.job_get(&id)).await?;
        Ok(job.is_none_or(|j| j.done >= j.total))
    }
}

impl Run<'_> {
    /// Answers at once what the cache holds, a chunk at a time, each chunk inside the
    /// store ([`Io::answer_from_cache`]); returns the rest as the run's queue (`take_ready`
    /// looks at those again before sending). A chunk the store failed on is all misses
    /// (nothing of it was recorded); an unreachable store leaves the rest for later, as
    /// misses.
    async fn answer_pending_from_cache(
        &mut self,
        pending: Vec<crate::store::JobItem>,
    ) -> Result<VecDeque<Work>> {
        let mut queue = VecDeque::new();
        // Files go through the store's batched pass; URLs, domains and IP addresses (few)
        // are looked for one by one when taken (`take_ready`), like any queued item.
        let (files, objects): (Vec<_>, Vec<_>) = pending
            .into_iter()
            .partition(|item| item.target.hash().is_some());
        let mut items = files.into_iter().filter_map(|item| match item.target {
            Target::File(hash) => Some((item.index, hash)),
            Target::Object { .. } => None,
        });
        let next = |items: &mut dyn Iterator<Item = (u64, Hash)>| {
            let chunk: Vec<(u64, Hash)> = items.take(CACHE_CHUNK).collect();
            (!chunk.is_empty()).then_some(chunk)
        };
        let io = self.io.clone();
        let read = |chunk| tokio::spawn(io.clone().answer_from_cache(chunk));
        let mut ahead = next(&mut items).map(read);
        while let Some(reading) = ahead.take() {
            let (chunk, answered) = reading.await.map_err(|source| Error::Task {
                what: "the cache pass",
                source,
            })?;
            let (answered, error) = match answered {
                Ok(answered) => (answered, None),
                Err(e) => (Vec::new(), Some(e)),
            };
            // The next chunk goes to the store while this one's rows go to the watchers.
            if !error.as_ref().is_some_and(Error::is_unavailable) {
                ahead = next(&mut items).map(read);
            }
            // Both in input order: a chunk's item is a hit when it leads `answered`.
            let mut answered = answered.into_iter().peekable();
            for (index, hash) in chunk {
                let hit = answered.next_if(|(i, _)| *i == index);
                self.count_look(hit.is_some(), true);
                let target = Target::File(hash);
                match hit {
                    Some((_, result)) => self.recorded(index, &target, result),
                    None => queue.push_back(Work::new(index, target)),
                }
            }
            match error {
                None => {}
                Some(e) if e.is_unavailable() => self.store_away(&e),
                Some(e) => return Err(e),
            }
        }
        queue.extend(items.map(|(index, hash)| Work::new(index, Target::File(hash))));
        queue.extend(objects.into_iter().map(|i| Work::new(i.index, i.target)));
        Ok(queue)
    }
}

impl Run<'_> {
    async fn schedule(
        &mut self,
        mut queue: VecDeque<Work>,
        opts: RunOptions,
        cancel: &Cancel,
    ) -> Result<RunOutcome> {
        let engine = self.engine;
        let mut flights: JoinSet<Landed> = JoinSet::new();
        let mut reads = JoinSet::new();
        loop {
            self.flush_unsaved().await?;
            let idle = flights.is_empty() && queue.is_empty() && self.unsaved.is_empty();
            self.requeue_weak(&mut queue, idle);
            engine.start_figures(&mut reads);
            let cancelled = cancel.is_cancelled();
            let mut wake: Option<Instant> = None;
            if !self.unsaved.is_empty() {
                wake = Some(Instant::now() + self.store_retry());
            }
            let exhausted = if self.unsaved.is_empty() && !cancelled {
                self.send_ready(&mut queue, &mut flights, &mut wake).await?
            } else {
                None
            };
            if flights.is_empty() {
                if queue.is_empty() && self.unsaved.is_empty() {
                    return Ok(RunOutcome::Done);
                }
                if cancelled {
                    if !self.unsaved.is_empty() {
                        tracing::warn!(
                            "stopping with {} answer(s) not saved: the store is unreachable",
                            self.unsaved.len()
                        );
                    }
                    return Ok(RunOutcome::Cancelled);
                }
                if let Some(resumes_at) = exhausted {
                    (self.sink)(&Event::Waiting { resumes_at });
                    if !opts.wait_for_quota {
                        return Ok(RunOutcome::WaitingQuota { resumes_at });
                    }
                    self.note_state(JobState::WaitingQuota, Some(resumes_at))
                        .await;
                    let secs = (resumes_at - now_unix()).max(0) as u64;
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(secs)) => {}
                        _ = cancel.cancelled() => {}
                    }
                    self.note_state(JobState::Running, None).await;
                    continue;
                }
                // Nothing in flight and nothing granted: something must wake us.
                wake.get_or_insert_with(|| Instant::now() + Duration::from_millis(50));
            }
            let sleep_to = wake.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                Some(landed) = flights.join_next(), if !flights.is_empty() => {
                    match landed {
                        Ok(landed) => self.land(landed, &mut queue).await?,
                        Err(source) => return Err(Error::Task { what: "a VirusTotal request", source }),
                    }
                }
                Some(read) = reads.join_next(), if !reads.is_empty() => {
                    if let Ok(read) = read {
                        if let Err(e) = engine.apply_figures(read).await {
                            tracing::warn!("cannot apply VirusTotal's quota figures: {e}");
                        }
                    }
                }
                _ = tokio::time::sleep_until(sleep_to.into()) => {}
                _ = cancel.cancelled(), if !cancelled => {}
            }
        }
    }

    pub(super) fn emit_progress(&mut self, network_left: usize) {
        let per_second = self.engine.pool().per_second();
        self.progress.eta_secs = (per_second > 0.0 && per_second.is_finite())
            .then(|| (network_left as f64 / per_second).ceil() as u64);
        (self.sink)(&Event::Progress(self.progress.clone()));
    }

    /// A uniform number in [0, 1) from a xorshift generator: jitter needs no more.
    pub(super) fn next_unit(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x9E37_79B9_7F4A_7C15);
    nanos | 1
}
