//! A key's daily allowance and VirusTotal's figures applied to the pool: `--rate`'s daily
//! limit wins, then VirusTotal's allowance, then the fallback (the public API's 500);
//! requests VirusTotal counted beyond the ledger come off it (see [`super::figures`]).

use chrono::{DateTime, Utc};

use super::figures::Figures;
use super::{utc_day, DailySource, KeyPool, Slot};
use crate::key::{ApiKey, KeyId};
use crate::vt::RemoteQuota;

impl KeyPool {
    /// A key's daily allowance and where it comes from.
    pub(super) fn allowance(&self, slot: &Slot) -> (Option<u64>, DailySource) {
        if let Some(d) = self.daily {
            return (Some(u64::from(d)), DailySource::Rate);
        }
        if let Some(a) = slot.figures.as_ref().and_then(Figures::daily_allowed) {
            return (Some(a), DailySource::VirusTotal);
        }
        match self.daily_fallback {
            Some(d) => (Some(u64::from(d)), DailySource::Default),
            None => (None, DailySource::None),
        }
    }

    /// The cap on the ledger's count today: the allowance less use VirusTotal saw elsewhere.
    pub(super) fn daily_cap(&self, slot: &Slot, now: DateTime<Utc>) -> Option<u32> {
        let (allowance, _) = self.allowance(slot);
        let cap = match &slot.figures {
            Some(f) => f.daily_cap(allowance?, now),
            None => allowance?,
        };
        Some(cap.min(u64::from(u32::MAX)) as u32)
    }

    /// The keys whose VirusTotal figures should be read now (usable keys only).
    pub fn wants_figures(&self) -> Vec<ApiKey> {
        self.slots
            .iter()
            .filter(|s| s.wants_figures && s.rejected.is_none())
            .map(|s| s.key.clone())
            .collect()
    }

    /// Notes that a key's figures are being read.
    pub fn figures_pending(&mut self, key: &KeyId) {
        if let Some(slot) = self.slots.iter_mut().find(|s| s.key.id() == key) {
            slot.wants_figures = false;
        }
    }

    /// Takes VirusTotal's figures for a key (or why they could not be read). A day the
    /// figures say is spent ends the key's day; failures fall back to `--rate` and the
    /// ledger, said once.
    /// `ledger` is the ledger's count for the key today, read by the caller outside the
    /// pool's lock.
    pub fn apply_figures(
        &mut self,
        key: &KeyId,
        read: std::result::Result<RemoteQuota, String>,
        ledger: u64,
    ) {
        let Some(i) = self.slots.iter().position(|s| s.key.id() == key) else {
            return;
        };
        let wall = Utc::now();
        let today = utc_day();
        self.slots[i].wants_figures = false;
        let quota = match read {
            Ok(q) => q,
            Err(why) => {
                if !self.figures_warned {
                    self.figures_warned = true;
                    tracing::warn!(
                        "cannot read VirusTotal's quota figures for key {key} ({why}); \
                         scheduling by --rate and the local ledger"
                    );
                }
                return;
            }
        };
        let slot = &mut self.slots[i];
        slot.figures = Some(Figures::new(quota, wall, ledger, slot.sent));
        if let Some(cap) = self.daily_cap(&self.slots[i], wall) {
            if ledger >= u64::from(cap) {
                let slot = &mut self.slots[i];
                if slot.exhausted_day.as_deref() != Some(&today) {
                    tracing::info!("key {key} is out of daily quota (VirusTotal's figures)");
                }
                slot.exhausted_day = Some(today);
            }
        }
    }
}
