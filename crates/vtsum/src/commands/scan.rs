//! `vtsum scan`: read hashes, look them up, write the report.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use vtsum_core::engine::{Cancel, Engine, Event, RunOptions, RunOutcome, ScanStart};
use vtsum_core::render::{count, Format, RenderOptions};
use vtsum_core::report::{iso8601, RowOptions, Summary, Verdict};
use vtsum_core::store::{off_runtime, JobInfo, JobSpec};
use vtsum_core::Target;
use vtsum_store as store;

use super::scan_cached::{CacheFirst, Start};
use super::scan_job::Scan;
use crate::cli::{FailOn, GlobalArgs, ScanArgs};
use crate::demo;
use crate::exit::Exit;
use crate::output::{choose_format, say, use_color, Output};
use crate::progress::{human_duration, Bar};
use crate::settings::{default_db_path, engine_config, threshold, FileConfig, Tuning};

/// How the scan was opened: cache first (new, or its misses' job resumed), or as one job
/// of every item.
enum Opened {
    CacheFirst(Arc<Vec<Target>>, Start),
    Job(JobInfo, bool),
}

/// Runs `vtsum scan`.
pub async fn run(global: &GlobalArgs, args: ScanArgs) -> Result<Exit> {
    let file = FileConfig::load(global)?;
    // Bad settings are reported before any input is read or any request sent.
    let format = choose_format(args.format, args.output.as_deref())?;
    let threshold = threshold(args.threshold, &file)?;
    let mut args = args;
    if args.which.skip.is_none() {
        args.which.skip = file.skip.clone();
    }
    let (mut extracted, indicators) = super::scan_input::read_inputs(&args.inputs, &args.which)?;
    let found = indicators.as_ref().map_or(&[][..], |i| &i.found[..]);
    let mut api = args.api.clone();
    let (_demo, store_url) = demo::resolve(global, &file, &mut api).await?;
    let tuning = Tuning {
        concurrency: args.concurrency,
        max_age: args.max_age.clone(),
        max_age_unknown: args.max_age_unknown.clone(),
    };
    let cfg = engine_config(&api, &file, &tuning)?;
    let mut store = store::open(&store_url, &default_db_path("vtsum.db"))?;
    if store_url.trim() == "none" {
        // Nothing is kept after the scan: its answers wait in a temporary file, not memory.
        store = Arc::new(crate::spill::SpillStore::new(store)?);
    }
    let engine = Arc::new(Engine::new(cfg, store)?);
    let row_options = RowOptions {
        threshold,
        engines: args.engines,
    };
    let quiet = global.quiet;
    let bar = Mutex::new(Bar::new(!quiet && std::io::stderr().is_terminal()));
    let note = |text: &str| {
        if !quiet {
            bar.lock().unwrap_or_else(|e| e.into_inner()).message(text);
        }
    };
    if extracted.hashes.is_empty() && found.is_empty() {
        note(&format!(
            "vtsum: no md5, sha1 or sha256 hashes found in the input ({} lines without a hash)",
            extracted.lines_without_hash
        ));
    }

    let spec = JobSpec {
        label: label(&args),
        row_options,
        refresh: args.refresh,
        lines_without_hash: extracted.lines_without_hash,
        duplicates: extracted.duplicates,
        origin: Default::default(),
        non_file_hashes: extracted.non_file_hashes,
        skipped: indicators.as_ref().map_or(0, |i| i.skipped.total()),
        private_ips: indicators.as_ref().map_or(0, |i| i.private_ips),
        // Counted from the items by `Engine::scan_create`.
        objects: 0,
        answered_from_cache: 0,
    };
    let items = extracted.take_job_targets(found);
    let opened = {
        let (engine, items) = (engine.clone(), Arc::new(items));
        let (spec, refresh) = (spec.clone(), args.refresh);
        let cache = store_url.trim() != "none";
        off_runtime("opening the scan", move || {
            Ok(match engine.scan_start(&items, &spec)? {
                ScanStart::Resume(job) if job.spec.answered_from_cache > 0 => {
                    Opened::CacheFirst(items, Start::Resume(job))
                }
                ScanStart::Resume(job) => Opened::Job(job, true),
                // `--refresh` asks for every answer anew; `--store none` has no cache.
                ScanStart::New(id) if cache && !refresh => {
                    Opened::CacheFirst(items, Start::New { id, spec })
                }
                ScanStart::New(id) => Opened::Job(engine.scan_create(&id, spec, &items)?, false),
            })
        })
        .await?
    };
    let output = Arc::new(Mutex::new(Output::open(args.output.as_deref())?));
    let cancel = Cancel::new();
    let opts = RenderOptions {
        color: format == Format::Table && use_color(args.color, args.output.is_some()),
        title: format!("vtsum report: {}", label(&args)),
        generated_at: iso8601(chrono::Utc::now().timestamp()).unwrap_or_default(),
    };
    let run = RunOptions {
        wait_for_quota: args.wait,
        ..RunOptions::default()
    };
    let progress = |event: &Event| match event {
        Event::Progress(p) => bar.lock().unwrap_or_else(|e| e.into_inner()).update(p),
        Event::Waiting { resumes_at } if args.wait => note(&format!(
            "vtsum: every key is out of daily quota; waiting until {}",
            when(*resumes_at)
        )),
        Event::KeyRejected { key, reason } => note(&format!(
            "vtsum: key {key} was rejected ({reason}); going on without it"
        )),
        _ => {}
    };
    let scan = Scan {
        engine: engine.clone(),
        format,
        row_options,
        opts,
        output: output.clone(),
        run,
        base: Summary {
            lines_without_hash: extracted.lines_without_hash,
            duplicates: extracted.duplicates,
            non_file_hashes: extracted.non_file_hashes,
            skipped: spec.skipped,
            private_ips: spec.private_ips,
            ..Summary::default()
        },
    };
    let (outcome, summary) = match opened {
        Opened::CacheFirst(items, start) => {
            if let Start::Resume(job) = &start {
                let before = job.spec.answered_from_cache;
                note(&format!(
                    "vtsum: resuming an interrupted scan: {} of {} hashes already done",
                    job.done + before,
                    job.total + before
                ));
            }
            spawn_ctrl_c(cancel.clone());
            let first = CacheFirst {
                scan,
                items,
                alternates: std::mem::take(&mut extracted.alternates),
            };
            let done = first.run(start, &progress, &cancel).await;
            bar.lock().unwrap_or_else(|e| e.into_inner()).clear();
            done?
        }
        Opened::Job(job, resumed) => {
            if resumed && job.done > 0 {
                note(&format!(
                    "vtsum: resuming an interrupted scan: {} of {} hashes already done",
                    job.done, job.total
                ));
            }
            engine.group_hashes(&job.id, &extracted.alternates);
            let done = scan.job(job, &progress, &cancel).await;
            bar.lock().unwrap_or_else(|e| e.into_inner()).clear();
            done?
        }
    };
    // Read before the output is locked: no lock is held across a store call.
    let statuses = engine.key_status_off_runtime().await?;
    if let Some(failed) = &output.lock().unwrap_or_else(|e| e.into_inner()).failed {
        anyhow::bail!(
            "{failed}. The scan stopped; the answers so far are saved, so running the same \
             command again (with somewhere to write) resumes it"
        );
    }
    let out = output.lock().unwrap_or_else(|e| e.into_inner());
    if out.broken_pipe {
        return Ok(Exit::Ok);
    }
    if !quiet {
        say(&summary_line(&summary));
        for line in spent_keys(&statuses) {
            say(&line);
        }
    }
    Ok(match outcome {
        RunOutcome::WaitingQuota { resumes_at } => {
            say(&format!(
                "vtsum: every key is out of daily quota; {} left. Quota resets at {}. \
                 Run the same command again then to finish (done work is kept), or add --wait.",
                count(summary.pending, "hash", "hashes"),
                when(resumes_at)
            ));
            Exit::QuotaExhausted
        }
        RunOutcome::Cancelled => {
            say(&format!(
                "vtsum: interrupted; {} left. Run the same command again to resume.",
                count(summary.pending, "hash", "hashes")
            ));
            Exit::Interrupted
        }
        RunOutcome::Done => exit_for_rows(&summary, args.fail_on),
    })
}

