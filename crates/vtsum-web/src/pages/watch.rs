//! The watchlist pages (issue 16): every list, one list's items with their history, the
//! Changes feed with each alert's deliveries, and the job page's "Watch these" form. The
//! data comes from [`crate::watch`], as the JSON API's does; every value is escaped by the
//! templates (labels and names are VirusTotal's, chosen by whoever uploaded the file).

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::html::{page_time, render, Layout};
use super::layout;
use crate::error::PageError;
use crate::watch::{self, ChangesView, ListView, WatchParams};
use crate::App;
use vtsum_core::watch::ListInfo;

/// A time as the pages show it: `YYYY-MM-DD HH:MM:SS`, UTC, or `never`.
pub fn when(unix: &Option<i64>) -> String {
    match unix.map(page_time) {
        Some(t) if !t.is_empty() => t,
        _ => "never".into(),
    }
}

/// A time that is always there.
pub fn at(unix: &i64) -> String {
    when(&Some(*unix))
}

/// An interval in days or hours.
pub fn every(secs: &u64) -> String {
    match *secs {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{} d", s / 86_400),
        s if s >= 3600 && s % 3600 == 0 => format!("{} h", s / 3600),
        s => format!("{s} s"),
    }
}

#[derive(Template)]
#[template(path = "watchlists.html")]
pub struct ListsPage<'a> {
    pub layout: Layout<'a>,
    pub lists: &'a [ListInfo],
}

#[derive(Template)]
#[template(path = "watchlist.html")]
pub struct ListPage<'a> {
    pub layout: Layout<'a>,
    pub view: &'a ListView,
}

#[derive(Template)]
#[template(path = "changes.html")]
pub struct ChangesPage<'a> {
    pub layout: Layout<'a>,
    pub view: &'a ChangesView,
}

/// `GET /watchlists`.
pub async fn lists(State(app): State<App>) -> Result<Html<String>, PageError> {
    let lists = watch::lists(&app).await?;
    Ok(render(&ListsPage {
        layout: layout(&app, "Watchlists", "watchlists"),
        lists: &lists,
    })?)
}

/// `GET /watchlists/{name}`.
pub async fn list(
    State(app): State<App>,
    Path(name): Path<String>,
) -> Result<Html<String>, PageError> {
    let view = watch::list(&app, &name).await?;
    Ok(render(&ListPage {
        layout: layout(&app, &view.list.list.name, "watchlist"),
        view: &view,
    })?)
}

/// `GET /changes`.
pub async fn changes(State(app): State<App>) -> Result<Html<String>, PageError> {
    let view = watch::changes(&app, 0).await?;
    Ok(render(&ChangesPage {
        layout: layout(&app, "Changes", "changes"),
        view: &view,
    })?)
}

/// `POST /jobs/{id}/watch`: the job page's form; answers with the list's page.
pub async fn watch_job(
    State(app): State<App>,
    Path(id): Path<String>,
    Form(p): Form<WatchParams>,
) -> Result<Response, PageError> {
    let done = watch::watch_job(&app, &id, p).await?;
    Ok(Redirect::to(&format!("/watchlists/{}", done.list)).into_response())
}
