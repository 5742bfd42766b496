//! Acquiring a lease in two halves, so that no store round trip happens under the pool's
//! lock: [`KeyPool::step`] decides under the lock which key may send and reserves its
//! window slots in this process; when the store shares quotas with other processes, the
//! caller then asks the store ([`Shared::request`]) without the lock, and hands the answer
//! to [`KeyPool::settle`], which keeps or undoes the reservation. Other tasks of the
//! process see reserved slots as taken meanwhile, so the two halves cannot over-grant.
//! Only a store that shares nothing (the in-memory one of tests) is read under the lock:
//! its ledger is a map in this process.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::window::Window;
use super::{earliest, figures, next_utc_midnight, sooner, utc_day, Acquire, KeyPool, Lease};
use crate::error::Result;
use crate::key::KeyId;
use crate::store::{QuotaRequest, SharedGrant};

/// One acquisition's progress over the keys, carried between [`KeyPool::step`]s.
#[derive(Debug, Default)]
pub struct Round {
    /// Keys looked at, counted from the round-robin start.
    offset: usize,
    wake: Option<Instant>,
    usable: usize,
    resumes_at: Option<i64>,
}

/// A lease's request to a store that shares quotas, owned so it can cross to a blocking
/// thread.
#[derive(Debug)]
pub struct Shared {
    pub key: KeyId,
    windows: Vec<(u32, Duration)>,
    daily: Option<u32>,
    day: String,
    cost: u32,
    token: String,
    hold: Duration,
}

impl Shared {
    /// The release of a lease's units.
    pub(super) fn release(
        key: KeyId,
        windows: Vec<(u32, Duration)>,
        cost: u32,
        token: String,
        hold: Duration,
    ) -> Shared {
        Shared {
            key,
            windows,
            daily: None,
            day: String::new(),
            cost,
            token,
            hold,
        }
    }

    /// The request as the store reads it.
    pub fn request(&self) -> QuotaRequest<'_> {
        QuotaRequest {
            key: &self.key,
            windows: &self.windows,
            daily: self.daily,
            day: &self.day,
            cost: self.cost,
            token: &self.token,
            hold: self.hold,
        }
    }
}

/// Slots reserved in this process, waiting for the store's word.
#[derive(Debug)]
pub struct Ask {
    pub shared: Shared,
    slot: usize,
    lease: u64,
    now: Instant,
}

/// What a step decided.
#[derive(Debug)]
pub enum Step {
    Done(Acquire),
    /// Ask the store (without the pool's lock), then [`KeyPool::settle`].
    Ask(Ask),
}

impl KeyPool {
    /// Looks at the keys from where `round` stopped, round-robin, for up to `want` units
    /// (a v2 batch). No store I/O when the store shares quotas: its answer comes through
    /// [`KeyPool::settle`].
    pub fn step(&mut self, want: u32, now: Instant, round: &mut Round) -> Result<Step> {
        let wall = Utc::now();
        let today = utc_day();
        while round.offset < self.slots.len() {
            let i = (self.next_slot + round.offset) % self.slots.len();
            round.offset += 1;
            let daily = self.daily_cap(&self.slots[i], wall);
            let Some(grant) = self.offer(i, want, now, (wall, &today), daily, round)? else {
                continue;
            };
            let lease = self.next_lease;
            self.next_lease += 1;
            let slot = &mut self.slots[i];
            for w in &mut slot.windows {
                w.hold(lease, grant);
            }
            slot.in_flight += 1;
            if !self.store.shares_quota() {
                if daily.is_some() {
                    self.store
                        .ledger_add(self.slots[i].key.id(), &today, u64::from(grant))?;
                }
                return Ok(Step::Done(self.granted(i, lease, grant, now, None)));
            }
            let slot = &self.slots[i];
            return Ok(Step::Ask(Ask {
                shared: Shared {
                    key: slot.key.id().clone(),
                    windows: slot.limits(),
                    daily,
                    day: today,
                    cost: grant,
                    token: format!("{}-{lease}", self.instance),
                    hold: self.hold,
                },
                slot: i,
                lease,
                now,
            }));
        }
        Ok(Step::Done(if round.usable > 0 {
            Acquire::WaitUntil(round.wake)
        } else if self.slots.iter().all(|s| s.rejected.is_some()) {
            Acquire::NoKeys
        } else {
            Acquire::Exhausted {
                resumes_at: round.resumes_at.unwrap_or_else(next_utc_midnight),
            }
        }))
    }

