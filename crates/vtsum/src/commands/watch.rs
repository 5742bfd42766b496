//! `vtsum watch`: watchlists (issue 16). `add`, `list`, `show`, `rm` and `changes` are
//! store I/O; `run` re-checks what is due through the engine on spare quota
//! (`vtsum_core::watch::round`) and empties the webhook outbox
//! (`vtsum_core::watch::deliver`). Labels and names come from VirusTotal and indicators
//! from the user's text: printed with terminal controls replaced.

use std::sync::Arc;

use anyhow::Result;
use vtsum_core::engine::{now_unix, Cancel, Engine};
use vtsum_core::render::{replace_controls, LineBreaks};
use vtsum_core::report::iso8601;
use vtsum_core::store::Store;
use vtsum_core::watch::{check_name, WatchList, WatchStore};
use vtsum_store as store;

use super::recheck::{summary, Rechecks};
use crate::cli::watch::{WatchAddArgs, WatchCommand, WatchRunArgs};
use crate::cli::GlobalArgs;
use crate::demo;
use crate::exit::{bad_input, Exit};
use crate::output::say;
use crate::settings::{
    default_db_path, engine_config, store_url, threshold, watch_duration, FileConfig, Tuning,
};

/// What terminals are shown of text from outside.
fn shown(text: &str) -> String {
    replace_controls(text, LineBreaks::Space).into_owned()
}

fn when(unix: Option<i64>) -> String {
    unix.and_then(iso8601).unwrap_or_else(|| "never".into())
}

/// The most items one `watch run` round claims.
const ROUND_ITEMS: u64 = 1000;

/// The store's watchlists, or why it has none.
pub(super) fn open(url: &str) -> Result<(Arc<dyn Store>, Arc<dyn WatchStore>)> {
    let s = store::open(url, &default_db_path("vtsum.db"))?;
    let describe = s.describe();
    let watches = s.clone().watches().ok_or_else(|| {
        bad_input(format!(
            "{describe} keeps no watchlists: use the SQLite store (the default, or \
             --store sqlite:PATH) or Redis (--store redis://host:6379/0)"
        ))
    })?;
    Ok((s, watches))
}

pub async fn run(global: &GlobalArgs, cmd: WatchCommand) -> Result<Exit> {
    let file = FileConfig::load(global)?;
    if let WatchCommand::Run(args) = cmd {
        return watch_run(global, &file, args).await;
    }
    let url = store_url(global, &file);
    tokio::task::spawn_blocking(move || offline(&url, &file, cmd)).await?
}

/// Every subcommand but `run`: the store alone, on a blocking thread.
fn offline(url: &str, file: &FileConfig, cmd: WatchCommand) -> Result<Exit> {
    let (_store, watches) = open(url)?;
    match cmd {
        WatchCommand::Add(args) => add(&*watches, file, args),
        WatchCommand::List { json } => list(&*watches, json),
        WatchCommand::Show {
            name,
            history,
            json,
        } => show(&*watches, &name, history, json),
        WatchCommand::Rm { name, items } => rm(&*watches, &name, &items),
        WatchCommand::Changes { since, json } => changes(&*watches, since.as_deref(), json),
        WatchCommand::Run(_) => unreachable!("run is handled apart"),
    }
}

fn add(watches: &dyn WatchStore, file: &FileConfig, mut args: WatchAddArgs) -> Result<Exit> {
    check_name(&args.name).map_err(bad_input)?;
    let old = watches.watch_get(&args.name)?;
    let every = match (&args.every, &old) {
        (None, Some(old)) => old.every,
        (given, _) => watch_duration(given.as_deref(), "every", "7d")?.as_secs(),
    };
    let every_unknown = match (&args.every_unknown, &old) {
        (None, Some(old)) if args.every.is_none() => old.every_unknown,
        (None, _) => every,
        (given, _) => watch_duration(given.as_deref(), "every-unknown", "7d")?.as_secs(),
    };
    let threshold = match (args.threshold, &old) {
        (None, Some(old)) => old.threshold,
        (given, _) => threshold(given, file)?,
    };
    if args.which.skip.is_none() {
        args.which.skip = file.skip.clone();
    }
    let (mut extracted, indicators) = super::scan_input::read_inputs(&args.inputs, &args.which)?;
    let found = indicators.as_ref().map_or(&[][..], |i| &i.found[..]);
    let targets = extracted.take_job_targets(found);
    let now = now_unix();
    watches.watch_put(&WatchList {
        name: args.name.clone(),
        every,
        every_unknown,
        threshold,
        created_at: old.as_ref().map_or(now, |o| o.created_at),
    })?;
    let added = watches.watch_add(&args.name, &targets, now)?;
    say(&format!(
        "vtsum: {added} added to watchlist {} ({} already on it); re-checked every {}",
        args.name,
        targets.len() as u64 - added,
        crate::progress::human_duration(every)
    ));
    Ok(Exit::Ok)
}

