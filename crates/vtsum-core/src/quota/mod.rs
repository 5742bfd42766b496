//! The key pool: which API key may send the next request, and when.
//!
//! Each key has strict sliding windows (from [`RateSpec`]) and a daily count kept in the
//! store's ledger, so it survives restarts and is shared by processes on one store. A store
//! that persists anything (SQLite, Redis, and `none`'s quota file) also holds each key's
//! window slots with wall-clock times ([`Store::quota_acquire`]), so a second run, a
//! restart after `kill -9` or a run beside another starts from the sends already made.
//! VirusTotal's own figures ([`figures`]) set each key's allowance and count use made
//! elsewhere.
//!
//! Types: [`KeyPool`] (the keys of one process), [`Lease`] (permission for one request),
//! [`Acquire`] / [`Release`] (its two ends); `window` holds one sliding window,
//! [`figures`] VirusTotal's figures, `allowance` how they set a key's daily allowance,
//! `status` a key's state for display ([`KeyStatus`]).
//!
//! A window slot is held from the moment a request is sent until one window *after its
//! response arrived*. VirusTotal counts a request when it arrives, which is some time
//! between our send and our receipt of the answer; freeing the slot a window after the
//! receipt therefore guarantees that no two requests sharing a slot can arrive less than a
//! window apart, whatever the network's latency or jitter. It costs one round trip per
//! window (a few milliseconds per minute), where a fixed safety margin would cost more and
//! still fail on a slow network.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Days, NaiveTime, Utc};

use crate::key::ApiKey;
use crate::rate::RateSpec;
use crate::store::Store;

mod acquire;
mod allowance;
pub mod figures;
mod status;
mod window;

pub use acquire::{Ask, Round, Shared, Step};
pub use figures::DailySource;
use figures::Figures;
pub use status::KeyStatus;
use window::{with_margin, Window};

/// Today's UTC date as the ledger names days (`YYYY-MM-DD`).
pub fn utc_day() -> String {
    Utc::now().format("%Y-%m-%d").to_string()
}

/// Unix seconds of the next 00:00 UTC, when daily quotas reset.
pub fn next_utc_midnight() -> i64 {
    let tomorrow = Utc::now()
        .date_naive()
        .checked_add_days(Days::new(1))
        .expect("date in range");
    tomorrow.and_time(NaiveTime::MIN).and_utc().timestamp()
}

/// Permission to send one request costing `cost` quota units with `key`.
#[derive(Debug)]
pub struct Lease {
    pub key: ApiKey,
    pub cost: u32,
    id: u64,
    slot: usize,
    sent_at: Instant,
    /// The lease's name in a store that shares quotas across processes.
    token: Option<String>,
}

/// What [`KeyPool::step`] and [`KeyPool::settle`] decided.
#[derive(Debug)]
pub enum Acquire {
    Granted(Lease),
    /// Nothing is free now; try again at this instant, or when a request in flight ends
    /// (`None`).
    WaitUntil(Option<Instant>),
    /// Every usable key is out of its daily quota until this Unix time.
    Exhausted {
        resumes_at: i64,
    },
    /// Every key was rejected by VirusTotal.
    NoKeys,
}

/// How a request ended, as far as the key is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Release {
    /// VirusTotal answered (any answer but the two below).
    Answered,
    /// 429 / v2 204: over quota.
    OverQuota,
    /// 401 / 403: the key is not usable.
    Rejected(String),
}

impl Slot {
    /// Each window's limit and length (with the margin), as a shared store checks them.
    fn limits(&self) -> Vec<(u32, Duration)> {
        self.windows.iter().map(|w| (w.limit, w.length)).collect()
    }
}

struct Slot {
    key: ApiKey,
    windows: Vec<Window>,
    rest_until: Option<Instant>,
    /// When the current rest began: refusals of requests sent before it are old news.
    rested_at: Option<Instant>,
    /// After a refusal, one request at a time until one is answered.
    probing: bool,
    in_flight: u32,
    exhausted_day: Option<String>,
    /// The monthly allowance is spent until this Unix time.
    month_out_until: Option<i64>,
    rejected: Option<String>,
    /// Refusals in a row: each doubles the rest, up to [`MAX_REST`].
    strikes: u32,
    sent: u64,
    figures: Option<Figures>,
    /// VirusTotal's figures should be read (at start, after a refusal, on a new day).
    wants_figures: bool,
}

/// The longest rest after refusals in a row, when VirusTotal's figures cannot say why.
const MAX_REST: Duration = Duration::from_secs(15 * 60);

