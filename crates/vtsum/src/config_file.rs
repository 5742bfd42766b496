//! The config file's fields (`~/.config/vtsum/config.toml`, `--config`; the annotated
//! example is `examples/config.toml`), and reading its text. Only serde and toml here, so
//! the fuzz target and its stable replay include this file as it is.

use serde::Deserialize;

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
    /// A file of domains, IPs and URL prefixes never to look up (`--skip`): `scan`,
    /// `extract` and the web app's jobs.
    pub skip: Option<std::path::PathBuf>,
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
    /// Parses a config file's text; the error names the line and never shows a secret.
    pub fn parse(text: &str) -> std::result::Result<FileConfig, String> {
        toml::from_str(text).map_err(|e| super::config_error::describe(text, &e))
    }
}