fn list(watches: &dyn WatchStore, json: bool) -> Result<Exit> {
    let lists = watches.watch_lists()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&lists)?);
        return Ok(Exit::Ok);
    }
    for l in &lists {
        println!(
            "{}\t{} items\tevery {}\tlast check {}\t{} changes",
            l.list.name,
            l.items,
            crate::progress::human_duration(l.list.every),
            when(l.last_check),
            l.changes
        );
    }
    if lists.is_empty() {
        say("vtsum: no watchlists yet: `vtsum watch add NAME FILE` makes one");
    }
    Ok(Exit::Ok)
}

fn no_list(name: &str) -> anyhow::Error {
    bad_input(format!(
        "no watchlist named {:?}: see `vtsum watch list`",
        shown(name)
    ))
}

fn show(watches: &dyn WatchStore, name: &str, history: bool, json: bool) -> Result<Exit> {
    watches.watch_get(name)?.ok_or_else(|| no_list(name))?;
    let items = watches.watch_items(name)?;
    if json {
        let mut out = Vec::new();
        for item in &items {
            let mut v = serde_json::to_value(item)?;
            if history {
                v["history"] =
                    serde_json::to_value(watches.watch_history(name, &item.target.key())?)?;
            }
            out.push(v);
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(Exit::Ok);
    }
    for item in &items {
        let last = item
            .last
            .as_ref()
            .map_or("not checked yet".to_string(), |s| {
                let label = s.threat_label.as_deref().map(shown).unwrap_or_default();
                format!("{} {}/{} {label}", s.verdict.as_str(), s.malicious, s.total)
            });
        println!(
            "{}\t{}\tchecked {}",
            shown(&item.input),
            last.trim_end(),
            when(item.checked_at)
        );
        if history {
            for h in watches.watch_history(name, &item.target.key())? {
                let s = &h.snapshot;
                println!(
                    "  {}\t{} {}/{} {}",
                    when(Some(h.checked_at)),
                    s.verdict.as_str(),
                    s.malicious,
                    s.total,
                    s.threat_label.as_deref().map(shown).unwrap_or_default()
                );
            }
        }
    }
    Ok(Exit::Ok)
}

fn rm(watches: &dyn WatchStore, name: &str, items: &[String]) -> Result<Exit> {
    if items.is_empty() {
        if !watches.watch_delete(name)? {
            return Err(no_list(name));
        }
        say(&format!("vtsum: watchlist {name} removed"));
        return Ok(Exit::Ok);
    }
    let on_list = watches.watch_items(name)?;
    let mut keys = Vec::new();
    for given in items {
        let found = on_list
            .iter()
            .find(|i| i.input.eq_ignore_ascii_case(given.trim()) || i.target.key() == given.trim());
        match found {
            Some(item) => keys.push(item.target.key()),
            None => say(&format!("vtsum: {} is not on {name}", shown(given))),
        }
    }
    let removed = watches.watch_remove(name, &keys)?;
    say(&format!("vtsum: {removed} removed from {name}"));
    Ok(Exit::Ok)
}

/// `--since`: RFC 3339, or a duration before now.
fn since(text: Option<&str>) -> Result<i64> {
    let Some(text) = text else { return Ok(0) };
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp());
    }
    let ago = watch_duration(Some(text), "since", "1s")?;
    Ok(now_unix() - ago.as_secs() as i64)
}

fn changes(watches: &dyn WatchStore, since_text: Option<&str>, json: bool) -> Result<Exit> {
    let found = watches.watch_changes(since(since_text)?, 100_000)?;
    if json {
        let mut out = Vec::new();
        for c in &found {
            let mut v = serde_json::to_value(c)?;
            v["deliveries"] = serde_json::to_value(watches.outbox_of(c.id)?)?;
            out.push(v);
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(Exit::Ok);
    }
    for c in &found {
        println!(
            "{}\t{}",
            when(Some(c.at)),
            shown(&vtsum_core::watch::alert::text(c))
        );
    }
    Ok(Exit::Ok)
}

async fn watch_run(global: &GlobalArgs, file: &FileConfig, args: WatchRunArgs) -> Result<Exit> {
    let interval = watch_duration(args.interval.as_deref(), "interval", "1min")?;
    let mut api = args.api.clone();
    let (_demo, url) = demo::resolve(global, file, &mut api).await?;
    let (store, watches) = tokio::task::spawn_blocking(move || open(&url)).await??;
    let tuning = Tuning {
        concurrency: args.concurrency,
        ..Tuning::default()
    };
    let base = Arc::new(Engine::new(engine_config(&api, file, &tuning)?, store)?);
    let rechecks = Rechecks::new(&args.rechecks, base, watches, ROUND_ITEMS)?;
    let cancel = Cancel::new();
    loop {
        let (report, sent) = rechecks.round(&cancel).await?;
        if !global.quiet {
            say(&summary(&report, &sent));
        }
        if args.once {
            return Ok(Exit::Ok);
        }
        tokio::time::sleep(interval).await;
    }
}