    /// Takes the store's answer to an [`Ask`]: a lease, or `None` to step on to the next key.
    pub fn settle(
        &mut self,
        ask: Ask,
        answer: Result<SharedGrant>,
        round: &mut Round,
    ) -> Result<Option<Acquire>> {
        let Ask {
            shared,
            slot: i,
            lease,
            now,
        } = ask;
        let granted = match answer {
            Ok(SharedGrant::Granted(n)) if n > 0 => n,
            other => {
                let slot = &mut self.slots[i];
                for w in &mut slot.windows {
                    w.forget(lease, u32::MAX);
                }
                slot.in_flight = slot.in_flight.saturating_sub(1);
                match other? {
                    SharedGrant::WaitMs(ms) => {
                        round.wake = earliest(round.wake, Some(now + Duration::from_millis(ms)));
                    }
                    _ => {
                        slot.exhausted_day = Some(shared.day);
                        sooner(&mut round.resumes_at, next_utc_midnight());
                        round.usable = round.usable.saturating_sub(1);
                    }
                }
                return Ok(None);
            }
        };
        // The day had fewer units left than the batch asked for.
        for w in &mut self.slots[i].windows {
            w.forget(lease, shared.cost.saturating_sub(granted));
        }
        let lease = self.granted(i, lease, granted, now, Some(shared.token));
        Ok(Some(lease))
    }

    fn granted(
        &mut self,
        i: usize,
        id: u64,
        cost: u32,
        now: Instant,
        token: Option<String>,
    ) -> Acquire {
        let slot = &mut self.slots[i];
        slot.sent += u64::from(cost);
        self.next_slot = i + 1;
        Acquire::Granted(Lease {
            key: slot.key.clone(),
            cost,
            id,
            slot: i,
            sent_at: now,
            token,
        })
    }

    /// How many units key `i` may send now, if any; notes in `round` why not.
    fn offer(
        &mut self,
        i: usize,
        want: u32,
        now: Instant,
        (wall, today): (DateTime<Utc>, &str),
        daily: Option<u32>,
        round: &mut Round,
    ) -> Result<Option<u32>> {
        let shared = self.store.shares_quota();
        let slot = &mut self.slots[i];
        if slot.rejected.is_some() {
            return Ok(None);
        }
        if slot.figures.as_ref().is_some_and(|f| !f.same_day(wall)) {
            slot.wants_figures = true;
        }
        if slot.exhausted_day.as_deref() == Some(today) {
            sooner(&mut round.resumes_at, next_utc_midnight());
            return Ok(None);
        }
        if let Some(until) = slot.month_out_until.filter(|&t| t > wall.timestamp()) {
            sooner(&mut round.resumes_at, until);
            return Ok(None);
        }
        // A store that shares quotas checks the day itself, in the same atomic step.
        let mut left = match daily.filter(|_| !shared) {
            None => u64::MAX,
            Some(limit) => {
                let used = self.store.ledger_used(slot.key.id(), today)?;
                if used >= u64::from(limit) {
                    slot.exhausted_day = Some(today.to_string());
                    sooner(&mut round.resumes_at, next_utc_midnight());
                    return Ok(None);
                }
                u64::from(limit) - used
            }
        };
        if let Some(f) = &slot.figures {
            // Out for the day by VirusTotal's count: that, not a spent hour, is what a
            // waiting job and a refused lookup must be told.
            if let Some(0) = f.day_left(slot.sent, wall) {
                slot.exhausted_day = Some(today.to_string());
                sooner(&mut round.resumes_at, next_utc_midnight());
                return Ok(None);
            }
            if let Some(0) = f.month_left(slot.sent, wall) {
                let until = figures::next_month(wall);
                slot.month_out_until = Some(until);
                sooner(&mut round.resumes_at, until);
                return Ok(None);
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
        round.usable += 1;
        if let Some(until) = slot.rest_until.filter(|&t| t > now) {
            round.wake = earliest(round.wake, Some(until));
            return Ok(None);
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
                round.wake = earliest(round.wake, w.next_free());
            }
            return Ok(None);
        }
        Ok(Some(grant))
    }
}
