//! Leases from the key pool with every store round trip off the pool's lock and off the
//! async threads: the pool decides and reserves under its lock ([`KeyPool::step`]), the
//! store that shares quotas is asked on a blocking thread, and the pool settles under the
//! lock again. Other runs of the process take their own leases meanwhile.
//!
//! [`KeyPool::step`]: crate::quota::KeyPool::step

use std::time::Instant;

use super::lane::{JobRunning, Lane, Waiting, LANE_POLL};
use super::Engine;
use crate::error::{Error, Result};
use crate::quota::{Acquire, Lease, Release, Round, Shared, Step};

impl Engine {
    /// A lease of up to `want` quota units on any key, or why there is none now. A run
    /// waits while a lane above its own has the turn (`lane.rs`).
    pub(super) async fn acquire(&self, want: u32, now: Instant, lane: Lane) -> Result<Acquire> {
        if !self.lanes.may_go(lane, now) {
            return Ok(Acquire::WaitUntil(Some(now + LANE_POLL)));
        }
        let decided = self.acquire_any(want, now).await?;
        match &decided {
            Acquire::Granted(_) => self.lanes.granted(lane),
            Acquire::WaitUntil(until) if lane == Lane::Job => self.lanes.batch_waits(*until, now),
            _ => {}
        }
        Ok(decided)
    }

    async fn acquire_any(&self, want: u32, now: Instant) -> Result<Acquire> {
        let mut round = Round::default();
        loop {
            let ask = match self.pool().step(want, now, &mut round)? {
                Step::Done(decided) => return Ok(decided),
                Step::Ask(ask) => ask,
            };
            let store = self.store.clone();
            let (ask, answer) = tokio::task::spawn_blocking(move || {
                let answer = store.quota_acquire(&ask.shared.request());
                (ask, answer)
            })
            .await
            .map_err(|source| Error::Task {
                what: "the quota check",
                source,
            })?;
            if let Some(decided) = self.pool().settle(ask, answer, &mut round)? {
                return Ok(decided);
            }
        }
    }

    /// Returns a lease; says whether this release found the key rejected.
    pub(super) async fn release(&self, lease: Lease, at: Instant, how: Release) -> bool {
        let (newly_rejected, shared) = self.pool().release(lease, at, how);
        if let Some(shared) = shared {
            self.release_shared(shared).await;
        }
        newly_rejected
    }

    async fn release_shared(&self, shared: Shared) {
        let store = self.store.clone();
        let released =
            tokio::task::spawn_blocking(move || store.quota_release(&shared.request())).await;
        match released {
            Ok(Ok(())) => {}
            // The slots free on their own when the hold runs out: slower, never over.
            Ok(Err(e)) => tracing::warn!("cannot release a shared quota lease: {e}"),
            Err(e) => tracing::warn!("quota release task failed: {e}"),
        }
    }

    /// Marks an interactive run as waiting for a key while the guard lives.
    pub(super) fn lane_wait(&self) -> Waiting<'_> {
        self.lanes.wait()
    }

    /// Marks a job run as having work while the guard lives (re-checks hold back).
    pub(super) fn job_running(&self) -> JobRunning {
        JobRunning::new(&self.lanes)
    }
}
