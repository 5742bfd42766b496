//! Settings merged in one place: command-line flags win over environment variables (clap
//! reads both), which win over the config file, which wins over the defaults.
//!
//! `examples/config.toml` is the annotated example of the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use vtsum_core::engine::EngineConfig;
use vtsum_core::rate::{parse_duration, RateSpec};
use vtsum_core::vt::{ApiVersion, ClientConfig, DEFAULT_API_URL};
use vtsum_core::ApiKey;

use crate::cli::{ApiArgs, ApiVersionArg, GlobalArgs, QueueArgs};

/// The config file's contents; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub api_keys: Option<Vec<String>>,
    pub api_url: Option<String>,
    pub api_version: Option<String>,
    pub rate: Option<String>,
    pub store: Option<String>,
    pub concurrency: Option<usize>,
    pub threshold: Option<u32>,
    pub max_age: Option<String>,
    pub max_age_unknown: Option<String>,
    pub retries: Option<u32>,
    pub timeout: Option<String>,
    pub retry_backoff: Option<String>,
    #[serde(default)]
    pub serve: ServeConfig,
}

/// The `[serve]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    pub bind: Option<String>,
    pub upload_limit: Option<usize>,
}

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
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| {
            format!(
                "config file {} is not valid (see examples/config.toml for the fields)",
                path.display()
            )
        })
    }
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
pub const DEFAULT_RATE: &str = "4/min";
/// The public API's daily allowance, used when VirusTotal's figures cannot be read.
pub const DEFAULT_DAILY: u32 = 500;

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
            Some(other) => bail!("api_version {other:?} in the config file: use \"v3\" or \"v2\""),
        },
    };
    let base_url = api
        .api_url
        .clone()
        .or_else(|| file.api_url.clone())
        .unwrap_or_else(|| DEFAULT_API_URL.to_string());
    let base_url = base_url.trim_end_matches('/').to_string();
    if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
        bail!("API URL {base_url:?} must start with https:// or http://");
    }
    Ok(EngineConfig {
        keys,
        rate,
        daily_fallback,
        client: ClientConfig {
            base_url,
            version,
            timeout: duration(file.timeout.as_deref(), "timeout", "30s")?,
        },
        concurrency: tuning.concurrency.or(file.concurrency).unwrap_or(8).max(1),
        max_age_found: duration(
            tuning.max_age.as_deref().or(file.max_age.as_deref()),
            "max-age",
            "7d",
        )?,
        max_age_unknown: duration(
            tuning
                .max_age_unknown
                .as_deref()
                .or(file.max_age_unknown.as_deref()),
            "max-age-unknown",
            "1d",
        )?,
        retries: file.retries.unwrap_or(4),
        backoff: duration(
            std::env::var("VTSUM_RETRY_BACKOFF")
                .ok()
                .as_deref()
                .or(file.retry_backoff.as_deref()),
            "retry_backoff",
            "1s",
        )?,
    })
}

/// The queue's claim timeout: `--claim-after`, else 15 s.
pub fn claim_after(args: &QueueArgs) -> Result<Duration> {
    duration(args.claim_after.as_deref(), "claim-after", "15s")
}

fn duration(value: Option<&str>, name: &str, default: &str) -> Result<Duration> {
    let text = value.unwrap_or(default);
    parse_duration(text).with_context(|| {
        format!("{name} {text:?} is not a duration: use e.g. 30s, 10min, 12h or 7d")
    })
}

/// Whether a path names standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}
