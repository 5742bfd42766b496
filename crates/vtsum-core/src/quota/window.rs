//! One sliding window of one key, as this process sees it: the slots its own requests
//! hold, each until one window after its answer arrived.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Clock granularity and rate differences between us and the server.
pub(super) fn with_margin(window: Duration) -> Duration {
    window + Duration::from_millis(2) + window / 1000
}

pub(super) struct Use {
    pub lease: u64,
    pub done_at: Option<Instant>,
}

pub(super) struct Window {
    pub limit: u32,
    pub length: Duration,
    pub uses: VecDeque<Use>,
}

impl Window {
    pub fn new(limit: u32, window: Duration) -> Window {
        Window {
            limit,
            length: with_margin(window),
            uses: VecDeque::new(),
        }
    }

    pub fn prune(&mut self, now: Instant) {
        let length = self.length;
        self.uses
            .retain(|u| u.done_at.is_none_or(|done| done + length > now));
    }

    pub fn free(&self) -> u32 {
        self.limit.saturating_sub(self.uses.len() as u32)
    }

    /// When the next slot frees, if a finished request holds one.
    pub fn next_free(&self) -> Option<Instant> {
        self.uses
            .iter()
            .filter_map(|u| u.done_at.map(|d| d + self.length))
            .min()
    }

    /// Holds `n` slots for a lease until it is released.
    pub fn hold(&mut self, lease: u64, n: u32) {
        for _ in 0..n {
            self.uses.push_back(Use {
                lease,
                done_at: None,
            });
        }
    }

    /// Gives back up to `n` of a lease's slots (not granted after all).
    pub fn forget(&mut self, lease: u64, n: u32) {
        let mut left = n;
        self.uses.retain(|u| {
            if left > 0 && u.lease == lease {
                left -= 1;
                false
            } else {
                true
            }
        });
    }

    /// The lease's answer arrived at `at`: its slots free one window later.
    pub fn done(&mut self, lease: u64, at: Instant) {
        for u in self.uses.iter_mut().filter(|u| u.lease == lease) {
            u.done_at = Some(at);
        }
    }
}
