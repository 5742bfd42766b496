//! Per-key rate limits, parsed from text such as `4/min,500/day` or `4/1s`.
//!
//! A limit of exactly one day is VirusTotal's daily quota: a count per UTC calendar day that
//! resets at 00:00 UTC. Every shorter limit is a strict sliding window: never more than
//! `count` requests in any interval of that length.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::error::{Error, Result};

const DAY: Duration = Duration::from_secs(86_400);

/// One limit: at most `count` requests per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub count: u32,
    pub window: Duration,
}

impl Limit {
    /// Whether this is the calendar-day quota rather than a sliding window.
    pub fn is_daily(&self) -> bool {
        self.window == DAY
    }
}

/// All the limits of a key, e.g. `4/min,500/day`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateSpec {
    limits: Vec<Limit>,
}

impl RateSpec {
    /// VirusTotal's public API: 4 requests a minute, 500 a day.
    pub fn public_api() -> RateSpec {
        "4/min,500/day".parse().expect("valid built-in rate")
    }

    /// The sliding-window limits (everything but the daily quota).
    pub fn sliding(&self) -> impl Iterator<Item = &Limit> {
        self.limits.iter().filter(|l| !l.is_daily())
    }

    /// The daily quota, if any.
    pub fn daily(&self) -> Option<u32> {
        self.limits.iter().find(|l| l.is_daily()).map(|l| l.count)
    }

    /// The steady-state request rate one key allows, per second (the tightest sliding
    /// limit; daily quotas are handled separately).
    pub fn per_second(&self) -> f64 {
        self.sliding()
            .map(|l| f64::from(l.count) / l.window.as_secs_f64())
            .fold(f64::INFINITY, f64::min)
    }
}

impl FromStr for RateSpec {
    type Err = Error;

    fn from_str(spec: &str) -> Result<RateSpec> {
        let err = |why: &str| Error::Rate {
            spec: spec.to_string(),
            why: why.to_string(),
        };
        let mut limits = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (count, per) = part
                .split_once('/')
                .ok_or_else(|| err("each limit is COUNT/PERIOD"))?;
            let count: u32 = count
                .trim()
                .parse()
                .map_err(|_| err("the count must be a whole number"))?;
            if count == 0 {
                return Err(err("a limit of 0 requests allows nothing"));
            }
            let window = parse_period(per.trim()).ok_or_else(|| {
                err("unknown period; use ms, s, min, h or day, with an optional number (4/10s)")
            })?;
            if window.is_zero() {
                return Err(err("the period must be longer than 0"));
            }
            if window > DAY {
                return Err(err("periods longer than a day are not supported"));
            }
            if window == DAY && limits.iter().any(Limit::is_daily) {
                return Err(err("only one daily limit may be given"));
            }
            limits.push(Limit { count, window });
        }
        if limits.is_empty() {
            return Err(err("no limit given"));
        }
        Ok(RateSpec { limits })
    }
}

/// Parses a duration such as `30s`, `7d`, `1.5h`, `250ms` or `min` (a bare unit means one).
pub fn parse_duration(text: &str) -> Option<Duration> {
    parse_period(text.trim())
}

fn parse_period(text: &str) -> Option<Duration> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = if number.is_empty() {
        1.0
    } else {
        number.parse().ok()?
    };
    let unit_secs = match unit.trim() {
        "ms" => 0.001,
        "s" | "sec" | "second" | "seconds" => 1.0,
        "m" | "min" | "minute" | "minutes" => 60.0,
        "h" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        _ => return None,
    };
    let secs = n * unit_secs;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

impl fmt::Display for RateSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .limits
            .iter()
            .map(|l| {
                if l.is_daily() {
                    format!("{}/day", l.count)
                } else {
                    format!("{}/{}ms", l.count, l.window.as_millis())
                }
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_public_api_default() {
        let r: RateSpec = "4/min,500/day".parse().unwrap();
        let sliding: Vec<_> = r.sliding().copied().collect();
        assert_eq!(
            sliding,
            vec![Limit {
                count: 4,
                window: Duration::from_secs(60)
            }]
        );
        assert_eq!(r.daily(), Some(500));
        assert!((r.per_second() - 4.0 / 60.0).abs() < 1e-9);
    }

    #[test]
    fn parses_compressed_test_rates() {
        let r: RateSpec = "4/1s, 100/10m, 3/250ms".parse().unwrap();
        let windows: Vec<u128> = r.sliding().map(|l| l.window.as_millis()).collect();
        assert_eq!(windows, vec![1000, 600_000, 250]);
        assert_eq!(r.daily(), None);
        assert_eq!("10/24h".parse::<RateSpec>().unwrap().daily(), Some(10));
    }

    #[test]
    fn rejects_nonsense_with_a_reason() {
        for bad in [
            "",
            "4",
            "x/min",
            "0/min",
            "4/fortnight",
            "4/0s",
            "1/2d",
            "1/day,2/d",
        ] {
            let e = bad.parse::<RateSpec>().unwrap_err().to_string();
            assert!(e.contains("invalid rate"), "{bad}: {e}");
        }
    }
}
