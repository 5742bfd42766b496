//! The interactive lane: a one-off lookup (an API client or a web page asking about one
//! hash) goes ahead of the queued hashes of batch jobs, so a person waits one window, not
//! a job's worth of them.
//!
//! While an interactive run waits for a key, batch runs of this process are told to wait
//! too and look again shortly, so the next free slot goes to the interactive run. A job
//! slows down but never stops: when interactive runs keep the lane busy, a batch run that
//! was held back gets its turn after [`BATCH_SHARE`] interactive grants (interactive runs
//! then wait for it), so the jobs keep one slot in `BATCH_SHARE + 1`.
//!
//! Re-checks of watchlists (`watch::round`) run in a third lane below both: a re-check
//! takes a key only while no interactive run waits and no job run of the process has work
//! left, so re-checks live on the quota nobody else asks for and never delay a job. They
//! may wait for ever; that is what "spare quota" means.
//!
//! The lane orders the runs of one process. Runs in other processes on the same store
//! (`vtsum worker`) share the quota through the store but not this order: run lookups and
//! the jobs they should overtake in one process, or accept that a worker's job competes as
//! an equal.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The lane a run is in: who goes first when runs contend for a key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Lane {
    /// A one-off lookup someone waits for.
    Interactive,
    /// A job's hashes (a scan, a web job, a worker's part).
    #[default]
    Job,
    /// Watchlist re-checks: only what the other lanes leave.
    Recheck,
}

/// How soon a batch run held back by the lane looks again.
pub(super) const LANE_POLL: Duration = Duration::from_millis(50);

/// Under contention, a batch run gets one slot after this many interactive ones.
pub const BATCH_SHARE: u32 = 3;

#[derive(Debug, Default)]
struct State {
    /// Interactive runs waiting for a key now.
    waiting: usize,
    /// Interactive grants since a batch run was first held back.
    streak: u32,
    /// A batch run was held back and is expected to ask again by then (`None`: no batch
    /// run held back since the last batch grant).
    batch_back_by: Option<Instant>,
    /// Job runs with work left.
    jobs: usize,
}

impl State {
    /// A held-back batch run is still there to take its turn.
    fn batch_waiting(&self, now: Instant) -> bool {
        self.batch_back_by.is_some_and(|t| t > now)
    }
}

/// The lane's state, shared by the runs of one engine.
#[derive(Debug, Default)]
pub struct Lanes {
    state: Mutex<State>,
}

impl Lanes {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a few counters, each update complete: a panicked holder left it whole.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a batch run may take a key now; when not, it is noted as held back.
    pub fn batch_may_go(&self, now: Instant) -> bool {
        let mut s = self.lock();
        if s.waiting == 0 || s.streak >= BATCH_SHARE {
            return true;
        }
        s.batch_back_by = Some(now + 3 * LANE_POLL);
        false
    }

    /// A batch run whose turn it is found no free slot: it asks again at `until` (or when
    /// a request in flight ends), and its turn is kept for it until then.
    pub fn batch_waits(&self, until: Option<Instant>, now: Instant) {
        let mut s = self.lock();
        if s.streak >= BATCH_SHARE && s.batch_back_by.is_some() {
            s.batch_back_by = Some(until.unwrap_or(now).max(now) + 3 * LANE_POLL);
        }
    }

    /// Whether an interactive run may take a key now: not when a held-back batch run has
    /// its turn (after [`BATCH_SHARE`] interactive grants).
    pub fn interactive_may_go(&self, now: Instant) -> bool {
        let s = self.lock();
        !(s.streak >= BATCH_SHARE && s.batch_waiting(now))
    }

    /// Whether a re-check may take a key now: only when no interactive run waits and no
    /// job run has work left.
    pub fn recheck_may_go(&self) -> bool {
        let s = self.lock();
        s.waiting == 0 && s.jobs == 0
    }

    /// Whether a run in `lane` may take a key now.
    pub fn may_go(&self, lane: Lane, now: Instant) -> bool {
        match lane {
            Lane::Interactive => self.interactive_may_go(now),
            Lane::Job => self.batch_may_go(now),
            Lane::Recheck => self.recheck_may_go(),
        }
    }

