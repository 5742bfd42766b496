//! `vtsum scan` as one job of every item: a scan with `--refresh` (every answer asked
//! anew) or `--store none` (no cache to answer from), and an interrupted scan of that
//! kind resumed. CSV is written while the job runs ([`super::handover`]), JSON Lines as
//! its events come; the other formats once it is over, from the store.

use std::sync::{Arc, Mutex};

use anyhow::Result;
use vtsum_core::engine::{Cancel, Engine, Event, RunOptions, RunOutcome};
use vtsum_core::render::{self, Format, RenderOptions, RowSource};
use vtsum_core::report::{Row, RowOptions, Summary};
use vtsum_core::store::{off_runtime, JobInfo};

use super::handover::{Handover, Streamed, Written};
use crate::output::Output;

/// What a scan writes, and how it runs: the same for a job of every item and for a
/// cache-first scan ([`super::scan_cached`]).
pub(super) struct Scan {
    pub engine: Arc<Engine>,
    pub format: Format,
    pub row_options: RowOptions,
    pub opts: RenderOptions,
    pub output: Arc<Mutex<Output>>,
    pub run: RunOptions,
    /// The summary's fields that come from the input (lines without a hash, ...).
    pub base: Summary,
}

/// A summary with the row counts of another (counted as the rows were written).
pub(super) trait Counted {
    fn counted(self, rows: Summary) -> Summary;
}

impl Counted for Summary {
    fn counted(mut self, rows: Summary) -> Summary {
        self.verdicts = rows.verdicts;
        self.cache_hits = rows.cache_hits;
        self.pending = rows.pending;
        self.total = rows.total;
        self
    }
}

impl Scan {
    /// The summary of a scan of `total` items whose run ended so: the input's fields, the
    /// requests sent, when the quota comes back.
    pub fn summary(&self, outcome: &RunOutcome, total: usize) -> Summary {
        Summary {
            requests: self.engine.requests_sent(),
            resumes_at: match outcome {
                RunOutcome::WaitingQuota { resumes_at } => vtsum_core::report::iso8601(*resumes_at),
                _ => None,
            },
            total,
            ..self.base.clone()
        }
    }

    /// Runs `job` and writes its report; returns how the run ended and its summary.
    pub async fn job(
        &self,
        job: JobInfo,
        progress: &(dyn Fn(&Event) + Send + Sync),
        cancel: &Cancel,
    ) -> Result<(RunOutcome, Summary)> {
        let (engine, output, format, row_options) =
            (&self.engine, &self.output, self.format, self.row_options);
        // JSON Lines rows are counted as they are written, so the summary needs no second
        // walk of the store: the rows written so far and their verdicts and cache hits.
        let written = Arc::new(Mutex::new(Written::default()));
        if format == Format::Jsonl {
            // Rows finished by an earlier, interrupted run come first.
            let (engine, job, to) = (engine.clone(), job.clone(), output.clone());
            let written = written.clone();
            tokio::task::spawn_blocking(move || {
                let mut out = lock(&to);
                let rows = engine.job_source(&job, row_options);
                write_rows(&mut out, |w| {
                    rows.each(&mut |row| {
                        lock(&written).count(row);
                        render::write_jsonl_row(w, row)
                    })
                })
            })
            .await??;
            if lock(output).stopped() {
                cancel.cancel();
            }
        }
        // CSV is written as the rows come (see `handover`), unless an earlier run left rows
        // that come as no event.
        let handover =
            (format == Format::Csv && job.done == 0).then(|| Arc::new(Handover::default()));
        let writer = handover.as_ref().map(|handover| {
            let (engine, output, handover) = (engine.clone(), output.clone(), handover.clone());
            let (id, opts) = (job.id.clone(), self.opts.clone());
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
        let jsonl = jsonl_sink(self, &written, progress, cancel);
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
            Event::Item { .. } if format == Format::Jsonl => jsonl(event),
            other => progress(other),
        };
        let outcome = engine.run_job(&job.id, self.run, &sink, cancel).await;
        if let Some(handover) = &handover {
            handover.finish();
        }
        let outcome = outcome?;
        if let Some(writer) = writer {
            let counted = writer.await??;
            return Ok((outcome, self.summary(&outcome, 0).counted(counted)));
        }
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
        let mut counted = self.summary(&outcome, job.total as usize);
        if format == Format::Jsonl {
            lock(&written).clone().complete(&mut counted);
            return Ok((outcome, counted));
        }
        // The rows go from the store to the output a page at a time, on a blocking
        // thread: the store is read while writing.
        let (engine, output, opts) = (engine.clone(), output.clone(), self.opts.clone());
        let counted = tokio::task::spawn_blocking(move || -> Result<Summary> {
            let rows = engine.job_source(&job, row_options);
            let mut out = lock(&output);
            write_rows(&mut out, |w| {
                render::render_rows(w, format, &rows, &mut counted, &opts)
            })?;
            Ok(counted)
        })
        .await??;
        Ok((outcome, counted))
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Writes rows read from the store to the output: a failed write is the output's (it
/// remembers it, and a broken pipe is no error); a failed read of the store is returned.
pub(super) fn write_rows(
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

/// A run's sink writing each answer as a JSON Lines row (counted in `written`) and
/// giving every other event to `progress`.
pub(super) fn jsonl_sink<'a>(
    scan: &'a Scan,
    written: &'a Mutex<Written>,
    progress: &'a (dyn Fn(&Event) + Send + Sync),
    cancel: &'a Cancel,
) -> impl Fn(&Event) + Send + Sync + 'a {
    move |event: &Event| match event {
        Event::Item { target, result, .. } => {
            let row = Row::from_result(target, result, scan.row_options);
            lock(written).count(&row);
            // A failed write stops the run; the message comes once, at the end.
            let _ = write_jsonl(&scan.output, &row, cancel);
        }
        other => progress(other),
    }
}

fn write_jsonl(output: &Mutex<Output>, row: &Row, cancel: &Cancel) -> Result<()> {
    let mut out = lock(output);
    out.write_with(|w| render::write_jsonl_row(w, row))?;
    if out.stopped() {
        cancel.cancel();
    }
    Ok(())
}
