//! The scheduler loop of one job: answer from the cache what it can, then keep every key
//! busy at exactly its quota until each hash has a result.
//!
//! Work waits in a queue; a batch (one hash in v3, up to four in v2) leaves the queue only
//! with a [`Lease`] from the key pool, so the pool alone decides the pace. A refused key
//! (429) puts its hashes back at the front for another key; transient failures come back
//! after an exponential backoff with jitter, a bounded number of times; then the hash gets
//! an `error` row. No hash is dropped and none is sent while its answer is being awaited.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::{now_unix, Cancel, Engine, Event, Progress, RunOptions, RunOutcome};
use crate::error::{Error, Result};
use crate::hash::Hash;
use crate::quota::{earliest, Acquire, Lease, Release};
use crate::report::{CacheEntry, ItemResult, Lookup};
use crate::store::{JobId, JobInfo, JobState};
use crate::vt::{FetchError, FetchResult};

struct Work {
    index: u64,
    hash: Hash,
    attempts: u32,
    not_before: Option<Instant>,
}

struct Flight {
    lease: Lease,
    items: Vec<Work>,
}

type Landed = (Flight, FetchResult, Instant);

/// The state of one run of one job.
struct Run<'a> {
    engine: &'a Engine,
    job: JobInfo,
    progress: Progress,
    sink: &'a (dyn Fn(&Event) + Send + Sync),
    rng: u64,
}

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
        let job = self
            .store
            .job_get(id)?
            .ok_or_else(|| Error::NoSuchJob(id.0.clone()))?;
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
        };
        self.store
            .job_set_state(id, JobState::Running, None, None, now_unix())?;
        let mut queue = VecDeque::new();
        for item in self.store.job_pending(id)? {
            if !run.answer_from_cache(item.index, &item.hash, true)? {
                queue.push_back(Work {
                    index: item.index,
                    hash: item.hash,
                    attempts: 0,
                    not_before: None,
                });
            }
        }
        run.emit_progress(queue.len());
        let result = run.schedule(queue, opts, cancel).await;
        match &result {
            Ok(RunOutcome::Done) => self.set_state(id, JobState::Done, None, None)?,
            Ok(RunOutcome::Cancelled) => self.set_state(id, JobState::Queued, None, None)?,
            Ok(RunOutcome::WaitingQuota { resumes_at }) => {
                self.set_state(id, JobState::WaitingQuota, Some(*resumes_at), None)?
            }
            Err(e) => self.set_state(id, JobState::Failed, None, Some(&e.to_string()))?,
        }
        result
    }

    fn set_state(
        &self,
        id: &JobId,
        state: JobState,
        resumes_at: Option<i64>,
        error: Option<&str>,
    ) -> Result<()> {
        self.store
            .job_set_state(id, state, resumes_at, error, now_unix())
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
        let batch_size = engine.cfg.client.version.batch_size();
        let concurrency = engine.cfg.concurrency.max(1);
        let mut flights: JoinSet<Landed> = JoinSet::new();
        loop {
            let cancelled = cancel.is_cancelled();
            let mut wake: Option<Instant> = None;
            let mut exhausted = None;
            while !cancelled && flights.len() < concurrency {
                let now = Instant::now();
                let batch = self.take_ready(&mut queue, batch_size, now, &mut wake)?;
                if batch.is_empty() {
                    break;
                }
                let acquired = engine.pool().acquire(batch.len() as u32, now)?;
                match acquired {
                    Acquire::Granted(lease) => {
                        let mut batch = batch;
                        let rest = batch.split_off((lease.cost as usize).min(batch.len()));
                        requeue_front(&mut queue, rest);
                        self.launch(&mut flights, lease, batch);
                    }
                    Acquire::WaitUntil(until) => {
                        requeue_front(&mut queue, batch);
                        wake = earliest(wake, until);
                        break;
                    }
                    Acquire::Exhausted { resumes_at } => {
                        requeue_front(&mut queue, batch);
                        exhausted = Some(resumes_at);
                        break;
                    }
                    Acquire::NoKeys => {
                        requeue_front(&mut queue, batch);
                        if flights.is_empty() {
                            let ids: Vec<String> =
                                engine.cfg.keys.iter().map(|k| k.id().to_string()).collect();
                            return Err(Error::AllKeysRejected {
                                ids: ids.join(", "),
                            });
                        }
                        break;
                    }
                }
            }
            if flights.is_empty() {
                if queue.is_empty() {
                    return Ok(RunOutcome::Done);
                }
                if cancelled {
                    return Ok(RunOutcome::Cancelled);
                }
                if let Some(resumes_at) = exhausted {
                    (self.sink)(&Event::Waiting { resumes_at });
                    if !opts.wait_for_quota {
                        return Ok(RunOutcome::WaitingQuota { resumes_at });
                    }
                    engine.store.job_set_state(
                        &self.job.id,
                        JobState::WaitingQuota,
                        Some(resumes_at),
                        None,
                        now_unix(),
                    )?;
                    let secs = (resumes_at - now_unix()).max(0) as u64;
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(secs)) => {}
                        _ = cancel.cancelled() => {}
                    }
                    engine.store.job_set_state(
                        &self.job.id,
                        JobState::Running,
                        None,
                        None,
                        now_unix(),
                    )?;
                    continue;
                }
                // Nothing in flight and nothing granted: something must wake us.
                wake.get_or_insert_with(|| Instant::now() + Duration::from_millis(50));
            }
            let sleep_to = wake.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                Some(landed) = flights.join_next(), if !flights.is_empty() => {
                    match landed {
                        Ok(landed) => self.land(landed, &mut queue)?,
                        Err(e) => return Err(Error::Http(format!("request task failed: {e}"))),
                    }
                }
                _ = tokio::time::sleep_until(sleep_to.into()) => {}
                _ = cancel.cancelled(), if !cancelled => {}
            }
        }
    }

    /// Takes up to `max` items whose backoff has passed, answering from the cache any that
    /// another job or process fetched meanwhile.
    fn take_ready(
        &mut self,
        queue: &mut VecDeque<Work>,
        max: usize,
        now: Instant,
        wake: &mut Option<Instant>,
    ) -> Result<Vec<Work>> {
        let mut batch = Vec::with_capacity(max);
        let mut i = 0;
        while batch.len() < max && i < queue.len() {
            match queue[i].not_before {
                Some(t) if t > now => {
                    *wake = earliest(*wake, Some(t));
                    i += 1;
                }
                _ => {
                    let work = queue.remove(i).expect("index in range");
                    if !self.answer_from_cache(work.index, &work.hash, false)? {
                        batch.push(work);
                    }
                }
            }
        }
        Ok(batch)
    }

    fn launch(&self, flights: &mut JoinSet<Landed>, lease: Lease, items: Vec<Work>) {
        let client = self.engine.client.clone();
        let hashes: Vec<Hash> = items.iter().map(|w| w.hash.clone()).collect();
        let key = lease.key.clone();
        let flight = Flight { lease, items };
        flights.spawn(async move {
            let result = client.lookup(&key, &hashes).await;
            (flight, result, Instant::now())
        });
    }

    /// Handles a finished request.
    fn land(&mut self, (flight, result, at): Landed, queue: &mut VecDeque<Work>) -> Result<()> {
        let Flight { lease, items } = flight;
        let key_id = lease.key.id().to_string();
        let (release, outcome) = match &result {
            Ok(_) => (Release::Answered, "ok"),
            Err(FetchError::Quota { .. }) => (Release::OverQuota, "quota"),
            Err(FetchError::Rejected {
                message, status, ..
            }) => (
                Release::Rejected(format!("HTTP {status}: {message}")),
                "rejected",
            ),
            Err(FetchError::Transient(_)) => (Release::Answered, "transient"),
            Err(FetchError::Permanent(_)) => (Release::Answered, "permanent"),
        };
        *self
            .engine
            .metrics_mut()
            .requests
            .entry((key_id.clone(), outcome.to_string()))
            .or_default() += 1;
        let newly_rejected = self.engine.pool().release(lease, at, release);
        match result {
            Ok(answers) => {
                for work in items {
                    match answers.iter().find(|(h, _)| *h == work.hash) {
                        Some((_, lookup)) => self.record_lookup(&work, lookup.clone())?,
                        None => self.retry_or_fail(work, "no answer for this hash", at, queue)?,
                    }
                }
            }
            Err(FetchError::Quota { .. }) => requeue_front(queue, items),
            Err(FetchError::Rejected {
                key,
                status,
                message,
            }) => {
                if newly_rejected {
                    tracing::warn!("key {key} rejected (HTTP {status}): {message}; not using it");
                    (self.sink)(&Event::KeyRejected {
                        key: key_id,
                        reason: format!("HTTP {status}: {message}"),
                    });
                }
                requeue_front(queue, items);
            }
            Err(FetchError::Transient(msg)) => {
                tracing::debug!("transient failure: {msg}");
                for work in items {
                    self.retry_or_fail(work, &msg, at, queue)?;
                }
            }
            Err(FetchError::Permanent(msg)) => {
                for work in items {
                    self.record(
                        work.index,
                        &work.hash,
                        ItemResult::Error {
                            message: msg.clone(),
                        },
                    )?;
                }
            }
        }
        self.emit_progress(queue.len());
        Ok(())
    }

    fn retry_or_fail(
        &mut self,
        mut work: Work,
        msg: &str,
        at: Instant,
        queue: &mut VecDeque<Work>,
    ) -> Result<()> {
        work.attempts += 1;
        if work.attempts > self.engine.cfg.retries {
            let message = format!("{msg} (gave up after {} attempts)", work.attempts);
            return self.record(work.index, &work.hash, ItemResult::Error { message });
        }
        // Full doubling with jitter in [50%, 100%] so retries of a burst spread out.
        let base =
            self.engine.cfg.backoff.as_secs_f64() * f64::from(1u32 << work.attempts.min(16)) / 2.0;
        let jitter = 0.5 + 0.5 * self.next_unit();
        let delay = Duration::from_secs_f64((base * jitter).min(120.0));
        work.not_before = Some(at + delay);
        queue.push_back(work);
        Ok(())
    }

    /// Answers an item from a fresh cached entry; returns whether it did. `first_look`
    /// says whether a miss counts in the metrics (a re-check before sending does not).
    fn answer_from_cache(&mut self, index: u64, hash: &Hash, first_look: bool) -> Result<bool> {
        let entry = self.engine.store.cache_get(hash)?;
        let Some(entry) = entry.filter(|e| self.is_fresh(e)) else {
            if first_look {
                self.engine.metrics_mut().cache_misses += 1;
            }
            return Ok(false);
        };
        self.engine.metrics_mut().cache_hits += 1;
        let result = ItemResult::Lookup {
            lookup: entry.lookup,
            from_cache: true,
            fetched_at: entry.fetched_at,
        };
        self.record(index, hash, result)?;
        Ok(true)
    }

    fn is_fresh(&self, entry: &CacheEntry) -> bool {
        let cfg = &self.engine.cfg;
        let max_age = match entry.lookup {
            Lookup::Found(_) => cfg.max_age_found,
            Lookup::Unknown => cfg.max_age_unknown,
        };
        let age = now_unix().saturating_sub(entry.fetched_at);
        let young = u64::try_from(age).unwrap_or(0) < max_age.as_secs();
        // `--refresh` wants answers fetched by this job, which also makes a resumed refresh
        // keep what it already fetched.
        young && (!self.job.spec.refresh || entry.fetched_at > self.job.created_at)
    }

    fn record_lookup(&mut self, work: &Work, lookup: Lookup) -> Result<()> {
        let fetched_at = now_unix();
        let entry = CacheEntry {
            queried: work.hash.clone(),
            lookup: lookup.clone(),
            fetched_at,
        };
        self.engine.store.cache_put(&entry)?;
        let result = ItemResult::Lookup {
            lookup,
            from_cache: false,
            fetched_at,
        };
        self.record(work.index, &work.hash, result)
    }

    fn record(&mut self, index: u64, hash: &Hash, result: ItemResult) -> Result<()> {
        self.engine
            .store
            .job_record(&self.job.id, index, &result, now_unix())?;
        self.progress.done += 1;
        match &result {
            ItemResult::Error { .. } => self.progress.errors += 1,
            ItemResult::Lookup {
                from_cache: true, ..
            } => self.progress.cache_hits += 1,
            ItemResult::Lookup { .. } => {}
        }
        (self.sink)(&Event::Item {
            index,
            hash: hash.clone(),
            result,
        });
        Ok(())
    }

    fn emit_progress(&mut self, network_left: usize) {
        let per_second = self.engine.pool().per_second();
        self.progress.eta_secs = (per_second > 0.0 && per_second.is_finite())
            .then(|| (network_left as f64 / per_second).ceil() as u64);
        (self.sink)(&Event::Progress(self.progress.clone()));
    }

    /// A uniform number in [0, 1) from a xorshift generator: jitter needs no more.
    fn next_unit(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn requeue_front(queue: &mut VecDeque<Work>, items: Vec<Work>) {
    for work in items.into_iter().rev() {
        queue.push_front(work);
    }
}

fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x9E37_79B9_7F4A_7C15);
    nanos | 1
}
