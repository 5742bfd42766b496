//! `vtsum scan` answered from the cache first ([`vtsum_core::engine::ScanRows`]): the
//! report is written on a blocking thread while its first walk reads the cache; the
//! misses it finds come back here, run as the scan's job (the only part of the scan the
//! store keeps as one), and the walk goes on once the run is over. A scan the cache
//! answers whole is one read of the cache and no job at all.
//!
//! A resumed scan of this kind (its job holds the misses only) runs its job first, then
//! writes the whole report from the cache and the job.

use std::sync::{Arc, Mutex};

use anyhow::Result;
use tokio::task::JoinHandle;
use vtsum_core::engine::{Cancel, Engine, Event, RunOutcome, ScanRows};
use vtsum_core::render::{self, Format};
use vtsum_core::report::Summary;
use vtsum_core::store::{off_runtime, JobId, JobInfo, JobSpec};
use vtsum_core::{Hash, Target};

use super::handover::Written;
use super::scan_job::{jsonl_sink, lock, write_rows, Counted, Scan};

/// What a cache-first scan is given.
pub(super) struct CacheFirst {
    pub scan: Scan,
    pub items: Arc<Vec<Target>>,
    /// Labelled groups of hashes (strong, weak), for the misses' job.
    pub alternates: Vec<(Hash, Hash)>,
}

/// What the scan's job is: a new one to make of the misses, or an interrupted one.
pub(super) enum Start {
    New { id: JobId, spec: JobSpec },
    Resume(JobInfo),
}

impl CacheFirst {
    /// Runs the scan; returns how the run ended and its summary.
    ///
    /// - CSV: one walk, the rows written while the cache is read; the misses run when the
    ///   walk reaches the end, and the rows from the first miss on follow the run.
    /// - JSON Lines: every cached row written as the cache is read, then the misses' rows
    ///   as their answers come (the order of JSON Lines is the order of answers).
    /// - The others (a summary inside the report): the misses found and run first, then
    ///   the report written whole, summary included.
    pub async fn run(
        self,
        start: Start,
        progress: &(dyn Fn(&Event) + Send + Sync),
        cancel: &Cancel,
    ) -> Result<(RunOutcome, Summary)> {
        let total = self.items.len();
        let format = self.scan.format;
        let (id, spec) = match start {
            Start::Resume(job) => {
                let outcome = self.run_job(&job.id, progress, cancel).await?;
                let summary = self.scan.summary(&outcome, total);
                let summary = self.render(Some(job.id), summary).await?;
                return Ok((outcome, summary));
            }
            Start::New { id, spec } => (id, spec),
        };
        if format == Format::Csv {
            return self.streamed(id, spec, progress, cancel).await;
        }
        let jsonl = format == Format::Jsonl;
        let written = Arc::new(Mutex::new(Written::default()));
        let misses = {
            let (engine, items, output) = (
                self.scan.engine.clone(),
                self.items.clone(),
                self.scan.output.clone(),
            );
            let (written, options) = (written.clone(), self.scan.row_options);
            tokio::task::spawn_blocking(move || -> Result<Vec<u64>> {
                if !jsonl {
                    return Ok(engine.scan_hits(&items, options, false, &mut |_| Ok(()))?);
                }
                let mut misses = Vec::new();
                write_rows(&mut lock(&output), |w| {
                    misses = engine.scan_hits(&items, options, true, &mut |row| {
                        lock(&written).count(row);
                        render::write_jsonl_row(w, row)
                    })?;
                    Ok(())
                })?;
                Ok(misses)
            })
            .await??
        };
        if jsonl && lock(&self.scan.output).stopped() {
            let outcome = RunOutcome::Cancelled;
            return Ok((outcome, self.scan.summary(&outcome, total)));
        }
        let outcome = match misses.is_empty() {
            true => RunOutcome::Done,
            false => {
                self.make_job(&id, spec, &misses).await?;
                if jsonl {
                    let sink = jsonl_sink(&self.scan, &written, progress, cancel);
                    self.run_job(&id, &sink, cancel).await?
                } else {
                    self.run_job(&id, progress, cancel).await?
                }
            }
        };
        let mut summary = self.scan.summary(&outcome, total);
        if jsonl {
            lock(&written).clone().complete(&mut summary);
            return Ok((outcome, summary));
        }
        let job = (!misses.is_empty()).then_some(id);
        Ok((outcome, self.render(job, summary).await?))
    }

