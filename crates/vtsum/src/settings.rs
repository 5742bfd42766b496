//! Settings merged in one place: command-line flags win over environment variables (clap
//! reads both), which win over the config file, which wins over the defaults.
//!
//! `examples/config.toml` is the annotated example of the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use vtsum_core::engine::EngineConfig;
use vtsum_core::rate::{parse_duration, RateSpec};
use vtsum_core::vt::{ApiVersion, ClientConfig, DEFAULT_API_URL};
use vtsum_core::ApiKey;

use crate::cli::{ApiArgs, ApiVersionArg, GlobalArgs, QueueArgs};
use crate::exit::bad_input;

/// Largest config file read: it is a few lines, and `--config /dev/zero` must not eat memory.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

pub use crate::config_file::FileConfig;

impl FileConfig {
    /// Reads `--config`/`VTSUM_CONFIG`, else the default path if it exists, else nothing.
    pub fn load(global: &GlobalArgs) -> Result<FileConfig> {
        let path = match &global.config {
            Some(p) => p.clone(),
            None => match dirs::config_dir().map(|d| d.join("vtsum").join("config.toml")) {
                Some(p) if p.exists() => p,
                _ => return Ok(FileConfig::default()),
            },
        };
        let text = read_bounded(&path)?;
        FileConfig::parse(&text).map_err(|why| {
            bad_input(format!(
                "config file {} is not valid: {why}\n(see examples/config.toml for the fields)",
                path.display()
            ))
        })
    }
}

/// All of `from` if it holds at most `max` bytes, else `None` (reading one byte past the
/// bound, never more): every file a user names is bounded this way.
pub fn read_at_most(from: impl std::io::Read, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    from.take(max + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= max).then_some(bytes))
}

fn read_bounded(path: &Path) -> Result<String> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let bytes = read_at_most(file, MAX_CONFIG_BYTES)
        .with_context(|| format!("cannot read config file {}", path.display()))?
        .ok_or_else(|| {
            bad_input(format!(
                "config file {} is larger than 1 MiB: is it the right file?",
                path.display()
            ))
        })?;
    String::from_utf8(bytes)
        .map_err(|_| bad_input(format!("config file {} is not UTF-8 text", path.display())))
}

/// The store URL: `--store`/`VTSUM_STORE`, the config file, else SQLite in the data dir.
pub fn store_url(global: &GlobalArgs, file: &FileConfig) -> String {
    global
        .store
        .clone()
        .or_else(|| file.store.clone())
        .unwrap_or_else(|| format!("sqlite:{}", default_db_path("vtsum.db").display()))
}

/// A file in the platform data dir, e.g. `~/.local/share/vtsum/vtsum.db`.
pub fn default_db_path(name: &str) -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("vtsum")
        .join(name)
}

/// The per-key rate without `--rate`: the public API's sliding window.
pub const DEFAULT_RATE: &str = vtsum_core::rate::PUBLIC_API_WINDOW;
/// The public API's daily allowance, used when VirusTotal's figures cannot be read.
pub const DEFAULT_DAILY: u32 = vtsum_core::rate::PUBLIC_API_DAILY;

/// Scan options that also exist in the config file.
#[derive(Debug, Default, Clone)]
pub struct Tuning {
    pub concurrency: Option<usize>,
    pub max_age: Option<String>,
    pub max_age_unknown: Option<String>,
}

