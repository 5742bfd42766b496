//! `vtsum quota`: each key's use and allowance, from VirusTotal and the local ledger.

use anyhow::Result;
use serde::Serialize;
use vtsum_core::engine::Engine;
use vtsum_core::store;

use crate::cli::{GlobalArgs, QuotaArgs};
use crate::demo;
use crate::exit::Exit;
use crate::settings::{default_db_path, engine_config, FileConfig, Tuning};

#[derive(Serialize)]
struct KeyQuota {
    key: String,
    /// Requests this machine's ledger counted today (UTC).
    ledger_today: u64,
    daily_limit: Option<u32>,
    /// (used, allowed) as VirusTotal reports them.
    hourly: Option<(u64, u64)>,
    daily: Option<(u64, u64)>,
    monthly: Option<(u64, u64)>,
    /// Why VirusTotal's figures are missing, if they are.
    remote_error: Option<String>,
}

/// Runs `vtsum quota`.
pub async fn run(global: &GlobalArgs, args: QuotaArgs) -> Result<Exit> {
    let file = FileConfig::load(global)?;
    let mut api = args.api.clone();
    let (_demo, url) = demo::resolve(global, &file, &mut api).await?;
    let cfg = engine_config(&api, &file, &Tuning::default())?;
    let store = store::open(&url, &default_db_path("vtsum.db"))?;
    let engine = Engine::new(cfg.clone(), store)?;
    let mut rows = Vec::new();
    for (key, status) in cfg.keys.iter().zip(engine.key_status()?) {
        let remote = engine.client().quota(key).await;
        let (hourly, daily, monthly, remote_error) = match remote {
            Ok(q) => (q.hourly, q.daily, q.monthly, None),
            Err(e) => (None, None, None, Some(e.to_string())),
        };
        rows.push(KeyQuota {
            key: status.id.to_string(),
            ledger_today: status.used_today,
            daily_limit: status.daily_limit,
            hourly,
            daily,
            monthly,
            remote_error,
        });
    }
    if args.json {
        let text = serde_json::to_string_pretty(&rows)? + "\n";
        return crate::output::print_all(text.as_bytes());
    }
    let pair = |p: Option<(u64, u64)>| p.map_or("-".to_string(), |(u, a)| format!("{u}/{a}"));
    // Written at once at the end: `| head` must not make a print panic.
    let mut text = format!(
        "{:<10} {:>14} {:>12} {:>12} {:>14}\n",
        "KEY", "LEDGER TODAY", "HOUR", "DAY", "MONTH"
    );
    for r in &rows {
        let ledger = match r.daily_limit {
            Some(l) => format!("{}/{l}", r.ledger_today),
            None => r.ledger_today.to_string(),
        };
        text.push_str(&format!(
            "{:<10} {:>14} {:>12} {:>12} {:>14}\n",
            r.key,
            ledger,
            pair(r.hourly),
            pair(r.daily),
            pair(r.monthly)
        ));
        if let Some(e) = &r.remote_error {
            crate::output::say(&format!(
                "vtsum: key {}: VirusTotal's figures unavailable: {e}",
                r.key
            ));
        }
    }
    crate::output::print_all(text.as_bytes())
}