/// The exit status of a finished scan, from its rows' verdict counts.
fn exit_for_rows(summary: &Summary, fail_on: Option<FailOn>) -> Exit {
    let any = |v: Verdict| summary.verdicts.get(v.as_str()).is_some_and(|n| *n > 0);
    let tripped = match fail_on {
        Some(FailOn::Malicious) => any(Verdict::Malicious),
        Some(FailOn::Suspicious) => any(Verdict::Malicious) || any(Verdict::Suspicious),
        None => false,
    };
    if tripped {
        Exit::FailOn
    } else if any(Verdict::Error) {
        Exit::LookupErrors
    } else {
        Exit::Ok
    }
}

fn label(args: &ScanArgs) -> String {
    if args.inputs.is_empty() {
        return "standard input".to_string();
    }
    let names: Vec<String> = args
        .inputs
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    names.join(", ")
}

/// `2026-11-25 00:00 UTC (01:00 local, in 5h 12m)`.
fn when(unix: i64) -> String {
    let utc = chrono::DateTime::<chrono::Utc>::from_timestamp(unix, 0).unwrap_or_default();
    let local = utc.with_timezone(&chrono::Local);
    let left = (unix - chrono::Utc::now().timestamp()).max(0) as u64;
    format!(
        "{} UTC ({} local, in {})",
        utc.format("%Y-%m-%d %H:%M"),
        local.format("%H:%M %Z"),
        human_duration(left)
    )
}

