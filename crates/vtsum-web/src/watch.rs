//! Watchlists in the web app (issue 16), JSON side: the lists, a list's items with their
//! history, "watch these" on a job (all its rows, or only the unknown and clean ones), the
//! changes with their deliveries. The pages ([`crate::pages::watch`]) call the same
//! functions. Everything goes through the store's `WatchStore`, on blocking threads.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use vtsum_core::diff::Snapshot;
use vtsum_core::engine::now_unix;
use vtsum_core::report::{ItemResult, Row, Verdict};
use vtsum_core::store::off_runtime;
use vtsum_core::watch::{
    check_name, ChangeRecord, Delivery, HistoryEntry, ListInfo, OutboxStats, WatchItem, WatchList,
    WatchStore,
};
use vtsum_core::Target;

use crate::api::load_job;
use crate::error::ApiError;
use crate::{App, WebError};

/// The default interval of a list made from the web: a week.
pub const DEFAULT_EVERY: u64 = 7 * 86_400;

/// The store's watchlists, or why there are none.
pub fn watches(app: &App) -> Result<Arc<dyn WatchStore>, WebError> {
    app.inner.store.clone().watches().ok_or_else(|| {
        WebError::BadRequest(
            "this server's store keeps no watchlists: run it on the SQLite store or Redis".into(),
        )
    })
}

async fn call<T: Send + 'static>(
    app: &App,
    f: impl FnOnce(&dyn WatchStore) -> vtsum_core::Result<T> + Send + 'static,
) -> Result<T, WebError> {
    let w = watches(app)?;
    Ok(off_runtime("a watchlist call", move || f(w.as_ref())).await?)
}

/// An item with its answers.
#[derive(Serialize)]
pub struct ItemView {
    #[serde(flatten)]
    pub item: WatchItem,
    pub kind: &'static str,
    pub history: Vec<HistoryEntry>,
}

#[derive(Serialize)]
pub struct ListView {
    pub list: ListInfo,
    pub items: Vec<ItemView>,
}

pub async fn lists(app: &App) -> Result<Vec<ListInfo>, WebError> {
    call(app, |w| w.watch_lists()).await
}

/// A list with every item and its history, or 404.
pub async fn list(app: &App, name: &str) -> Result<ListView, WebError> {
    let wanted = name.to_string();
    let found = call(app, move |w| {
        let Some(info) = w.watch_lists()?.into_iter().find(|l| l.list.name == wanted) else {
            return Ok(None);
        };
        let mut items = Vec::new();
        for item in w.watch_items(&wanted)? {
            let history = w.watch_history(&wanted, &item.target.key())?;
            let kind = item.target.kind().as_str();
            items.push(ItemView {
                item,
                kind,
                history,
            });
        }
        Ok(Some(ListView { list: info, items }))
    })
    .await?;
    found.ok_or_else(|| no_list(name))
}

fn no_list(name: &str) -> WebError {
    WebError::NotFound(format!(
        "no watchlist named {:?}",
        name.chars().take(64).collect::<String>()
    ))
}

