//! A key's state for display (`vtsum quota`, the web panel, `/metrics`), and the pool's
//! counters. Never holds a key, only its id.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::window::Window;
use super::{utc_day, DailySource, KeyPool};
use crate::key::KeyId;
use crate::vt::RemoteQuota;

/// Where a key stands, as pages, the API, metrics and the CLI show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Usable now or as soon as a window slot frees.
    Ok,
    /// Resting after a refusal, or until the next hour's allowance.
    Resting,
    /// Out of quota for the day (or the month).
    Exhausted,
    /// Refused by VirusTotal (401/403): not used again in this process.
    Rejected,
}

impl std::fmt::Display for KeyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl KeyState {
    /// The snake_case name the API and pages use.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Ok => "ok",
            KeyState::Resting => "resting",
            KeyState::Exhausted => "exhausted",
            KeyState::Rejected => "rejected",
        }
    }
}

/// A key's state for display (CLI `quota`, web panel, metrics). Never holds the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyStatus {
    pub id: KeyId,
    pub state: KeyState,
    /// Requests that may be sent right now under the sliding windows.
    pub free_now: u32,
    /// Requests counted today: the larger of the ledger and VirusTotal's count.
    pub used_today: u64,
    /// The ledger's own count today (requests of the processes on this store).
    pub ledger_today: u64,
    /// The daily allowance the scheduler uses.
    pub daily_limit: Option<u32>,
    /// Where `daily_limit` comes from.
    pub daily_source: DailySource,
    /// VirusTotal's figures as last read, if they could be.
    pub remote: Option<RemoteQuota>,
    /// Requests this process sent with the key.
    pub sent: u64,
    pub rejected_reason: Option<String>,
}

impl KeyPool {
    /// Steady-state requests per second of the keys still usable today.
    pub fn per_second(&self) -> f64 {
        let today = utc_day();
        let usable = self
            .slots
            .iter()
            .filter(|s| s.rejected.is_none() && s.exhausted_day.as_deref() != Some(&today))
            .count();
        self.per_second * usable as f64
    }

    /// Requests sent by this process, per key id.
    pub fn sent(&self) -> BTreeMap<String, u64> {
        self.slots
            .iter()
            .map(|s| (s.key.id().to_string(), s.sent))
            .collect()
    }

    /// Every key's state, for display.
    /// The key ids, in the order [`KeyPool::status`] wants their ledger counts.
    pub fn key_ids(&self) -> Vec<KeyId> {
        self.slots.iter().map(|s| s.key.id().clone()).collect()
    }

    /// Every key's state; `ledgers` holds each key's ledger count today (read by the caller
    /// outside the pool's lock, in [`KeyPool::key_ids`] order).
    pub fn status(&mut self, now: Instant, ledgers: &[u64]) -> Vec<KeyStatus> {
        let wall = Utc::now();
        let today = utc_day();
        let mut out = Vec::with_capacity(self.slots.len());
        for i in 0..self.slots.len() {
            let (allowance, daily_source) = self.allowance(&self.slots[i]);
            let cap = self.daily_cap(&self.slots[i], wall);
            let slot = &mut self.slots[i];
            for w in &mut slot.windows {
                w.prune(now);
            }
            let ledger_today = ledgers.get(i).copied().unwrap_or(0);
            let elsewhere = slot.figures.as_ref().map_or(0, |f| f.used_elsewhere(wall));
            let exhausted = slot.exhausted_day.as_deref() == Some(&today)
                || slot.month_out_until.is_some_and(|t| t > wall.timestamp())
                || cap.is_some_and(|l| ledger_today >= u64::from(l));
            let state = if slot.rejected.is_some() {
                KeyState::Rejected
            } else if exhausted {
                KeyState::Exhausted
            } else if slot.rest_until.is_some_and(|t| t > now) {
                KeyState::Resting
            } else {
                KeyState::Ok
            };
            out.push(KeyStatus {
                id: slot.key.id().clone(),
                state,
                free_now: slot
                    .windows
                    .iter()
                    .map(Window::free)
                    .min()
                    .unwrap_or(u32::MAX),
                used_today: ledger_today + elsewhere,
                ledger_today,
                daily_limit: allowance.map(|a| a.min(u64::from(u32::MAX)) as u32),
                daily_source,
                remote: slot.figures.as_ref().map(|f| f.quota.clone()),
                sent: slot.sent,
                rejected_reason: slot.rejected.clone(),
            });
        }
        out
    }
}
