//! The JSON API under `/api/v1`: submit a job, read its state and results, delete it, look
//! up one hash, read the keys' quota. `openapi.json` documents exactly these routes.

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use vtsum_core::engine::{fill_engines, now_unix, JobRows};
use vtsum_core::extract::ioc::IndicatorKind;
use vtsum_core::render::{self, Format, RenderOptions};
use vtsum_core::report::{iso8601, Row, RowOptions, Summary};
use vtsum_core::store::{self, JobId, JobInfo, JobOrigin, JobSpec, Store};
use vtsum_core::{Hash, Target};

use crate::download;
use crate::error::ApiError;
use crate::input::{self, clean_label, label_or, Submission};
use crate::lookup;
use crate::paging::{self, PageParams};
use crate::view::{self, JobView, QuotaView};
use crate::{App, WebError};

/// Parses a job id from a path, or 404s (an id that cannot exist is simply not found).
pub fn job_id(text: &str) -> Result<JobId, WebError> {
    JobId::parse(text).ok_or_else(|| WebError::NoSuchJob(text.chars().take(64).collect()))
}

/// Reads a job (on a blocking thread) or 404s.
pub async fn load_job(app: &App, id: &str) -> Result<JobInfo, WebError> {
    let id = job_id(id)?;
    let wanted = id.clone();
    store::blocking(&app.inner.store, move |s| s.job_get(&wanted))
        .await?
        .filter(|j| j.spec.origin != JobOrigin::Lookup)
        .ok_or(WebError::NoSuchJob(id.0))
}

/// Stores a submission as a queued job and wakes the runner.
pub async fn create_job(app: &App, sub: Submission) -> Result<JobInfo, WebError> {
    // With a work queue, workers elsewhere may hold the keys this replica lacks.
    if app.inner.engine.is_none() && !app.inner.jobs.has_queue() {
        return Err(WebError::NoKeys);
    }
    let mut ex = sub.extracted;
    if !sub.kinds.hashes {
        // Only URLs, domains or IP addresses were asked for.
        ex.drop_hashes();
    }
    let others = sub.others.unwrap_or_default();
    if ex.hashes.is_empty() && others.found.is_empty() {
        let wanted = if sub.kinds.any_other() {
            "no indicator of the kinds asked for"
        } else {
            "no md5, sha1 or sha256 hashes"
        };
        return Err(WebError::BadRequest(format!(
            "{wanted} found in the input ({} non-blank lines held none)",
            ex.lines_without_hash
        )));
    }
    let spec = JobSpec {
        label: match others.found.len() {
            0 => clean_label(&sub.label, ex.hashes.len()),
            n => label_or(&sub.label, || {
                let s = if n == 1 { "" } else { "s" };
                format!(
                    "{} and {n} other indicator{s}",
                    clean_label("", ex.hashes.len())
                )
            }),
        },
        row_options: RowOptions {
            threshold: app.inner.config.threshold,
            engines: false,
        },
        refresh: false,
        lines_without_hash: ex.lines_without_hash,
        duplicates: ex.duplicates,
        origin: JobOrigin::Web,
        non_file_hashes: ex.non_file_hashes,
        skipped: others.skipped.total(),
        private_ips: others.private_ips,
        // Counted from the items by `Jobs::create`.
        objects: 0,
        answered_from_cache: 0,
    };
    let hashes = ex.take_job_targets(&others.found);
    Ok(app.inner.jobs.create(spec, hashes, &ex.alternates).await?)
}

/// `POST /api/v1/jobs`.
pub async fn submit(State(app): State<App>, req: Request) -> Result<Response, ApiError> {
    let config = &app.inner.config;
    let sub = input::read_skipping(req, config.upload_limit, &config.skip).await?;
    let job = create_job(&app, sub).await?;
    let view = JobView::new(&job, None);
    let location = format!("/api/v1/jobs/{}", job.id);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(view),
    )
        .into_response())
}

