//! Per-key quotas as VirusTotal enforces them: strict sliding windows counted from the
//! moment a request arrives, and a count per UTC day.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Limits of every key.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// `(n, w)`: at most `n` admitted requests in any interval of length `w`.
    pub windows: Vec<(u32, Duration)>,
    /// At most this many a UTC day.
    pub daily: Option<u32>,
}

/// The UTC day number (days since 1970-01-01).
pub fn utc_day() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0)
}

/// One key's admitted requests.
#[derive(Debug, Default)]
pub struct KeyQuota {
    arrivals: VecDeque<Instant>,
    day: u64,
    day_used: u64,
    hour_used: u64,
    month_used: u64,
}

impl KeyQuota {
    /// Admits `cost` requests arriving at `now` if every limit allows all of them; `daily`
    /// is this key's allowance for the day (the limits' own, or a per-key preset).
    pub fn admit(&mut self, limits: &Limits, daily: Option<u32>, now: Instant, cost: u32) -> bool {
        self.roll_day();
        let longest = limits.windows.iter().map(|w| w.1).max().unwrap_or_default();
        while self
            .arrivals
            .front()
            .is_some_and(|&t| now.duration_since(t) >= longest)
        {
            self.arrivals.pop_front();
        }
        for &(n, w) in &limits.windows {
            // Arrivals in (now - w, now].
            let recent = self
                .arrivals
                .iter()
                .rev()
                .take_while(|&&t| now.duration_since(t) < w)
                .count();
            if recent + cost as usize > n as usize {
                return false;
            }
        }
        if let Some(d) = daily {
            if self.day_used + u64::from(cost) > u64::from(d) {
                return false;
            }
        }
        for _ in 0..cost {
            self.arrivals.push_back(now);
        }
        self.day_used += u64::from(cost);
        self.hour_used += u64::from(cost);
        self.month_used += u64::from(cost);
        true
    }

    fn roll_day(&mut self) {
        let today = utc_day();
        if self.day != today {
            self.day = today;
            self.day_used = 0;
        }
    }

    /// Requests counted today.
    pub fn used_today(&mut self) -> u64 {
        self.roll_day();
        self.day_used
    }

    /// Pretends `used` requests were already spent today.
    pub fn set_used_today(&mut self, used: u64) {
        self.roll_day();
        self.day_used = used;
    }

    /// Pretends `used` requests were already spent this month.
    pub fn set_used_month(&mut self, used: u64) {
        self.month_used = used;
    }

    pub fn used_hour(&self) -> u64 {
        self.hour_used
    }

    pub fn used_month(&self) -> u64 {
        self.month_used
    }
}
