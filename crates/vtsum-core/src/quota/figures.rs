//! VirusTotal's own figures for a key (`overall_quotas`: hourly, daily and monthly `used`
//! and `allowed`), and what they mean for the scheduler.
//!
//! The local ledger only knows the requests of processes on this store; VirusTotal also
//! counts a colleague's script, the web UI and other machines. So use counts as the larger
//! of the two: the requests VirusTotal had counted beyond our ledger when it was read are
//! taken off the day's allowance ([`Figures::daily_cap`]). The allowance itself is
//! VirusTotal's (a premium key's 1,000 a day, a new account's 100) unless `--rate` names a
//! daily limit, which wins. Requests in flight while the figures are read are counted by
//! the ledger but perhaps not yet by VirusTotal, so the estimate of use elsewhere can be
//! low by at most those requests; a refusal reads the figures again.
//!
//! Hourly and monthly figures are honoured as what was left when read, less what this
//! process sent since; they lapse at the next hour or month, when they are read again.

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::vt::RemoteQuota;

/// Where a key's daily allowance comes from, for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DailySource {
    /// `--rate` names a daily limit.
    Rate,
    /// VirusTotal's `overall_quotas`.
    VirusTotal,
    /// The public API's 500 a day: VirusTotal's figures are not known.
    Default,
    /// No daily limit at all (`--rate` without one, and no figures).
    None,
}

/// What VirusTotal said, and the local counts at that moment.
#[derive(Debug, Clone)]
pub struct Figures {
    pub quota: RemoteQuota,
    read_at: DateTime<Utc>,
    /// The ledger's count for the UTC day of `read_at`, when read.
    ledger_at: u64,
    /// This process's requests with the key, when read.
    sent_at: u64,
}

impl Figures {
    pub fn new(quota: RemoteQuota, read_at: DateTime<Utc>, ledger_at: u64, sent_at: u64) -> Self {
        Figures {
            quota,
            read_at,
            ledger_at,
            sent_at,
        }
    }

    /// Whether the figures were read on the UTC day of `now`.
    pub fn same_day(&self, now: DateTime<Utc>) -> bool {
        self.read_at.date_naive() == now.date_naive()
    }

    /// VirusTotal's daily allowance for the key.
    pub fn daily_allowed(&self) -> Option<u64> {
        self.quota.daily.map(|(_, allowed)| allowed)
    }

    /// Requests VirusTotal counted today that our ledger did not (someone else's).
    pub fn used_elsewhere(&self, now: DateTime<Utc>) -> u64 {
        match self.quota.daily {
            Some((used, _)) if self.same_day(now) => used.saturating_sub(self.ledger_at),
            _ => 0,
        }
    }

    /// The cap for the ledger's count today: the allowance less what was used elsewhere.
    pub fn daily_cap(&self, allowance: u64, now: DateTime<Utc>) -> u64 {
        allowance.saturating_sub(self.used_elsewhere(now))
    }

    /// Requests left today by VirusTotal's own count, or `None` when the figures are from
    /// another day. When none are left, the day is over for the key whatever the hour says.
    pub fn day_left(&self, sent: u64, now: DateTime<Utc>) -> Option<u64> {
        let (used, allowed) = self.quota.daily?;
        self.same_day(now)
            .then(|| allowed.saturating_sub(used + sent.saturating_sub(self.sent_at)))
    }

    /// Requests left this hour, or `None` when the figures are from another hour.
    pub fn hour_left(&self, sent: u64, now: DateTime<Utc>) -> Option<u64> {
        let (used, allowed) = self.quota.hourly?;
        let same = self.same_day(now) && self.read_at.hour() == now.hour();
        same.then(|| allowed.saturating_sub(used + sent.saturating_sub(self.sent_at)))
    }

    /// Requests left this month, or `None` when the figures are from another month.
    pub fn month_left(&self, sent: u64, now: DateTime<Utc>) -> Option<u64> {
        let (used, allowed) = self.quota.monthly?;
        let same = self.read_at.year() == now.year() && self.read_at.month() == now.month();
        same.then(|| allowed.saturating_sub(used + sent.saturating_sub(self.sent_at)))
    }
}

/// Unix seconds of the start of the next UTC hour.
pub fn next_hour(now: DateTime<Utc>) -> i64 {
    let start = now.timestamp() - i64::from(now.minute()) * 60 - i64::from(now.second());
    start + 3600
}

/// Unix seconds of the first day of the next UTC month, 00:00.
pub fn next_month(now: DateTime<Utc>) -> i64 {
    let (y, m) = if now.month() == 12 {
        (now.year() + 1, 1)
    } else {
        (now.year(), now.month() + 1)
    };
    Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0)
        .single()
        .map_or(now.timestamp() + 31 * 86_400, |t| t.timestamp())
}

/// Seconds from `now` until `unix`, at least zero.
pub fn secs_until(unix: i64, now: DateTime<Utc>) -> u64 {
    (unix - now.timestamp()).max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration as ChronoDuration;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 31, h, m, 7).unwrap()
    }

    fn figures(daily: (u64, u64), ledger: u64) -> Figures {
        Figures::new(
            RemoteQuota {
                hourly: Some((10, 20)),
                daily: Some(daily),
                monthly: Some((100, 103)),
            },
            at(10, 30),
            ledger,
            5,
        )
    }

    #[test]
    fn use_elsewhere_comes_off_the_allowance_only_on_the_same_day() {
        let f = figures((497, 500), 0);
        assert_eq!(f.daily_cap(500, at(23, 59)), 3);
        let f = figures((497, 500), 400);
        assert_eq!(f.daily_cap(500, at(11, 0)), 403);
        let tomorrow = at(10, 0) + ChronoDuration::days(1);
        assert_eq!(f.daily_cap(500, tomorrow), 500);
        // Our ledger ahead of VirusTotal (requests in flight): nothing elsewhere.
        assert_eq!(figures((3, 500), 9).daily_cap(500, at(11, 0)), 500);
    }

    #[test]
    fn hour_and_month_count_what_was_sent_since() {
        let f = figures((0, 500), 0);
        assert_eq!(f.hour_left(5, at(10, 59)), Some(10));
        assert_eq!(f.hour_left(12, at(10, 59)), Some(3));
        assert_eq!(f.hour_left(12, at(11, 0)), None);
        assert_eq!(f.month_left(8, at(23, 0)), Some(0));
        assert_eq!(next_hour(at(10, 30)), at(11, 0).timestamp() - 7);
        assert_eq!(
            next_month(at(10, 30)),
            Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0)
                .unwrap()
                .timestamp()
        );
    }
}
