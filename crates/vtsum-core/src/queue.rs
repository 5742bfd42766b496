//! The work queue shared by every process on one Redis store: a web job is cut into parts
//! of [`PART_SIZE`] hashes when it is created, and any worker (`vtsum worker`, or
//! `vtsum serve` unless `--no-worker`) takes the next part, runs it and marks it finished.
//!
//! A part a worker took but never finished (the process died) goes to another worker once
//! it has been idle for the claim timeout; a live worker touches its part every few
//! seconds so it is never taken from it. Hashes already answered are skipped, and a hash
//! another process is asking for is waited for ([`crate::store::Store::hash_claim`]), so a
//! part run twice spends nothing twice.
//!
//! Progress goes to every replica through [`WorkQueue::publish`] and [`WorkQueue::listen`].

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::error::Result;
use crate::job::JobId;

/// Hashes per part: small enough that several workers share even a short job, large
/// enough that the queue's own traffic stays small beside the lookups.
pub const PART_SIZE: u64 = 20;

/// A range of one job's hashes, taken from the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The queue's id of this entry.
    pub entry: String,
    pub job: JobId,
    /// Input positions `from..to`.
    pub from: u64,
    pub to: u64,
}

/// The queue of job parts and the channel of progress messages.
pub trait WorkQueue: Send + Sync + 'static {
    /// The next part for `worker`: first one another worker left idle for longer than
    /// `claim_after`, else a new one, waiting up to `block` for one to arrive.
    fn next_part(
        &self,
        worker: &str,
        block: Duration,
        claim_after: Duration,
    ) -> Result<Option<Part>>;
    /// Tells the queue `worker` is still on `part`, so nobody else claims it.
    fn touch(&self, worker: &str, part: &Part) -> Result<()>;
    /// Removes a part whose hashes all have results (or whose job is gone).
    fn finish(&self, part: &Part) -> Result<()>;
    /// How many parts are queued or being run, by any worker: re-check rounds wait while
    /// there are any (watchlists take only what jobs leave).
    fn backlog(&self) -> Result<u64>;
    /// Sends a progress message about a job to every listening replica.
    fn publish(&self, job: &JobId, message: &str) -> Result<()>;
    /// Calls `each` with every progress message of every job until `stop` is set (checked
    /// at least once a second) or the connection fails.
    fn listen(&self, stop: &AtomicBool, each: &mut dyn FnMut(JobId, String)) -> Result<()>;
}
