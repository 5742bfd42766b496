//! Injectable faults: the next N admitted requests (or a seeded share of them) fail in a
//! chosen way, so tests can prove retries, backoff and error rows.
//!
//! A faulted request has passed the key and quota checks, so it counts against the key's
//! quota and shows in the counters with the status it got: a real overloaded server also
//! counts what it then fails to answer.

use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;

use crate::rng::Rng;

/// How a request fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Fault {
    /// Answer with this HTTP status (503 `TransientError`, 504 `DeadlineExceededError`, ...).
    Status(u16),
    /// Send the headers, then drop the connection mid-body.
    Reset,
    /// Answer 200 with a body that is not JSON.
    Malformed,
    /// Answer normally after this many milliseconds.
    DelayMs(u64),
}

#[derive(Debug, Default)]
struct Inner {
    queue: Vec<(Fault, u64)>,
    random: Option<(Fault, f64)>,
    rng: Option<Rng>,
}

/// The fault plan of a fake server.
#[derive(Debug, Default)]
pub struct Faults {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Rng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rng")
    }
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next `n` admitted requests fail with `fault` (after faults queued earlier).
    pub fn fail_next(&self, fault: Fault, n: u64) {
        self.lock().queue.push((fault, n));
    }

    /// Each admitted request fails with `fault` with probability `p` (seeded, repeatable).
    pub fn fail_randomly(&self, fault: Fault, p: f64, seed: u64) {
        let mut inner = self.lock();
        inner.random = Some((fault, p));
        inner.rng = Some(Rng::new(seed));
    }

    /// No more faults.
    pub fn clear(&self) {
        *self.lock() = Inner::default();
    }

    /// The fault for the request being answered now, if any.
    pub(crate) fn take(&self) -> Option<Fault> {
        let mut inner = self.lock();
        if let Some(first) = inner.queue.first_mut() {
            let fault = first.0;
            first.1 -= 1;
            if first.1 == 0 {
                inner.queue.remove(0);
            }
            return Some(fault);
        }
        let (fault, p) = inner.random?;
        let roll = inner.rng.as_mut()?.below(1_000_000) as f64 / 1_000_000.0;
        (roll < p).then_some(fault)
    }
}

/// A delay fault's length.
pub(crate) fn delay_of(fault: Option<Fault>) -> Option<Duration> {
    match fault {
        Some(Fault::DelayMs(ms)) => Some(Duration::from_millis(ms)),
        _ => None,
    }
}