    /// CSV: see [`CacheFirst::run`].
    async fn streamed(
        &self,
        id: JobId,
        spec: JobSpec,
        progress: &(dyn Fn(&Event) + Send + Sync),
        cancel: &Cancel,
    ) -> Result<(RunOutcome, Summary)> {
        let total = self.items.len();
        let (misses_tx, misses_rx) = tokio::sync::oneshot::channel::<Vec<u64>>();
        let (job_tx, job_rx) = std::sync::mpsc::channel::<Option<JobId>>();
        let row_options = self.scan.row_options;
        let mut misses_tx = Some(misses_tx);
        let run = move |misses: Vec<u64>| {
            if let Some(tx) = misses_tx.take() {
                let _ = tx.send(misses);
            }
            // No answer: the run failed, and says so itself.
            job_rx.recv().map_err(|_| {
                vtsum_core::Error::io(
                    "running the scan",
                    std::io::Error::other("the misses were not looked up"),
                )
            })
        };
        let counted = Summary {
            total,
            ..Summary::default()
        };
        let writer = self.write_report(counted, move |engine, items| {
            ScanRows::new(engine, items, row_options, Box::new(run))
        });
        let outcome = match misses_rx.await {
            // The report was written whole from the cache (or its writing failed).
            Err(_) => Ok(RunOutcome::Done),
            Ok(misses) => match self.make_job(&id, spec, &misses).await {
                Ok(()) => {
                    let outcome = self.run_job(&id, progress, cancel).await;
                    let _ = job_tx.send(Some(id));
                    outcome.map_err(anyhow::Error::from)
                }
                Err(e) => {
                    drop(job_tx);
                    Err(e)
                }
            },
        };
        let counted = writer.await?;
        // The run's own error first: the writer's then only says the run stopped.
        let outcome = outcome?;
        let summary = self.scan.summary(&outcome, total).counted(counted?);
        Ok((outcome, summary))
    }

    /// Writes the whole report from the cache and `job` (the misses' job, if any).
    async fn render(&self, job: Option<JobId>, summary: Summary) -> Result<Summary> {
        let row_options = self.scan.row_options;
        self.write_report(summary, move |engine, items| {
            ScanRows::merged(engine, items, row_options, job)
        })
        .await?
    }

    /// Writes the report of the rows `rows` makes, on a blocking thread; returns the
    /// summary completed from them.
    fn write_report<F>(&self, summary: Summary, rows: F) -> JoinHandle<Result<Summary>>
    where
        F: for<'a> FnOnce(&'a Engine, &'a [Target]) -> ScanRows<'a> + Send + 'static,
    {
        let scan = &self.scan;
        let (engine, items, output, opts) = (
            scan.engine.clone(),
            self.items.clone(),
            scan.output.clone(),
            scan.opts.clone(),
        );
        let format = scan.format;
        tokio::task::spawn_blocking(move || -> Result<Summary> {
            let mut summary = summary;
            let rows = rows(&engine, &items);
            write_rows(&mut lock(&output), |w| {
                render::render_rows(w, format, &rows, &mut summary, &opts)
            })?;
            Ok(summary)
        })
    }

    /// The job of the misses (input indexes), in input order.
    async fn make_job(&self, id: &JobId, mut spec: JobSpec, misses: &[u64]) -> Result<()> {
        spec.answered_from_cache = (self.items.len() - misses.len()) as u64;
        let targets: Vec<Target> = misses
            .iter()
            .map(|&i| self.items[i as usize].clone())
            .collect();
        let (engine, id) = (self.scan.engine.clone(), id.clone());
        off_runtime("opening the scan", move || {
            engine.scan_create(&id, spec, &targets).map(|_| ())
        })
        .await?;
        Ok(())
    }

    async fn run_job(
        &self,
        id: &JobId,
        sink: &(dyn Fn(&Event) + Send + Sync),
        cancel: &Cancel,
    ) -> vtsum_core::Result<RunOutcome> {
        let engine = &self.scan.engine;
        engine.group_hashes(id, &self.alternates);
        engine.run_job(id, self.scan.run, sink, cancel).await
    }
}