/// Resolves the engine's settings. Keys come from flags/env, then the config file.
pub fn engine_config(api: &ApiArgs, file: &FileConfig, tuning: &Tuning) -> Result<EngineConfig> {
    let mut keys: Vec<ApiKey> = api
        .api_keys
        .iter()
        .flat_map(|k| ApiKey::parse_list(k))
        .collect();
    if keys.is_empty() {
        keys = file
            .api_keys
            .iter()
            .flatten()
            .flat_map(|k| ApiKey::parse_list(k))
            .collect();
    }
    keys.dedup_by(|a, b| a.id() == b.id());
    // Without --rate: the public API's 4 a minute, and VirusTotal's own daily allowance
    // for each key (500 when its figures cannot be read). A daily limit in --rate wins.
    let (rate, daily_fallback) = match api.rate.clone().or_else(|| file.rate.clone()) {
        Some(text) => (text.parse::<RateSpec>()?, None),
        None => (DEFAULT_RATE.parse::<RateSpec>()?, Some(DEFAULT_DAILY)),
    };
    let version = match api.api_version {
        Some(ApiVersionArg::V2) => ApiVersion::V2,
        Some(ApiVersionArg::V3) => ApiVersion::V3,
        None => match file.api_version.as_deref() {
            None | Some("v3") => ApiVersion::V3,
            Some("v2") => ApiVersion::V2,
            Some(other) => {
                return Err(bad_input(format!(
                    "api_version {other:?} in the config file: use \"v3\" or \"v2\""
                )))
            }
        },
    };
    let base_url = api
        .api_url
        .clone()
        .or_else(|| file.api_url.clone())
        .unwrap_or_else(|| DEFAULT_API_URL.to_string());
    let base_url = base_url.trim_end_matches('/').to_string();
    check_api_url(&base_url)?;
    Ok(EngineConfig {
        keys,
        rate,
        daily_fallback,
        client: ClientConfig {
            base_url,
            version,
            timeout: duration(file.timeout.as_deref(), "timeout", "30s", TIMEOUT)?,
        },
        concurrency: in_range(
            tuning.concurrency.or(file.concurrency).unwrap_or(8),
            "concurrency",
            1..=MAX_CONCURRENCY,
        )?,
        max_age_found: duration(
            tuning.max_age.as_deref().or(file.max_age.as_deref()),
            "max-age",
            "7d",
            ANY,
        )?,
        max_age_unknown: duration(
            tuning
                .max_age_unknown
                .as_deref()
                .or(file.max_age_unknown.as_deref()),
            "max-age-unknown",
            "1d",
            ANY,
        )?,
        retries: in_range(file.retries.unwrap_or(4), "retries", 0..=MAX_RETRIES)?,
        backoff: duration(
            std::env::var("VTSUM_RETRY_BACKOFF")
                .ok()
                .as_deref()
                .or(file.retry_backoff.as_deref()),
            "retry_backoff",
            "1s",
            BACKOFF,
        )?,
    })
}

/// The `--threshold` or config `threshold`, 1 to 1000 (0 would silently mean 1).
pub fn threshold(arg: Option<u32>, file: &FileConfig) -> Result<u32> {
    in_range(arg.or(file.threshold).unwrap_or(3), "threshold", 1..=1000)
}

/// The queue's claim timeout: `--claim-after`, else 15 s.
pub fn claim_after(args: &QueueArgs) -> Result<Duration> {
    duration(
        args.claim_after.as_deref(),
        "claim-after",
        "15s",
        CLAIM_AFTER,
    )
}

/// A watchlist's `--every`/`--every-unknown` or `watch run --interval`: a second to ten
/// years.
pub fn watch_duration(text: Option<&str>, name: &str, default: &str) -> Result<Duration> {
    duration(text, name, default, WATCH)
}

/// `--proxy-wait`: how long a one-hash lookup waits for a free key.
pub fn proxy_wait(text: Option<&str>) -> Result<Duration> {
    duration(text, "proxy-wait", "2min", PROXY_WAIT)
}

/// Allowed ranges of durations. Values outside make vtsum useless or hang: a zero request
/// timeout fails every request; a zero claim timeout makes workers steal each other's parts
/// all the time; an hour-long request timeout holds quota leases for an hour after a crash.
/// A zero backoff (retry at once) and a zero max-age (always ask again) are fine.
type Bounds = (Duration, Duration);
const ANY: Bounds = (Duration::ZERO, vtsum_core::rate::MAX_DURATION);
const TIMEOUT: Bounds = (Duration::from_secs(1), Duration::from_secs(600));
const BACKOFF: Bounds = (Duration::ZERO, Duration::from_secs(600));
/// A lookup waits at least a second (else nothing but cache hits is ever answered) and at
/// most an hour (no client holds a request open longer).
const PROXY_WAIT: Bounds = (Duration::from_secs(1), Duration::from_secs(3600));
const WATCH: Bounds = (Duration::from_secs(1), Duration::from_secs(3650 * 86_400));
const CLAIM_AFTER: Bounds = (Duration::from_secs(1), Duration::from_secs(86_400));
/// More requests in flight than this only queue up inside the HTTP client.
const MAX_CONCURRENCY: usize = 256;
/// Retries are spaced by a doubling backoff (capped at two minutes): more than this would
/// keep a failing hash busy for hours.
const MAX_RETRIES: u32 = 20;