/// `POST /api/v1/extract`: what a submission would hold, without starting anything.
pub async fn preview(State(app): State<App>, req: Request) -> Result<Response, ApiError> {
    let config = &app.inner.config;
    let sub = input::read_with_others(req, config.upload_limit, true, &config.skip).await?;
    let ex = sub.extracted;
    let others = sub.others.unwrap_or_default();
    let of = |kind| others.values(kind).count();
    Ok(Json(serde_json::json!({
        "urls": of(IndicatorKind::Url),
        "domains": of(IndicatorKind::Domain),
        "ips": of(IndicatorKind::Ip),
        "private_ips": others.private_ips,
        "hashes": ex.hashes.len(),
        "duplicates": ex.duplicates,
        "lines": ex.lines,
        "lines_without_hash": ex.lines_without_hash,
        "non_file_hashes": ex.non_file_hashes,
    }))
    .into_response())
}

/// `GET /api/v1/jobs`: every web job, newest first.
pub async fn list(State(app): State<App>) -> Result<Json<Vec<JobView>>, ApiError> {
    Ok(Json(
        web_jobs(&app)
            .await?
            .iter()
            .map(|j| JobView::new(j, None))
            .collect(),
    ))
}

/// Every job the web app made, newest first.
pub async fn web_jobs(app: &App) -> Result<Vec<JobInfo>, WebError> {
    Ok(store::blocking(&app.inner.store, |s| s.job_list())
        .await?
        .into_iter()
        .filter(|j| j.spec.origin == JobOrigin::Web)
        .collect())
}

/// `GET /api/v1/jobs/{id}`.
pub async fn get(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    Ok(Json(JobView::new(&load_job(&app, &id).await?, None)))
}

