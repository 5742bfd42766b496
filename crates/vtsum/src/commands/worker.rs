//! `vtsum worker`: runs the parts of web jobs from a Redis store's work queue, with this
//! process's keys, until Ctrl-C or SIGTERM, and the watchlists' due re-checks behind them
//! (a round a minute, as `vtsum serve` does). Any number of workers on any number of hosts
//! share the queue, the cache, the watchlists and the keys' quotas through the store.

use std::sync::Arc;

use anyhow::{bail, Result};
use vtsum_core::engine::{Cancel, Engine};
use vtsum_core::jobs::worker::{self, WorkerConfig};
use vtsum_store as store;

use crate::cli::{GlobalArgs, WorkerArgs};
use crate::exit::Exit;
use crate::settings::{claim_after, default_db_path, engine_config, store_url, FileConfig, Tuning};

/// Runs the worker until stopped; the part in progress then goes back to the queue.
pub async fn run(global: &GlobalArgs, args: WorkerArgs) -> Result<Exit> {
    if args.api.demo {
        bail!("--demo starts a fake VirusTotal inside one process; workers need one they share: run `vtsum fakevt` and pass --api-url");
    }
    let file = FileConfig::load(global)?;
    let url = store_url(global, &file);
    let store = store::open(&url, &default_db_path("vtsum.db"))?;
    let Some(queue) = store.work_queue() else {
        bail!(
            "{} has no work queue: workers share jobs through Redis; pass --store redis://host:6379/0 (the same as `vtsum serve`)",
            store.describe()
        );
    };
    let tuning = Tuning {
        concurrency: args.concurrency,
        ..Tuning::default()
    };
    let cfg = engine_config(&args.api, &file, &tuning)?;
    let engine = Arc::new(Engine::new(cfg, store.clone())?);
    let worker = WorkerConfig::new(claim_after(&args.queue)?);
    if !global.quiet {
        crate::output::say(&format!(
            "vtsum: worker {} on {} (Ctrl-C stops; a part in progress goes back to the queue)",
            worker.name,
            store.describe()
        ));
    }
    let stop = Cancel::new();
    super::recheck::start_beside(&args.rechecks, &engine, stop.clone())?;
    let stopper = stop.clone();
    tokio::spawn(async move {
        crate::shutdown_signal().await;
        stopper.cancel();
    });
    worker::run(engine, queue, worker, stop).await;
    Ok(Exit::Ok)
}
