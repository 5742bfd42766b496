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

/// VirusTotal's public API: 4 requests a minute, 500 a day. Written once here.
pub const PUBLIC_API: &str = "4/min,500/day";
/// The public API's sliding window alone: vtsum's default, with each key's daily allowance
/// read from VirusTotal (else [`PUBLIC_API_DAILY`]).
pub const PUBLIC_API_WINDOW: &str = "4/min";
/// The public API's daily allowance.
pub const PUBLIC_API_DAILY: u32 = 500;

impl RateSpec {
    /// VirusTotal's public API: 4 requests a minute, 500 a day.
    pub fn public_api() -> RateSpec {
        PUBLIC_API.parse().expect("valid built-in rate")
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
            let window = parse_period(per.trim()).map_err(|why| err(&why))?;
            if window.is_zero() {
                return Err(err("the period must be longer than 0"));
            }
            if window.subsec_nanos() % 1_000_000 != 0 {
                // Windows are kept and shown in whole milliseconds.
                return Err(err("periods must be whole milliseconds"));
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

/// The longest duration any setting accepts: ten years. Longer values are surely typos, and
/// would overflow the clocks they are added to.
pub const MAX_DURATION: Duration = Duration::from_secs(3650 * 86_400);

/// Parses a duration such as `30s`, `7d`, `1.5h`, `250ms` or `min` (a bare unit means one).
/// The error says what is wrong with it, for the caller to name the setting.
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    parse_period(text.trim())
}

fn parse_period(text: &str) -> std::result::Result<Duration, String> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = if number.is_empty() {
        1.0
    } else {
        number
            .parse()
            .map_err(|_| "the number before the unit is not valid".to_string())?
    };
    let unit_secs = match unit.trim() {
        "ms" => 0.001,
        "s" | "sec" | "second" | "seconds" => 1.0,
        "m" | "min" | "minute" | "minutes" => 60.0,
        "h" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        "" => return Err("a unit is missing: use ms, s, min, h or d (e.g. 30s)".into()),
        _ => return Err("unknown unit: use ms, s, min, h or d (e.g. 30s, 7d)".into()),
    };
    // The float product of a huge count and a unit is finite yet far beyond any clock:
    // compare before converting, so no value can reach `Duration`'s panicking paths.
    let secs = n * unit_secs;
    if !(secs.is_finite() && secs <= MAX_DURATION.as_secs_f64()) {
        return Err("too long: at most 3650 days".into());
    }
    // Whole nanoseconds, rounded: `0.007s` is 7 ms, not 6.999999 ms. At most 3.2e17 ns,
    // well inside u64.
    Ok(Duration::from_nanos((secs * 1e9).round() as u64))
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

    #[test]
    fn huge_and_odd_values_are_errors_not_panics() {
        for bad in [
            "4/99999999999999999999d",
            "4/18446744073709551615s",
            "4/1e400s",
            "4/0.5ms",
            "99999999999/min",
        ] {
            let e = bad.parse::<RateSpec>().unwrap_err().to_string();
            assert!(e.contains("invalid rate"), "{bad}: {e}");
        }
        for bad in [
            "99999999999999999999d",
            "18446744073709551615s",
            "3651d",
            "1..5s",
            "30",
            "x",
        ] {
            let e = parse_duration(bad).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
        assert_eq!(parse_duration("3650d"), Ok(MAX_DURATION));
        assert_eq!(parse_duration("7ms"), Ok(Duration::from_millis(7)));
        assert_eq!(parse_duration("0.1s"), Ok(Duration::from_millis(100)));
    }

    proptest::proptest! {
        /// Any text at all: an answer or an error with a reason, never a panic; what parses
        /// prints back as the same limits.
        #[test]
        fn any_text_parses_or_says_why(text in "\\PC{0,40}", near in "[0-9./a-z, ]{0,30}") {
            for t in [&text, &near] {
                match t.parse::<RateSpec>() {
                    Ok(spec) => proptest::prop_assert_eq!(spec.to_string().parse::<RateSpec>().ok(), Some(spec)),
                    Err(e) => proptest::prop_assert!(e.to_string().contains("invalid rate")),
                }
                match parse_duration(t) {
                    Ok(d) => proptest::prop_assert!(d <= MAX_DURATION),
                    Err(why) => proptest::prop_assert!(!why.is_empty()),
                }
            }
        }
    }
}