/// `DELETE /api/v1/jobs/{id}`: stops it if running and removes it with its results.
pub async fn delete(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    delete_job(&app, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stops and deletes a job (results included; cached answers stay in the cache).
pub async fn delete_job(app: &App, id: &str) -> Result<(), WebError> {
    let job = load_job(app, id).await?;
    app.inner.jobs.delete(&job.id).await?;
    app.inner.hub.remove(&job.id);
    Ok(())
}

#[derive(Deserialize)]
pub struct ResultsQuery {
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    engines: Option<bool>,
    #[serde(default)]
    offset: Option<String>,
    #[serde(default)]
    limit: Option<String>,
    #[serde(default)]
    sort: Option<String>,
    #[serde(default)]
    order: Option<String>,
    #[serde(default)]
    verdict: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    q: Option<String>,
}

/// `GET /api/v1/jobs/{id}/results`: with any of `offset`, `limit`, `sort`, `order`,
/// `verdict` or `q`, one page of rows as JSON (see [`paging`]); otherwise the rows
/// finished so far as a download, `?format=json|jsonl|csv|xlsx|html|stix|misp` (JSON when
/// absent).
pub async fn results(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Query<ResultsQuery>,
) -> Result<Response, ApiError> {
    let job = load_job(&app, &id).await?;
    let mut options = job.spec.row_options;
    options.engines = q.engines.unwrap_or(false);
    let params = PageParams {
        offset: q.offset,
        limit: q.limit,
        sort: q.sort,
        order: q.order,
        verdict: q.verdict,
        kind: q.kind,
        q: q.q,
    };
    if params.any() {
        if q.format.is_some() {
            return Err(WebError::BadRequest(
                "format asks for a download of every row, and offset, limit, sort, order, \
                 verdict, kind and q for one page as JSON: send one or the other"
                    .into(),
            )
            .into());
        }
        let body = paging::page(&app, job, &params, options).await?;
        return Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response());
    }
    let format = download_format(q.format.as_deref())?;
    let file_name = format!("vtsum-{}.{}", &job.id.0[..8], format.extension());
    // The rows are read from the store and rendered on a blocking thread, a page at a
    // time, and sent as they are written: a million-row report is never in memory.
    let store = app.inner.store.clone();
    let body = download::stream(move |w| report(store.as_ref(), &job, options, format, w)).await?;
    Ok(download(body, format, &file_name))
}

/// Writes a job's finished rows in `format`, read from the store as they are written.
fn report(
    store: &dyn Store,
    job: &JobInfo,
    options: RowOptions,
    format: Format,
    w: &mut dyn std::io::Write,
) -> Result<(), WebError> {
    let mut summary = summary_base(job);
    let opts = RenderOptions {
        color: false,
        title: job.spec.label.clone(),
        generated_at: iso8601(now_unix()).unwrap_or_default(),
    };
    let rows = JobRows::new(store, job, options);
    render::render_rows(w, format, &rows, &mut summary, &opts).map_err(|e| match e {
        // Only a report too large for the format is the asker's to fix (pick another).
        vtsum_core::Error::Io { source, .. }
            if source.kind() == std::io::ErrorKind::InvalidInput =>
        {
            WebError::BadRequest(source.to_string())
        }
        vtsum_core::Error::Io { source, .. } => vtsum_core::Error::Io {
            context: format!("rendering job {} as {format}", job.id),
            source,
        }
        .into(),
        other => other.into(),
    })
}

/// The download format `?format=` names (JSON when absent), or a 400 listing the formats
/// the registry offers.
fn download_format(asked: Option<&str>) -> Result<Format, WebError> {
    let Some(asked) = asked else {
        return Ok(Format::Json);
    };
    asked
        .parse::<Format>()
        .ok()
        .filter(|f| f.is_download())
        .ok_or_else(|| {
            let names: Vec<&str> = Format::DOWNLOADS.iter().map(|f| f.name()).collect();
            WebError::BadRequest(format!(
                "format {:?} is not one of {}",
                asked.chars().take(20).collect::<String>(),
                names.join(", ")
            ))
        })
}

fn download(body: axum::body::Body, format: Format, file_name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// A job's summary before its rows are counted (the renderer counts them as they pass).
fn summary_base(job: &JobInfo) -> Summary {
    Summary {
        lines_without_hash: job.spec.lines_without_hash,
        duplicates: job.spec.duplicates,
        non_file_hashes: job.spec.non_file_hashes,
        skipped: job.spec.skipped,
        private_ips: job.spec.private_ips,
        total: job.total as usize,
        resumes_at: job.resumes_at.and_then(iso8601),
        ..Summary::default()
    }
}

#[derive(Deserialize)]
pub struct FileQuery {
    #[serde(default)]
    engines: Option<bool>,
}

/// `GET /api/v1/files/{hash}`: one hash, from the cache when fresh, else one request in
/// the interactive lane (`lookup`).
pub async fn file(
    State(app): State<App>,
    Path(hash): Path<String>,
    Query(q): Query<FileQuery>,
) -> Result<Json<Row>, ApiError> {
    let hash =
        Hash::parse(&hash).ok_or_else(|| WebError::BadHash(hash.chars().take(80).collect()))?;
    let options = RowOptions {
        threshold: app.inner.config.threshold,
        engines: q.engines.unwrap_or(false),
    };
    let answer = lookup::one(&app, &hash)
        .await
        .map_err(|refused| refused.into_web(&app))?;
    let row = Row::from_result(Target::File(hash), &answer.result, options);
    Ok(Json(with_engines(&app, row, options).await?))
}

/// A row with its per-engine results from the cached document, when they were asked for.
async fn with_engines(app: &App, mut row: Row, options: RowOptions) -> Result<Row, WebError> {
    if !options.engines {
        return Ok(row);
    }
    Ok(store::blocking(&app.inner.store, move |s| {
        fill_engines(s, &mut row)?;
        Ok(row)
    })
    .await?)
}

/// `GET /api/v1/quota`.
pub async fn quota(State(app): State<App>) -> Result<Json<QuotaView>, ApiError> {
    Ok(Json(quota_view(&app).await?))
}

pub async fn quota_view(app: &App) -> Result<QuotaView, WebError> {
    let stats = store::blocking(&app.inner.store, |s| s.cache_stats()).await?;
    Ok(QuotaView {
        configured: app.inner.engine.is_some(),
        keys: view::keys(app.inner.engine.as_ref()).await?,
        cache_found: stats.found,
        cache_unknown: stats.unknown,
    })
}
