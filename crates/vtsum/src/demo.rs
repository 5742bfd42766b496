//! `--demo`: the built-in fake VirusTotal, started in this process with demo keys, so a
//! newcomer sees the real flow (cache, quota scheduling, every verdict) without a key or a
//! network. Nothing real is contacted, and the demo keeps its own store so fake answers
//! never mix with a real cache.

use anyhow::{Context, Result};

use crate::cli::{ApiArgs, GlobalArgs};
use crate::settings::{default_db_path, store_url, FileConfig};

/// The demo's keys: obviously not real.
pub const DEMO_KEYS: [&str; 4] = ["demo-key-1", "demo-key-2", "demo-key-3", "demo-key-4"];
/// Fast enough to finish the example in seconds, slow enough to watch the scheduler.
pub const DEMO_RATE: &str = "4/1s,500/day";
/// The corpus seed `examples/hashes.txt` was drawn from.
pub const DEMO_SEED: u64 = 42;

/// A running demo server.
pub struct Demo {
    pub server: fakevt::FakeVt,
}

/// Starts the demo when `--demo` asks for it and points `api` at it. Returns the demo (keep
/// it alive while the command runs) and the store URL the command should use.
pub async fn resolve(
    global: &GlobalArgs,
    file: &FileConfig,
    api: &mut ApiArgs,
) -> Result<(Option<Demo>, String)> {
    if !api.demo {
        return Ok((None, store_url(global, file)));
    }
    // A --rate (or VT_RATE) given with --demo is checked like any other and used by both
    // the fake and the client; otherwise the demo's own rate.
    let rate = api.rate.clone().unwrap_or_else(|| DEMO_RATE.to_string());
    let demo = Demo::start(&rate).await?;
    demo.apply(api, &rate);
    Ok((Some(demo), Demo::store_url(global)))
}

impl Demo {
    /// Starts the fake on a free loopback port with per-key limits `rate`.
    pub async fn start(rate: &str) -> Result<Demo> {
        let server = fakevt::spawn(fake_config(
            &DEMO_KEYS.map(String::from),
            rate,
            DEMO_SEED,
            200,
        )?)
        .await
        .context("cannot start the demo's fake VirusTotal")?;
        Ok(Demo { server })
    }

    /// Points the API settings at the fake with the demo keys and rate.
    pub fn apply(&self, api: &mut ApiArgs, rate: &str) {
        api.api_keys = DEMO_KEYS.iter().map(|k| k.to_string()).collect();
        api.api_url = Some(self.server.url());
        api.rate = Some(rate.to_string());
    }

    /// The demo's store: its own SQLite file unless `--store` says otherwise.
    pub fn store_url(global: &GlobalArgs) -> String {
        global
            .store
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", default_db_path("vtsum-demo.db").display()))
    }
}

/// A fake's configuration from command-line style values.
pub fn fake_config(
    keys: &[String],
    rate: &str,
    seed: u64,
    corpus_size: usize,
) -> Result<fakevt::Config> {
    let spec: vtsum_core::rate::RateSpec = rate.parse()?;
    Ok(fakevt::Config {
        keys: keys.to_vec(),
        limits: fakevt::Limits {
            windows: spec.sliding().map(|l| (l.count, l.window)).collect(),
            daily: spec.daily(),
        },
        seed,
        corpus_size,
        addr: ([127, 0, 0, 1], 0).into(),
    })
}
