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

use crate::error::Result;
use crate::key::ApiKey;
use crate::rate::RateSpec;
use crate::store::{QuotaRequest, SharedGrant, Store};

mod allowance;
pub mod figures;
mod status;
mod window;

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

/// What [`KeyPool::acquire`] decided.
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

    /// Asks the store for the same units when it shares quotas with other processes.
    fn acquire_shared(
        &self,
        i: usize,
        (day, daily): (&str, Option<u32>),
        cost: u32,
        lease: u64,
    ) -> Result<(Option<String>, SharedGrant)> {
        if !self.store.shares_quota() {
            return Ok((None, SharedGrant::Granted));
        }
        let slot = &self.slots[i];
        let windows = slot.limits();
        let token = format!("{}-{lease}", self.instance);
        let grant = self.store.quota_acquire(&QuotaRequest {
            key: slot.key.id(),
            windows: &windows,
            daily,
            day,
            cost,
            token: &token,
            hold: self.hold,
        })?;
        Ok((Some(token), grant))
    }

    /// Asks for a lease of up to `want` quota units (a v2 batch) on any key, round-robin.
    pub fn acquire(&mut self, want: u32, now: Instant) -> Result<Acquire> {
        let wall = Utc::now();
        let today = utc_day();
        let mut wake: Option<Instant> = None;
        let mut usable = 0;
        let mut resumes_at: Option<i64> = None;
        for offset in 0..self.slots.len() {
            let i = (self.next_slot + offset) % self.slots.len();
            let daily = self.daily_cap(&self.slots[i], wall);
            let slot = &mut self.slots[i];
            if slot.rejected.is_some() {
                continue;
            }
            if slot.figures.as_ref().is_some_and(|f| !f.same_day(wall)) {
                slot.wants_figures = true;
            }
            if slot.exhausted_day.as_deref() == Some(&today) {
                sooner(&mut resumes_at, next_utc_midnight());
                continue;
            }
            if let Some(until) = slot.month_out_until.filter(|&t| t > wall.timestamp()) {
                sooner(&mut resumes_at, until);
                continue;
            }
            let mut left = match daily {
                None => u64::MAX,
                Some(limit) => {
                    let used = self.store.ledger_used(slot.key.id(), &today)?;
                    if used >= u64::from(limit) {
                        slot.exhausted_day = Some(today.clone());
                        sooner(&mut resumes_at, next_utc_midnight());
                        continue;
                    }
                    u64::from(limit) - used
                }
            };
            if let Some(f) = &slot.figures {
                if let Some(0) = f.month_left(slot.sent, wall) {
                    let until = figures::next_month(wall);
                    slot.month_out_until = Some(until);
                    sooner(&mut resumes_at, until);
                    continue;
                }
                left = left.min(f.month_left(slot.sent, wall).unwrap_or(u64::MAX));
                match f.hour_left(slot.sent, wall) {
                    Some(0) => {
                        // Spent for this hour: rest until the next, then read the figures.
                        let secs = figures::secs_until(figures::next_hour(wall), wall);
                        slot.rest_until = Some(now + Duration::from_secs(secs.max(1)));
                        slot.wants_figures = true;
                    }
                    Some(n) => left = left.min(n),
                    None => {}
                }
            }
            usable += 1;
            if let Some(until) = slot.rest_until.filter(|&t| t > now) {
                wake = earliest(wake, Some(until));
                continue;
            }
            for w in &mut slot.windows {
                w.prune(now);
            }
            let mut free = slot.windows.iter().map(Window::free).min().unwrap_or(want);
            if slot.probing {
                free = free.min(u32::from(slot.in_flight == 0));
            }
            let grant = want.min(free).min(left.min(u64::from(u32::MAX)) as u32);
            if grant == 0 {
                for w in slot.windows.iter().filter(|w| w.free() == 0) {
                    wake = earliest(wake, w.next_free());
                }
                continue;
            }
            let id = self.next_lease;
            let (token, shared) = self.acquire_shared(i, (&today, daily), grant, id)?;
            let slot = &mut self.slots[i];
            match shared {
                SharedGrant::Granted => {}
                SharedGrant::WaitMs(ms) => {
                    wake = earliest(wake, Some(now + Duration::from_millis(ms)));
                    continue;
                }
                SharedGrant::DayOut => {
                    slot.exhausted_day = Some(today.clone());
                    sooner(&mut resumes_at, next_utc_midnight());
                    usable -= 1;
                    continue;
                }
            }
            self.next_lease += 1;
            for w in &mut slot.windows {
                w.hold(id, grant);
            }
            // A store that shares quotas counted the day in the same atomic step.
            if daily.is_some() && token.is_none() {
                self.store
                    .ledger_add(slot.key.id(), &today, u64::from(grant))?;
            }
            slot.sent += u64::from(grant);
            slot.in_flight += 1;
            self.next_slot = i + 1;
            return Ok(Acquire::Granted(Lease {
                key: slot.key.clone(),
                cost: grant,
                id,
                slot: i,
                sent_at: now,
                token,
            }));
        }
        if usable == 0 {
            return Ok(if self.slots.iter().all(|s| s.rejected.is_some()) {
                Acquire::NoKeys
            } else {
                Acquire::Exhausted {
                    resumes_at: resumes_at.unwrap_or_else(next_utc_midnight),
                }
            });
        }
        Ok(Acquire::WaitUntil(wake))
    }

    /// Returns a lease: its slots free one window after `at`, when the answer arrived.
    /// Returns whether this release is the one that found the key rejected.
    pub fn release(&mut self, lease: Lease, at: Instant, how: Release) -> bool {
        let longest = self.longest_window;
        if let Some(token) = &lease.token {
            let slot = &self.slots[lease.slot];
            let windows = slot.limits();
            let req = QuotaRequest {
                key: slot.key.id(),
                windows: &windows,
                daily: None,
                day: "",
                cost: lease.cost,
                token,
                hold: self.hold,
            };
            // If this fails the slots free on their own when the hold runs out: slower,
            // never over the limit.
            if let Err(e) = self.store.quota_release(&req) {
                tracing::warn!("cannot release a shared quota lease: {e}");
            }
        }
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
