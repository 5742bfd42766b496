//! A run's requests: sent with a lease from the key pool, and handled when they land —
//! answers saved, refused hashes put back for another key, transient failures retried
//! after an exponential backoff with jitter, a bounded number of times.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::lane::Lane;
use super::run::{Flight, Landed, Run, Work};
use super::{Event, RequestOutcome};
use crate::error::{Error, Result};
use crate::hash::Hash;
use crate::quota::{earliest, Acquire};
use crate::quota::{Lease, Release};
use crate::report::Lookup;
use crate::target::Target;
use crate::vt::objects::ObjectLookup;
use crate::vt::FetchError;

impl Run<'_> {
    pub(super) fn launch(&self, flights: &mut JoinSet<Landed>, lease: Lease, items: Vec<Work>) {
        let client = self.engine.client.clone();
        let targets: Vec<Target> = items.iter().map(|w| w.target.clone()).collect();
        let key = lease.key.clone();
        let flight = Flight { lease, items };
        flights.spawn(async move {
            let result = match targets.as_slice() {
                // `take_ready` makes a batch of one object or of files only.
                [object @ Target::Object { kind, value, .. }] => client
                    .lookup_object(&key, *kind, value)
                    .await
                    .map(|answer| {
                        let lookup = match answer {
                            ObjectLookup::Found(report) => Lookup::Object(report),
                            ObjectLookup::Unknown => Lookup::Unknown,
                        };
                        vec![(object.clone(), lookup)]
                    }),
                _ => {
                    let hashes: Vec<Hash> =
                        targets.iter().filter_map(Target::hash).cloned().collect();
                    client.lookup(&key, &hashes).await.map(|answers| {
                        answers
                            .into_iter()
                            .map(|(hash, lookup)| (Target::File(hash), lookup))
                            .collect()
                    })
                }
            };
            (flight, result, Instant::now())
        });
    }

    /// Sends what the keys allow now: batches taken from the queue, each with a lease,
    /// until the concurrency is reached, nothing is ready, or the pool says wait (`wake`
    /// gets when). `Some(resumes_at)`: every key is out for the day.
    pub(super) async fn send_ready(
        &mut self,
        queue: &mut VecDeque<Work>,
        flights: &mut JoinSet<Landed>,
        wake: &mut Option<Instant>,
    ) -> Result<Option<i64>> {
        let engine = self.engine;
        let batch_size = engine.cfg.client.version.batch_size();
        let concurrency = engine.cfg.concurrency.max(1);
        while flights.len() < concurrency {
            let now = Instant::now();
            let batch = match self.take_ready(queue, batch_size, now, wake).await {
                Ok(batch) => batch,
                Err(e) => {
                    self.pause_if_away(e, wake)?;
                    break;
                }
            };
            if batch.is_empty() {
                break;
            }
            let lane = self.lane;
            let acquired = match engine.acquire(batch.len() as u32, now, lane).await {
                Ok(acquired) => acquired,
                Err(e) => {
                    self.put_back(queue, batch).await;
                    self.pause_if_away(e, wake)?;
                    break;
                }
            };
            match acquired {
                Acquire::Granted(lease) => {
                    self.lane_waiting = None;
                    let mut batch = batch;
                    let rest = batch.split_off((lease.cost as usize).min(batch.len()));
                    self.put_back(queue, rest).await;
                    self.launch(flights, lease, batch);
                }
                Acquire::WaitUntil(until) => {
                    if lane == Lane::Interactive && self.lane_waiting.is_none() {
                        self.lane_waiting = Some(engine.lane_wait());
                    }
                    self.put_back(queue, batch).await;
                    *wake = earliest(*wake, until);
                    break;
                }
                Acquire::Exhausted { resumes_at } => {
                    self.put_back(queue, batch).await;
                    return Ok(Some(resumes_at));
                }
                Acquire::NoKeys => {
                    self.put_back(queue, batch).await;
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
        Ok(None)
    }

    /// Handles a finished request.
    pub(super) async fn land(
        &mut self,
        (flight, result, at): Landed,
        queue: &mut VecDeque<Work>,
    ) -> Result<()> {
        let Flight { lease, items } = flight;
        let key_id = lease.key.id().to_string();
        let (release, outcome) = match &result {
            Ok(_) => (Release::Answered, RequestOutcome::Ok),
            Err(FetchError::Quota { .. }) => (Release::OverQuota, RequestOutcome::Quota),
            Err(FetchError::Rejected {
                message, status, ..
            }) => (
                Release::Rejected(format!("HTTP {status}: {message}")),
                RequestOutcome::Rejected,
            ),
            Err(FetchError::Transient(_)) => (Release::Answered, RequestOutcome::Transient),
            Err(FetchError::Permanent(_)) => (Release::Answered, RequestOutcome::Permanent),
        };
        *self
            .engine
            .metrics_mut()
            .requests
            .entry((key_id.clone(), outcome))
            .or_default() += 1;
        self.engine
            .sent_by_runs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let newly_rejected = self.engine.release(lease, at, release).await;
        match result {
            Ok(answers) => {
                for work in items {
                    match answers.iter().find(|(t, _)| t.key() == work.target.key()) {
                        Some((_, lookup)) => self.save_lookup(work, lookup.clone()).await?,
                        None => {
                            self.retry_or_fail(work, "no answer for this hash", at, queue)
                                .await?
                        }
                    }
                }
            }
            Err(FetchError::Quota { .. }) => self.put_back(queue, items).await,
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
                self.put_back(queue, items).await;
            }
            Err(FetchError::Transient(msg)) => {
                tracing::debug!("transient failure: {msg}");
                for work in items {
                    self.retry_or_fail(work, &msg, at, queue).await?;
                }
            }
            Err(FetchError::Permanent(msg)) => {
                for work in items {
                    self.save_error(work, msg.clone()).await?;
                }
            }
        }
        self.emit_progress(queue.len());
        Ok(())
    }

    async fn retry_or_fail(
        &mut self,
        mut work: Work,
        msg: &str,
        at: Instant,
        queue: &mut VecDeque<Work>,
    ) -> Result<()> {
        work.attempts += 1;
        if work.attempts > self.engine.cfg.retries {
            let message = format!("{msg} (gave up after {} attempts)", work.attempts);
            return self.save_error(work, message).await;
        }
        // Full doubling with jitter in [50%, 100%] so retries of a burst spread out.
        let base =
            self.engine.cfg.backoff.as_secs_f64() * f64::from(1u32 << work.attempts.min(16)) / 2.0;
        let jitter = 0.5 + 0.5 * self.next_unit();
        let delay = Duration::from_secs_f64((base * jitter).min(120.0));
        work.not_before = Some(at + delay);
        self.io.release(vec![work.target.key()]).await;
        queue.push_back(work);
        Ok(())
    }
}
