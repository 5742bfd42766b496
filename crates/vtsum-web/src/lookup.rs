//! One hash asked for by a person or a tool: `GET /api/v1/files/{hash}` and the
//! VirusTotal-compatible `GET /api/v3/files/{hash}`. A fresh cached answer needs no job;
//! a miss is a one-hash job in the interactive lane (it goes ahead of batch jobs' queued
//! hashes) with the same cache rules, claims, quota and retries as every other hash, and
//! gives up after `--proxy-wait` when no key frees a slot in time.

use std::time::Duration;

use vtsum_core::engine::{now_unix, Cancel, Lane, RunOptions, RunOutcome};
use vtsum_core::report::{Document, ItemResult, Lookup, RowOptions};
use vtsum_core::store::{self, JobId, JobOrigin, JobSpec};
use vtsum_core::{Hash, Target};

use crate::{App, WebError};

/// How long a lookup waits for a key by default: within vt-py's 300 s timeout and most
/// HTTP clients' patience, and enough for a handful of queued lookups on free keys.
pub const DEFAULT_PROXY_WAIT: Duration = Duration::from_secs(120);

/// A hash's answer.
#[derive(Debug)]
pub struct Answer {
    pub result: ItemResult,
    /// Answered without a request of this lookup's own: from the cache, or from a request
    /// another lookup or job had in flight for the same file.
    pub from_cache: bool,
}

/// Why a lookup has no answer.
#[derive(Debug)]
pub enum Refused {
    /// Every key is out of daily quota until this Unix time.
    OutForDay {
        resumes_at: i64,
    },
    /// No key freed a slot within the wait.
    Busy {
        retry_after: u64,
    },
    Failed(WebError),
}

impl<E: Into<WebError>> From<E> for Refused {
    fn from(e: E) -> Self {
        Refused::Failed(e.into())
    }
}

impl Refused {
    /// The error the JSON API answers with.
    pub fn into_web(self, app: &App) -> WebError {
        match self {
            Refused::OutForDay { resumes_at } => WebError::QuotaOut {
                resumes_at: vtsum_core::report::iso8601(resumes_at).unwrap_or_default(),
            },
            Refused::Busy { retry_after } => WebError::Busy {
                wait: app.inner.config.proxy_wait().as_secs(),
                retry_after,
            },
            Refused::Failed(e) => e,
        }
    }
}

/// Looks `hash` up: the cache when fresh, else one request in the interactive lane.
pub async fn one(app: &App, hash: &Hash) -> Result<Answer, Refused> {
    match cached(app, hash, false).await? {
        Some((answer, _)) => Ok(answer),
        None => fetch(app, hash).await,
    }
}

/// The fresh cached answer for `hash`, if there is one, and with `document`, a found
/// file's cached document too (the VirusTotal-compatible endpoint answers with it): one
/// hop off the async threads.
pub async fn cached(
    app: &App,
    hash: &Hash,
    document: bool,
) -> Result<Option<(Answer, Option<Document>)>, Refused> {
    let engine = app.inner.engine.clone().ok_or(WebError::NoKeys)?;
    let hash = hash.clone();
    let found = store::off_runtime("a cache lookup", move || {
        let Some(result) = engine.cached(&hash)? else {
            return Ok(None);
        };
        let doc = match &result {
            ItemResult::Lookup {
                lookup: Lookup::Found(report),
                ..
            } if document => document_of(engine.store().as_ref(), &hash, &report.sha256)?,
            _ => None,
        };
        Ok(Some((result, doc)))
    })
    .await?;
    Ok(found.map(|(result, doc)| {
        let answer = Answer {
            result,
            from_cache: true,
        };
        (answer, doc)
    }))
}

/// The cached document of a found file, by its sha256 whichever of its hashes was asked.
/// One store read: call it off the async threads.
pub fn document_of(
    store: &dyn vtsum_core::store::Store,
    asked: &Hash,
    sha256: &str,
) -> vtsum_core::Result<Option<Document>> {
    store.cache_document(&Hash::parse(sha256).unwrap_or_else(|| asked.clone()))
}

/// Asks for `hash` through a one-hash job in the interactive lane; the run still takes a
/// cached answer that arrived meanwhile, and waits for a request another run has in
/// flight for it rather than sending a second.
pub async fn fetch(app: &App, hash: &Hash) -> Result<Answer, Refused> {
    let engine = app.inner.engine.clone().ok_or(WebError::NoKeys)?;
    let spec = JobSpec {
        label: String::new(),
        row_options: RowOptions {
            threshold: app.inner.config.threshold,
            engines: false,
        },
        origin: JobOrigin::Lookup,
        non_file_hashes: 0,
        ..JobSpec::default()
    };
    let id = JobId::random();
    let one = (id.clone(), Target::File(hash.clone()));
    store::blocking(&app.inner.store, move |s| {
        s.job_create(&one.0, &spec, std::slice::from_ref(&one.1), now_unix())
    })
    .await?;
    let opts = RunOptions {
        lane: Lane::Interactive,
        ..RunOptions::default()
    };
    let cancel = Cancel::new();
    let run = engine.run_job(&id, opts, &|_| {}, &cancel);
    tokio::pin!(run);
    let outcome = tokio::select! {
        outcome = &mut run => outcome,
        () = tokio::time::sleep(app.inner.config.proxy_wait()) => {
            // A request already in flight still lands (and is cached); a hash still
            // waiting for a key is left for a later ask.
            cancel.cancel();
            run.await
        }
    };
    let wanted = id.clone();
    let item = store::blocking(&app.inner.store, move |s| {
        let item = s.job_items(&wanted, 0, 1);
        if let Err(e) = s.job_delete(&wanted) {
            tracing::warn!("cannot delete lookup job {wanted}: {e}");
        }
        item
    })
    .await?;
    match outcome? {
        RunOutcome::WaitingQuota { resumes_at } => Err(Refused::OutForDay { resumes_at }),
        RunOutcome::Done | RunOutcome::Cancelled => {
            match item.into_iter().next().and_then(|i| i.result) {
                Some(result) => Ok(Answer {
                    from_cache: matches!(
                        result,
                        ItemResult::Lookup {
                            from_cache: true,
                            ..
                        }
                    ),
                    result,
                }),
                None => Err(Refused::Busy {
                    retry_after: retry_after(&engine),
                }),
            }
        }
    }
}

/// When a client that waited in vain should ask again: the shortest sliding window, by
/// which every slot taken now is free again.
fn retry_after(engine: &vtsum_core::engine::Engine) -> u64 {
    engine
        .config()
        .rate
        .sliding()
        .map(|l| l.window.as_secs_f64().ceil() as u64)
        .min()
        .unwrap_or(60)
        .max(1)
}
