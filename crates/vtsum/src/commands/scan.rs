//! `vtsum scan`: read hashes, look them up, write the report.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use vtsum_core::engine::{Cancel, Engine, Event, RunOptions, RunOutcome};
use vtsum_core::render::{self, count, Format, RenderOptions, RowSource};
use vtsum_core::report::{iso8601, Row, RowOptions, Summary, Verdict};
use vtsum_core::store::{off_runtime, JobSpec};
use vtsum_store as store;

use super::handover::{Handover, Streamed, Written};
use crate::cli::{FailOn, GlobalArgs, ScanArgs};
use crate::demo;
use crate::exit::Exit;
use crate::output::{choose_format, say, use_color, Output};
use crate::progress::{human_duration, Bar};
use crate::settings::{default_db_path, engine_config, threshold, FileConfig, Tuning};

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
        // Counted from the items by `open_scan`.
        objects: 0,
    };
    let (job, resumed) = {
        let (engine, hashes) = (engine.clone(), extracted.take_job_targets(found));
        off_runtime("opening the scan", move || engine.open_scan(spec, &hashes)).await?
    };
    engine.group_hashes(&job.id, &extracted.alternates);
    if resumed && job.done > 0 {
        note(&format!(
            "vtsum: resuming an interrupted scan: {} of {} hashes already done",
            job.done, job.total
        ));
    }

    let output = Arc::new(Mutex::new(Output::open(args.output.as_deref())?));
    let cancel = Cancel::new();
    // JSON Lines rows are counted as they are written, so the summary needs no second
    // walk of the store: the rows written so far and their verdicts and cache hits.
    let written = Arc::new(Mutex::new(Written::default()));
    if format == Format::Jsonl {
        // Rows finished by an earlier, interrupted run come first.
        let (engine, job, to) = (engine.clone(), job.clone(), output.clone());
        let written = written.clone();
        tokio::task::spawn_blocking(move || {
            let mut out = to.lock().unwrap_or_else(|e| e.into_inner());
            let rows = engine.job_source(&job, row_options);
            write_rows(&mut out, |w| {
                rows.each(&mut |row| {
                    lock(&written).count(row);
                    render::write_jsonl_row(w, row)
                })
            })
        })
        .await??;
        if output.lock().unwrap_or_else(|e| e.into_inner()).stopped() {
            cancel.cancel();
        }
    }
    let opts = RenderOptions {
        color: format == Format::Table && use_color(args.color, args.output.is_some()),
        title: format!("vtsum report: {}", label(&args)),
        generated_at: iso8601(chrono::Utc::now().timestamp()).unwrap_or_default(),
    };
    // CSV is written as the rows come (see `handover`), unless an earlier run left rows
    // that come as no event.
    let handover = (format == Format::Csv && job.done == 0).then(|| Arc::new(Handover::default()));
    let writer = handover.as_ref().map(|handover| {
        let (engine, output, handover) = (engine.clone(), output.clone(), handover.clone());
        let (id, opts) = (job.id.clone(), opts.clone());
        let mut counted = Summary {
            total: job.total as usize,
            ..Summary::default()
        };
        tokio::task::spawn_blocking(move || -> Result<Summary> {
            let rows = Streamed {
                handover: &handover,
                store: engine.store().as_ref(),
                job: &id,
                options: row_options,
            };
            let mut out = lock(&output);
            write_rows(&mut out, |w| {
                render::render_rows(w, format, &rows, &mut counted, &opts)
            })?;
            Ok(counted)
        })
    });
    let sink = |event: &Event| match event {
        Event::Item {
            index,
            target,
            result,
        } if handover.is_some() => {
            if let Some(handover) = &handover {
                handover.item(*index, target, result, row_options);
            }
        }
        Event::Item { target, result, .. } if format == Format::Jsonl => {
            let row = Row::from_result(target, result, row_options);
            lock(&written).count(&row);
            // A failed write stops the run; the message comes once, at the end.
            let _ = write_jsonl(&output, &row, &cancel);
        }
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
    spawn_ctrl_c(cancel.clone());
    let outcome = engine
        .run_job(
            &job.id,
            RunOptions {
                wait_for_quota: args.wait,
                ..RunOptions::default()
            },
            &sink,
            &cancel,
        )
        .await;
    bar.lock().unwrap_or_else(|e| e.into_inner()).clear();
    if let Some(handover) = &handover {
        handover.finish();
    }
    let outcome = outcome?;
    let streamed = match writer {
        Some(writer) => Some(writer.await??),
        None => None,
    };

    let job = {
        let (engine, id) = (engine.clone(), job.id.clone());
        off_runtime("reading the scan's job", move || {
            engine
                .store()
                .job_get(&id)?
                .ok_or(vtsum_core::Error::NoSuchJob(id.0))
        })
        .await?
    };
    let summary = Summary {
        requests: engine.requests_sent(),
        lines_without_hash: extracted.lines_without_hash,
        duplicates: extracted.duplicates,
        non_file_hashes: extracted.non_file_hashes,
        skipped: job.spec.skipped,
        private_ips: job.spec.private_ips,
        total: job.total as usize,
        resumes_at: match outcome {
            RunOutcome::WaitingQuota { resumes_at } => iso8601(resumes_at),
            _ => None,
        },
        ..Summary::default()
    };

    // Read before the output is locked: no lock is held across a store call.
    let statuses = engine.key_status_off_runtime().await?;
    if let Some(failed) = &output.lock().unwrap_or_else(|e| e.into_inner()).failed {
        anyhow::bail!(
            "{failed}. The scan stopped; the answers so far are saved, so running the same \
             command again (with somewhere to write) resumes it"
        );
    }
    // The rows go from the store to the output a page at a time, on a blocking thread:
    // the store is read while writing. JSON Lines was written, and counted, as the rows
    // came.
    let summary = {
        let (engine, output) = (engine.clone(), output.clone());
        let written = lock(&written).clone();
        tokio::task::spawn_blocking(move || -> Result<Summary> {
            let mut summary = summary;
            let rows = engine.job_source(&job, row_options);
            if let Some(counted) = streamed {
                summary.verdicts = counted.verdicts;
                summary.cache_hits = counted.cache_hits;
                summary.pending = counted.pending;
                summary.total = counted.total;
            } else if format == Format::Jsonl {
                written.complete(&mut summary);
            } else {
                let mut out = output.lock().unwrap_or_else(|e| e.into_inner());
                write_rows(&mut out, |w| {
                    render::render_rows(w, format, &rows, &mut summary, &opts)
                })?;
            }
            Ok(summary)
        })
        .await??
    };
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Writes rows read from the store to the output: a failed write is the output's (it
/// remembers it, and a broken pipe is no error); a failed read of the store is returned.
fn write_rows(
    out: &mut Output,
    f: impl FnOnce(&mut dyn std::io::Write) -> vtsum_core::Result<()>,
) -> Result<()> {
    let mut read_error = None;
    out.write_with(|w| match f(w) {
        Ok(()) => Ok(()),
        Err(vtsum_core::Error::Io { source, .. }) => Err(source),
        Err(e) => {
            read_error = Some(e);
            Ok(())
        }
    })?;
    match read_error {
        Some(e) => Err(anyhow::Error::new(e).context("cannot read the report's rows")),
        None => Ok(()),
    }
}

fn write_jsonl(output: &Mutex<Output>, row: &Row, cancel: &Cancel) -> Result<()> {
    let mut out = output.lock().unwrap_or_else(|e| e.into_inner());
    out.write_with(|w| render::write_jsonl_row(w, row))?;
    if out.stopped() {
        cancel.cancel();
    }
    Ok(())
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