/// The stderr summary, e.g. `42 hashes: 5 malicious, 30 clean · 12 from cache · ...`.
fn summary_line(s: &Summary) -> String {
    let verdicts: Vec<String> = Verdict::ALL
        .iter()
        .filter_map(|v| {
            s.verdicts
                .get(v.as_str())
                .map(|n| format!("{n} {}", v.as_str()))
        })
        .collect();
    let mut parts = vec![format!(
        "{}: {}",
        count(s.total, "hash", "hashes"),
        if verdicts.is_empty() {
            "none done".to_string()
        } else {
            verdicts.join(", ")
        }
    )];
    if s.pending > 0 {
        parts.push(format!("{} pending", s.pending));
    }
    parts.push(format!("{} from cache", s.cache_hits));
    let requests: Vec<String> = s
        .requests
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{k}={n}"))
        .collect();
    parts.push(if requests.is_empty() {
        "no requests".to_string()
    } else {
        format!("requests by key: {}", requests.join(" "))
    });
    parts.push(format!(
        "{} without a hash",
        count(s.lines_without_hash, "line", "lines")
    ));
    if s.duplicates > 0 {
        parts.push(count(s.duplicates, "duplicate", "duplicates"));
    }
    if s.non_file_hashes > 0 {
        parts.push(format!(
            "{} (IMPHASH and the like) not looked up",
            count(s.non_file_hashes, "non-file hash", "non-file hashes")
        ));
    }
    if s.private_ips > 0 {
        parts.push(format!(
            "{} skipped",
            count(
                s.private_ips,
                "non-public IP address",
                "non-public IP addresses"
            )
        ));
    }
    if s.skipped > 0 {
        parts.push(format!(
            "{} on the skip list",
            count(s.skipped, "indicator", "indicators")
        ));
    }
    parts.join(" · ")
}

/// A line for each key that is out for the day (or the month), saying whose count says so.
fn spent_keys(keys: &[vtsum_core::quota::KeyStatus]) -> Vec<String> {
    keys.iter()
        .filter(|k| k.state == vtsum_core::quota::KeyState::Exhausted)
        .map(|k| {
            let whose = if k.remote.as_ref().is_some_and(|r| r.daily.is_some()) {
                "with VirusTotal's own count"
            } else {
                "by this store's ledger"
            };
            let counted = match k.daily_limit {
                Some(limit) => format!("{} of {limit} used today, {whose}", k.used_today),
                None => "VirusTotal refused it".to_string(),
            };
            format!(
                "vtsum: key {} is out of quota for the day ({counted})",
                k.id
            )
        })
        .collect()
}

/// First Ctrl-C or SIGTERM: finish the requests in flight, keep everything, exit 130.
/// A second one: quit now (results already written stay written).
fn spawn_ctrl_c(cancel: Cancel) {
    tokio::spawn(async move {
        crate::shutdown_signal().await;
        say("\nvtsum: stopping after the requests in flight (Ctrl-C again to quit now)");
        cancel.cancel();
        crate::shutdown_signal().await;
        std::process::exit(Exit::Interrupted as i32);
    });
}
