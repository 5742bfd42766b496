//! `vtsum quota`: each key's use and allowance side by side as VirusTotal counts them and
//! as the local ledger does, and which of them the scheduler goes by; then each client's
//! use of the VirusTotal-compatible endpoint today (`vtsum serve --client-token`).

use std::sync::Arc;

use anyhow::Result;
use serde::Serialize;
use vtsum_core::engine::Engine;
use vtsum_core::quota::DailySource;
use vtsum_store as store;

use crate::cli::{GlobalArgs, QuotaArgs};
use crate::demo;
use crate::exit::Exit;
use crate::settings::{default_db_path, engine_config, FileConfig, Tuning};

#[derive(Serialize)]
struct KeyQuota {
    key: String,
    /// Requests this store's ledger counted today (UTC).
    ledger_today: u64,
    /// (used, allowed) as VirusTotal reports them.
    hourly: Option<(u64, u64)>,
    daily: Option<(u64, u64)>,
    monthly: Option<(u64, u64)>,
    /// Why VirusTotal's figures are missing, if they are.
    remote_error: Option<String>,
    /// What the scheduler goes by: used today (the larger count), the daily allowance and
    /// where that comes from.
    scheduler_used_today: u64,
    daily_limit: Option<u32>,
    daily_source: DailySource,
    state: &'static str,
}

/// Runs `vtsum quota`.
pub async fn run(global: &GlobalArgs, args: QuotaArgs) -> Result<Exit> {
    let file = FileConfig::load(global)?;
    let mut api = args.api.clone();
    let (_demo, url) = demo::resolve(global, &file, &mut api).await?;
    let cfg = engine_config(&api, &file, &Tuning::default())?;
    let store = store::open(&url, &default_db_path("vtsum.db"))?;
    let engine = Engine::new(cfg.clone(), store)?;
    let mut errors = Vec::new();
    for key in &cfg.keys {
        let read = engine.client().quota(key).await.map_err(|e| e.to_string());
        errors.push(read.as_ref().err().cloned());
        engine.apply_figures((key.id().clone(), read)).await?;
    }
    let engine = Arc::new(engine);
    let statuses = engine.key_status_off_runtime().await?;
    let rows: Vec<KeyQuota> = statuses
        .into_iter()
        .zip(errors)
        .map(|(status, remote_error)| {
            let remote = status.remote.clone().unwrap_or_default();
            KeyQuota {
                key: status.id.to_string(),
                ledger_today: status.ledger_today,
                hourly: remote.hourly,
                daily: remote.daily,
                monthly: remote.monthly,
                remote_error,
                scheduler_used_today: status.used_today,
                daily_limit: status.daily_limit,
                daily_source: status.daily_source,
                state: status.state.as_str(),
            }
        })
        .collect();
    if args.json {
        let text = serde_json::to_string_pretty(&rows)? + "\n";
        return crate::output::print_all(text.as_bytes());
    }
    let pair = |p: Option<(u64, u64)>| p.map_or("-".to_string(), |(u, a)| format!("{u}/{a}"));
    // Written at once at the end: `| head` must not make a print panic.
    let mut text = format!(
        "{:<10} {:>8} {:>10} {:>12} {:>14} {:>14}  ALLOWANCE FROM\n",
        "KEY", "LEDGER", "VT HOUR", "VT DAY", "VT MONTH", "SCHEDULER"
    );
    for r in &rows {
        let scheduler = match r.daily_limit {
            Some(l) => format!("{}/{l}", r.scheduler_used_today),
            None => r.scheduler_used_today.to_string(),
        };
        let source = match r.daily_source {
            DailySource::Rate => "--rate",
            DailySource::VirusTotal => "VirusTotal",
            DailySource::Default => "default (500/day)",
            DailySource::None => "no daily limit",
        };
        let state = if r.state == "ok" {
            String::new()
        } else {
            format!(" ({})", r.state)
        };
        text.push_str(&format!(
            "{:<10} {:>8} {:>10} {:>12} {:>14} {:>14}  {source}{state}\n",
            r.key,
            r.ledger_today,
            pair(r.hourly),
            pair(r.daily),
            pair(r.monthly),
            scheduler,
        ));
        if let Some(e) = &r.remote_error {
            crate::output::say(&format!(
                "vtsum: key {}: VirusTotal's figures unavailable ({e}); the scheduler goes by \
                 --rate and the ledger",
                r.key
            ));
        }
    }
    let clients = {
        let store = engine.store().clone();
        vtsum_core::store::off_runtime("reading client use", move || {
            vtsum_web::client_use_today(store.as_ref())
        })
        .await?
    };
    if !clients.is_empty() {
        text.push_str(&format!(
            "\n{:<24} {:>10} {:>12} {:>10}\n",
            "CLIENT (today, /api/v3)", "LOOKUPS", "CACHE HITS", "UPSTREAM"
        ));
        for (name, used) in &clients {
            text.push_str(&format!(
                "{:<24} {:>10} {:>12} {:>10}\n",
                name, used.lookups, used.cache_hits, used.upstream
            ));
        }
    }
    crate::output::print_all(text.as_bytes())
}