/// The keys of one process and their quotas.
pub struct KeyPool {
    slots: Vec<Slot>,
    /// `--rate`'s daily limit: wins over VirusTotal's allowance.
    daily: Option<u32>,
    /// The allowance when neither `--rate` nor VirusTotal names one.
    daily_fallback: Option<u32>,
    /// Whether the failure to read VirusTotal's figures was logged.
    figures_warned: bool,
    per_second: f64,
    longest_window: Duration,
    store: Arc<dyn Store>,
    next_lease: u64,
    next_slot: usize,
    /// Makes lease tokens unique among processes and pools (process id + start time).
    instance: String,
    /// How long a lease shared through the store may stay in flight before other processes
    /// count it as lost with its process (and its slot frees a window later).
    hold: Duration,
}

/// The hold of a pool whose requests' longest life is not known.
const SHARED_HOLD: Duration = Duration::from_secs(120);

impl KeyPool {
    /// A pool of `keys`, each limited by `rate`, with the daily ledger in `store`.
    pub fn new(keys: Vec<ApiKey>, rate: &RateSpec, store: Arc<dyn Store>) -> KeyPool {
        let slots = keys
            .into_iter()
            .map(|key| Slot {
                key,
                windows: rate
                    .sliding()
                    .map(|l| Window::new(l.count, l.window))
                    .collect(),
                rest_until: None,
                rested_at: None,
                probing: false,
                in_flight: 0,
                exhausted_day: None,
                month_out_until: None,
                rejected: None,
                strikes: 0,
                sent: 0,
                figures: None,
                wants_figures: true,
            })
            .collect();
        KeyPool {
            slots,
            daily: rate.daily(),
            daily_fallback: None,
            figures_warned: false,
            per_second: rate.per_second(),
            longest_window: rate
                .sliding()
                .map(|l| l.window)
                .max()
                .unwrap_or(Duration::from_secs(60)),
            store,
            next_lease: 0,
            next_slot: 0,
            hold: SHARED_HOLD,
            instance: format!(
                "{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos())
            ),
        }
    }

    /// Sets how long a shared lease may stay in flight before other processes count it
    /// lost: longer than any request can take (the client's timeout plus a margin).
    pub fn with_hold(mut self, hold: Duration) -> KeyPool {
        self.hold = hold;
        self
    }

    /// Sets the daily allowance used when neither `--rate` nor VirusTotal's figures name
    /// one (the public API's 500).
    pub fn with_daily_fallback(mut self, daily: Option<u32>) -> KeyPool {
        self.daily_fallback = daily;
        self
    }

    /// Returns a lease: its slots free one window after `at`, when the answer arrived.
    /// Returns whether this release is the one that found the key rejected, and, on a
    /// store that shares quotas, the release to send it (outside the pool's lock; if it is
    /// lost the slots free on their own when the hold runs out: slower, never over).
    pub fn release(&mut self, lease: Lease, at: Instant, how: Release) -> (bool, Option<Shared>) {
        let shared = lease.token.clone().map(|token| {
            let slot = &self.slots[lease.slot];
            Shared::release(
                slot.key.id().clone(),
                slot.limits(),
                lease.cost,
                token,
                self.hold,
            )
        });
        (self.settle_release(lease, at, how), shared)
    }

    fn settle_release(&mut self, lease: Lease, at: Instant, how: Release) -> bool {
        let longest = self.longest_window;
        let slot = &mut self.slots[lease.slot];
        slot.in_flight = slot.in_flight.saturating_sub(1);
        for w in &mut slot.windows {
            w.done(lease.id, at);
        }
        match how {
            Release::Answered => {
                slot.strikes = 0;
                slot.probing = false;
                false
            }
            Release::OverQuota => {
                if slot.rested_at.is_some_and(|r| lease.sent_at < r) {
                    // Sent before the current rest began: the same refusal again.
                    return false;
                }
                // Our windows said the key was free, so someone else spent it or the day
                // is over. Only VirusTotal's figures (read again now) or the ledger end
                // the day; meanwhile rest a full window, doubling while refusals go on,
                // then probe with one request.
                slot.strikes += 1;
                let rest = (with_margin(longest) * (1 << (slot.strikes - 1).min(10))).min(MAX_REST);
                slot.rested_at = Some(at);
                slot.rest_until = Some(at + rest.max(with_margin(longest)));
                slot.probing = true;
                slot.wants_figures = true;
                false
            }
            Release::Rejected(reason) => {
                let first = slot.rejected.is_none();
                slot.rejected.get_or_insert(reason);
                first
            }
        }
    }
}

/// Keeps the earlier of two Unix times.
fn sooner(at: &mut Option<i64>, t: i64) {
    *at = Some(at.map_or(t, |a| a.min(t)));
}

/// The earlier of two optional instants.
pub(crate) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