/// What "watch these" asks.
#[derive(Debug, Deserialize, Default)]
pub struct WatchParams {
    /// The list to add to (made when new).
    pub list: Option<String>,
    /// `all` (the default) or `unknown_clean`: only the rows VirusTotal did not know or
    /// found clean, the ones worth asking again.
    pub only: Option<String>,
    /// The new list's interval in seconds (an existing list keeps its own).
    pub every: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct Watched {
    pub list: String,
    pub added: u64,
    pub items: u64,
}

/// Puts a job's indicators on a list.
pub async fn watch_job(app: &App, id: &str, p: WatchParams) -> Result<Watched, WebError> {
    let name = p.list.unwrap_or_default().trim().to_string();
    check_name(&name).map_err(WebError::BadRequest)?;
    let only_some = match p.only.as_deref().unwrap_or("all") {
        "all" => false,
        "unknown_clean" => true,
        other => {
            return Err(WebError::BadRequest(format!(
                "only={:?}: use all or unknown_clean",
                other.chars().take(32).collect::<String>()
            )))
        }
    };
    let every = p.every.unwrap_or(DEFAULT_EVERY).clamp(1, 3650 * 86_400);
    let job = load_job(app, id).await?;
    let store = app.inner.store.clone();
    let w = watches(app)?;
    off_runtime("watching a job's indicators", move || {
        let options = job.spec.row_options;
        let mut targets: Vec<Target> = Vec::new();
        // The job's answers are the new items' first history: no request to learn them.
        let mut answers: HashMap<String, (Row, i64)> = HashMap::new();
        for item in store.job_items(&job.id, 0, job.total)? {
            let Some(result) = &item.result else { continue };
            let row = Row::from_result(item.target.clone(), result, options);
            if !only_some || matches!(row.verdict, Verdict::Unknown | Verdict::Clean) {
                if let ItemResult::Lookup { fetched_at, .. } = result {
                    answers.insert(item.target.key(), (row, *fetched_at));
                }
                targets.push(item.target);
            }
        }
        let now = now_unix();
        let old = w.watch_get(&name)?;
        w.watch_put(&WatchList {
            name: name.clone(),
            every: old.as_ref().map_or(every, |o| o.every),
            every_unknown: old.as_ref().map_or(every, |o| o.every_unknown),
            threshold: old.as_ref().map_or(options.threshold, |o| o.threshold),
            created_at: old.as_ref().map_or(now, |o| o.created_at),
        })?;
        let added = w.watch_add(&name, &targets, now)?;
        let items = w.watch_items(&name)?;
        for item in items.iter().filter(|i| i.last.is_none()) {
            if let Some((row, fetched_at)) = answers.get(&item.target.key()) {
                let snapshot = Snapshot::of(row);
                w.watch_record(
                    item,
                    &snapshot,
                    *fetched_at,
                    row.permalink.as_deref(),
                    now,
                    &[],
                )?;
            }
        }
        let items = items.len() as u64;
        Ok(Watched {
            list: name,
            added,
            items,
        })
    })
    .await
    .map_err(WebError::from)
}

/// A change with its deliveries.
#[derive(Serialize)]
pub struct ChangeView {
    #[serde(flatten)]
    pub change: ChangeRecord,
    pub deliveries: Vec<Delivery>,
}

#[derive(Serialize)]
pub struct ChangesView {
    pub changes: Vec<ChangeView>,
    pub outbox: OutboxStats,
}

/// The changes since `since` (newest last), at most 1,000.
pub async fn changes(app: &App, since: i64) -> Result<ChangesView, WebError> {
    call(app, move |w| {
        let mut changes = Vec::new();
        for change in w.watch_changes(since, 1000)? {
            let deliveries = w.outbox_of(change.id)?;
            changes.push(ChangeView { change, deliveries });
        }
        Ok(ChangesView {
            changes,
            outbox: w.outbox_stats()?,
        })
    })
    .await
}

/// `GET /api/v1/watchlists`.
pub async fn api_lists(State(app): State<App>) -> Result<Response, ApiError> {
    Ok(Json(serde_json::json!({ "watchlists": lists(&app).await? })).into_response())
}

/// `GET /api/v1/watchlists/{name}`.
pub async fn api_list(
    State(app): State<App>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(list(&app, &name).await?).into_response())
}

/// `DELETE /api/v1/watchlists/{name}`.
pub async fn api_delete(
    State(app): State<App>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let wanted = name.clone();
    if !call(&app, move |w| w.watch_delete(&wanted)).await? {
        return Err(no_list(&name).into());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/jobs/{id}/watch?list=NAME&only=all|unknown_clean&every=SECONDS`.
pub async fn api_watch_job(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(p): Query<WatchParams>,
) -> Result<Response, ApiError> {
    Ok((StatusCode::CREATED, Json(watch_job(&app, &id, p).await?)).into_response())
}

#[derive(Deserialize)]
pub struct SinceQuery {
    since: Option<i64>,
}

/// `GET /api/v1/changes?since=UNIX`.
pub async fn api_changes(
    State(app): State<App>,
    Query(q): Query<SinceQuery>,
) -> Result<Response, ApiError> {
    Ok(Json(changes(&app, q.since.unwrap_or(0)).await?).into_response())
}