    /// Notes a grant in the given lane.
    pub fn granted(&self, lane: Lane) {
        let mut s = self.lock();
        if lane == Lane::Recheck {
            return;
        }
        if lane == Lane::Interactive {
            if s.batch_back_by.is_some() {
                s.streak += 1;
            }
        } else {
            s.streak = 0;
            s.batch_back_by = None;
        }
    }

    /// Marks an interactive run as waiting until the returned guard is dropped.
    pub fn wait(&self) -> Waiting<'_> {
        self.lock().waiting += 1;
        Waiting { lanes: self }
    }
}

/// A job run with work left; re-checks hold back while it lives.
#[derive(Debug)]
pub struct JobRunning {
    lanes: Arc<Lanes>,
}

impl JobRunning {
    pub fn new(lanes: &Arc<Lanes>) -> JobRunning {
        lanes.lock().jobs += 1;
        JobRunning {
            lanes: lanes.clone(),
        }
    }
}

impl Drop for JobRunning {
    fn drop(&mut self) {
        let mut s = self.lanes.lock();
        s.jobs = s.jobs.saturating_sub(1);
    }
}

/// An interactive run waiting for a key; the lane holds batch runs back while it lives.
#[derive(Debug)]
pub struct Waiting<'a> {
    lanes: &'a Lanes,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut s = self.lanes.lock();
        s.waiting = s.waiting.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_goes_when_nobody_waits() {
        let lanes = Lanes::default();
        let now = Instant::now();
        assert!(lanes.batch_may_go(now));
        let waiting = lanes.wait();
        assert!(!lanes.batch_may_go(now));
        drop(waiting);
        assert!(lanes.batch_may_go(now));
    }

    #[test]
    fn batch_gets_one_slot_in_four_under_contention() {
        let lanes = Lanes::default();
        let _waiting = lanes.wait();
        let now = Instant::now();
        let mut batch = 0;
        for _ in 0..40 {
            // Both lanes ask for every slot; the first that may go takes it.
            if lanes.batch_may_go(now) {
                lanes.granted(Lane::Job);
                batch += 1;
            } else {
                assert!(lanes.interactive_may_go(now));
                lanes.granted(Lane::Interactive);
            }
        }
        assert_eq!(
            batch,
            10,
            "one slot in {} goes to the batch",
            BATCH_SHARE + 1
        );
    }

    #[test]
    fn a_batch_run_that_left_does_not_hold_lookups_back() {
        let lanes = Lanes::default();
        let _waiting = lanes.wait();
        let then = Instant::now();
        assert!(!lanes.batch_may_go(then));
        for _ in 0..BATCH_SHARE {
            lanes.granted(Lane::Interactive);
        }
        assert!(!lanes.interactive_may_go(then), "the batch run's turn");
        assert!(
            lanes.interactive_may_go(then + 4 * LANE_POLL),
            "it never came back"
        );
    }

    #[test]
    fn re_checks_go_only_when_no_job_has_work_and_no_lookup_waits() {
        let lanes = Arc::new(Lanes::default());
        let now = Instant::now();
        assert!(lanes.may_go(Lane::Recheck, now));
        let job = JobRunning::new(&lanes);
        assert!(!lanes.may_go(Lane::Recheck, now), "a job has work");
        assert!(
            lanes.may_go(Lane::Job, now),
            "the job is not held back by re-checks"
        );
        drop(job);
        let waiting = lanes.wait();
        assert!(!lanes.may_go(Lane::Recheck, now), "a lookup waits");
        drop(waiting);
        assert!(lanes.may_go(Lane::Recheck, now));
    }

    #[test]
    fn interactive_grants_without_a_held_batch_build_no_streak() {
        let lanes = Lanes::default();
        for _ in 0..10 {
            lanes.granted(Lane::Interactive);
        }
        let _waiting = lanes.wait();
        assert!(
            !lanes.batch_may_go(Instant::now()),
            "the lane holds batches back at once"
        );
    }
}
