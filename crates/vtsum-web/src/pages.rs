//! The HTML pages: server-rendered shells, filled in and kept live by the embedded script
//! (`assets/app.js`). They work without JavaScript as far as plain HTML allows: the form
//! posts, the job page links its downloads.
//!
//! Each page is a template under `templates/` (all extend `base.html`), rendered with
//! askama: templates are compiled with the crate, so a field they name that the page's
//! struct lacks is a build error rather than a blank in production, and every `{{ }}` is
//! HTML-escaped unless a template says otherwise — which none does ([`html`]'s tests check
//! it). Escaping is no longer a call each page must remember to make.

pub(crate) mod html;
pub(crate) mod watch;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use vtsum_core::render::Format;
use vtsum_core::report::Verdict;

use crate::api::{self, quota_view};
use crate::error::PageError;
use crate::{input, App, WebError};
use html::{render, Download, FrontPage, JobPage, JobRow, JobsPage, KeyNotice, Layout, LoginPage};

/// What the job page offers to download: the core registry's downloads, in its order.
fn downloads() -> Vec<Download> {
    Format::DOWNLOADS
        .iter()
        .map(|f| Download {
            format: f.name(),
            name: f.label(),
        })
        .collect()
}

/// The layout of a page a signed-in visitor (or anyone, on a server without a token) sees.
pub(crate) fn layout<'a>(app: &App, title: &'a str, page: &'static str) -> Layout<'a> {
    Layout {
        title,
        page,
        job: None,
        sign_out: app.inner.config.auth_token.is_some(),
    }
}

/// The sign-in page; `problem` says why the last try failed.
pub fn login_page(problem: Option<&str>) -> Result<Html<String>, WebError> {
    Ok(render(&LoginPage {
        layout: Layout {
            title: "Sign in",
            page: "login",
            job: None,
            sign_out: false,
        },
        problem,
    })?)
}

/// `GET /`.
pub async fn front(State(app): State<App>) -> Result<Html<String>, PageError> {
    let quota = quota_view(&app).await?;
    let jobs = api::web_jobs(&app).await?;
    let key_notice = if quota.configured {
        KeyNotice::Configured
    } else if app.inner.jobs.has_queue() {
        KeyNotice::Replica
    } else {
        KeyNotice::Missing
    };
    let limit_mib = app.inner.config.upload_limit as f64 / (1 << 20) as f64;
    Ok(render(&FrontPage {
        layout: layout(&app, "New scan", "front"),
        key_notice,
        upload_limit_mib: format!("{limit_mib:.0}"),
        quota: &quota,
        jobs: jobs.iter().take(10).map(JobRow::new).collect(),
    })?)
}

/// `POST /jobs`: the front page's form; answers with the new job's page.
pub async fn submit(State(app): State<App>, req: Request) -> Result<Response, PageError> {
    let config = &app.inner.config;
    let sub = input::read_skipping(req, config.upload_limit, &config.skip).await?;
    let job = api::create_job(&app, sub).await?;
    Ok(Redirect::to(&format!("/jobs/{}", job.id)).into_response())
}

/// `GET /jobs`.
pub async fn jobs(State(app): State<App>) -> Result<Html<String>, PageError> {
    let jobs = api::web_jobs(&app).await?;
    Ok(render(&JobsPage {
        layout: layout(&app, "Jobs", "jobs"),
        jobs: jobs.iter().map(JobRow::new).collect(),
    })?)
}

/// `POST /jobs/{id}/delete`.
pub async fn delete(State(app): State<App>, Path(id): Path<String>) -> Result<Response, PageError> {
    api::delete_job(&app, &id).await?;
    Ok(Redirect::to("/jobs").into_response())
}

/// `GET /jobs/{id}`: progress, then the report, on one page.
pub async fn job(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let job = api::load_job(&app, &id).await?;
    let quota = quota_view(&app).await?;
    let id = job.id.0.as_str();
    Ok(render(&JobPage {
        layout: Layout {
            job: Some(id),
            ..layout(&app, &job.spec.label, "job")
        },
        id,
        label: &job.spec.label,
        state: job.state.as_str(),
        done: job.done,
        total: job.total,
        lines_without_hash: job.spec.lines_without_hash,
        duplicates: job.spec.duplicates,
        quota: &quota,
        verdicts: &Verdict::ALL,
        downloads: &downloads(),
    })?)
}

/// Anything else.
pub async fn not_found() -> Response {
    html::error_page(StatusCode::NOT_FOUND, "There is no page at this address.")
}
