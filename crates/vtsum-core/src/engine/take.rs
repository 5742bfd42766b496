//! Taking work from a run's queue: items whose backoff has passed, answered from the cache
//! when another job or process fetched them meanwhile, and — on a store other processes
//! share — claimed before they are sent, so that a hash another process is asking about
//! is waited for rather than paid for twice. Also how a run rides out an unreachable store:
//! it pauses, backing off, and goes on when the store is back.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::io::Take;
use super::run::{Run, Work, CLAIM_POLL, STORE_RETRY};
use crate::error::{Error, Result};
use crate::quota::earliest;
use crate::store::JobState;

impl Run<'_> {
    /// An unreachable store pauses the run (it is tried again soon); other errors end it.
    pub(super) fn pause_if_away(&mut self, e: Error, wake: &mut Option<Instant>) -> Result<()> {
        if !e.is_unavailable() {
            return Err(e);
        }
        self.store_away(&e);
        *wake = earliest(*wake, Some(Instant::now() + self.store_retry()));
        Ok(())
    }

    /// The pause before the next try of an unreachable store: doubling, at most 4 s.
    pub(super) fn store_retry(&self) -> Duration {
        STORE_RETRY * (1 << self.away.saturating_sub(1).min(4))
    }

    /// Counts a failed try of the store; logs the start of an outage once.
    pub(super) fn store_away(&mut self, e: &Error) {
        if self.away == 0 {
            tracing::warn!("{e}; waiting for the store to come back");
        }
        self.away = self.away.saturating_add(1);
    }

    pub(super) fn store_back(&mut self) {
        if self.away > 0 {
            tracing::info!("the store is reachable again; going on");
            self.away = 0;
        }
    }

    /// Records the job's state where a failure must not stop the run.
    pub(super) async fn note_state(&mut self, state: JobState, resumes_at: Option<i64>) {
        if let Err(e) = self.io.set_state(state, resumes_at, None).await {
            tracing::warn!(
                "cannot record job {} as {}: {e}",
                self.job.id,
                state.as_str()
            );
        }
    }

    /// Takes up to `max` items whose backoff has passed, answering from the cache any that
    /// another job or process fetched meanwhile, and claiming the rest when the store is
    /// shared. On an error every item is back in the queue.
    pub(super) async fn take_ready(
        &mut self,
        queue: &mut VecDeque<Work>,
        max: usize,
        now: Instant,
        wake: &mut Option<Instant>,
    ) -> Result<Vec<Work>> {
        let mut batch = Vec::with_capacity(max);
        let mut i = 0;
        while batch.len() < max && i < queue.len() {
            if let Some(t) = queue[i].not_before.filter(|&t| t > now) {
                *wake = earliest(*wake, Some(t));
                i += 1;
                continue;
            }
            // A URL, a domain or an IP address is a request of its own; files go together
            // (v2 batches up to four), so a batch is files only or one object.
            let object = queue[i].target.hash().is_none();
            if !batch.is_empty() && object {
                i += 1;
                continue;
            }
            let mut work = queue.remove(i).expect("index in range");
            match self.io.take(work.index, &work.target).await {
                Ok(Take::Answered(result)) => {
                    self.count_look(true, false);
                    self.recorded(work.index, &work.target, result);
                }
                Ok(Take::Send) if object => {
                    batch.push(work);
                    break;
                }
                Ok(Take::Send) => batch.push(work),
                Ok(Take::HeldElsewhere) => {
                    work.not_before = Some(now + CLAIM_POLL);
                    *wake = earliest(*wake, work.not_before);
                    queue.insert(i, work);
                    i += 1;
                }
                Err(e) => {
                    queue.insert(i, work);
                    self.put_back(queue, batch).await;
                    return Err(e);
                }
            }
        }
        self.store_back();
        Ok(batch)
    }

    /// Puts items back at the front of the queue, in order, giving up their claims.
    pub(super) async fn put_back(&self, queue: &mut VecDeque<Work>, items: Vec<Work>) {
        self.io
            .release(items.iter().map(|w| w.target.key()).collect())
            .await;
        for work in items.into_iter().rev() {
            queue.push_front(work);
        }
    }
}
