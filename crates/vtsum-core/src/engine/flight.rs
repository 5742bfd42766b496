//! A run's requests: sent with a lease from the key pool, and handled when they land —
//! answers saved, refused hashes put back for another key, transient failures retried
//! after an exponential backoff with jitter, a bounded number of times.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::run::{Flight, Landed, Run, Work};
use super::Event;
use crate::error::Result;
use crate::hash::Hash;
use crate::quota::{Lease, Release};
use crate::vt::FetchError;

impl Run<'_> {
    pub(super) fn launch(&self, flights: &mut JoinSet<Landed>, lease: Lease, items: Vec<Work>) {
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
    pub(super) async fn land(
        &mut self,
        (flight, result, at): Landed,
        queue: &mut VecDeque<Work>,
    ) -> Result<()> {
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
        let newly_rejected = self.engine.release(lease, at, release).await;
        match result {
            Ok(answers) => {
                for work in items {
                    match answers.iter().find(|(h, _)| *h == work.hash) {
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
        self.io.release(vec![work.hash.clone()]).await;
        queue.push_back(work);
        Ok(())
    }
}