fn duration(
    value: Option<&str>,
    name: &str,
    default: &str,
    (min, max): Bounds,
) -> Result<Duration> {
    let text = value.unwrap_or(default);
    let d = parse_duration(text).map_err(|why| {
        bad_input(format!(
            "{name} {:?} is not a duration ({why}): use e.g. 30s, 10min, 12h or 7d",
            shorten(text)
        ))
    })?;
    if d < min || d > max {
        return Err(bad_input(format!(
            "{name} {:?} is out of range: use {} to {}",
            shorten(text),
            human(min),
            human(max)
        )));
    }
    Ok(d)
}

fn in_range<T: PartialOrd + std::fmt::Display + Copy>(
    value: T,
    name: &str,
    range: std::ops::RangeInclusive<T>,
) -> Result<T> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(bad_input(format!(
            "{name} {value} is out of range: use {} to {}",
            range.start(),
            range.end()
        )))
    }
}

/// An http(s) URL with a host, e.g. `https://www.virustotal.com` or `http://127.0.0.1:8000`.
fn check_api_url(url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    let valid_host = host.is_some_and(|h| {
        !h.is_empty()
            && !h.contains('@')
            && h.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.:[]_".contains(c))
    });
    if !valid_host || url.len() > 2000 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad_input(format!(
            "API URL {:?} is not valid: use http(s)://host[:port], e.g. https://www.virustotal.com",
            shorten(url)
        )));
    }
    Ok(())
}

/// At most 60 characters of a user's value, for messages.
fn shorten(text: &str) -> String {
    let mut out: String = text.chars().take(60).collect();
    if text.chars().count() > 60 {
        out.push('…');
    }
    out
}

fn human(d: Duration) -> String {
    match d.as_secs() {
        0 => "0s".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}min", s / 60),
        s => format!("{s}s"),
    }
}

/// Whether a path names standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounded_read_takes_exactly_the_bound() {
        let at = |n: usize, max: u64| read_at_most(&vec![b'x'; n][..], max).unwrap();
        assert_eq!(at(5, 5).map(|b| b.len()), Some(5));
        assert_eq!(at(6, 5), None);
        assert_eq!(at(0, 0).map(|b| b.len()), Some(0));
    }

    #[test]
    fn useless_or_absurd_values_are_refused() {
        assert!(duration(Some("0s"), "timeout", "30s", TIMEOUT).is_err());
        assert!(duration(Some("99999999999999999999d"), "max-age", "7d", ANY).is_err());
        assert!(duration(Some("0s"), "claim-after", "15s", CLAIM_AFTER).is_err());
        assert_eq!(
            duration(Some("0s"), "retry_backoff", "1s", BACKOFF).unwrap(),
            Duration::ZERO
        );
        assert_eq!(
            duration(None, "timeout", "30s", TIMEOUT).unwrap(),
            Duration::from_secs(30)
        );
        for bad in [
            "http://",
            "ftp://x",
            "https://user:pw@host",
            "https://a b",
            "x",
        ] {
            assert!(check_api_url(bad).is_err(), "{bad}");
        }
        for good in [
            "https://www.virustotal.com",
            "http://127.0.0.1:8000",
            "http://[::1]:80/vt",
        ] {
            assert!(check_api_url(good).is_ok(), "{good}");
        }
    }

    proptest::proptest! {
        /// Every setting parser answers any text with a value or a message; none panics.
        #[test]
        fn every_parser_takes_any_text(text in "\\PC{0,40}", near in "[0-9.]{0,25}(ms|s|min|h|d)?") {
            for t in [&text, &near] {
                for bounds in [ANY, TIMEOUT, BACKOFF, CLAIM_AFTER] {
                    if let Err(e) = duration(Some(t), "x", "1s", bounds) {
                        proptest::prop_assert!(e.to_string().starts_with("x "));
                    }
                }
                let _ = check_api_url(t);
                let _ = FileConfig::parse(t);
                let _ = FileConfig::parse(&format!("timeout = {t:?}\nrate = {t:?}"));
            }
        }
    }
}
