//! `GET /api/v1/jobs/{id}/events`: a job's live updates as Server-Sent Events.
//!
//! The stream opens with the job's true state from the store (`job`, `keys`), then relays
//! the runner's updates: `row` (`{"index", "row"}`) as each result lands, `job` and `keys`
//! a few times a second, `notice` for a rejected key, and `resync` when this watcher fell
//! behind and should reload the results. Only a job found in the store is subscribed to,
//! and its state is read after subscribing, so no update between the two is lost; a row may arrive twice, and pages key rows by input.

use std::convert::Infallible;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::{Stream, StreamExt};

use vtsum_core::jobs::{snapshot, JobUpdate};

use crate::api::load_job;
use crate::error::ApiError;
use crate::hub::{SseEvent, Update};
use crate::view::{key_views, JobView};
use crate::App;

fn event(update: Update) -> Event {
    Event::default()
        .event(update.event.as_str())
        .data(update.data)
}

/// A job update as the SSE event a page reads: its view of the job or keys, a row with its
/// input position, a notice.
pub(crate) fn to_sse(update: &JobUpdate) -> Update {
    let json = |v: serde_json::Value| v.to_string();
    let (event, data) = match update {
        JobUpdate::Row { index, row } => (
            SseEvent::Row,
            json(serde_json::json!({ "index": index, "row": row })),
        ),
        JobUpdate::Job { job, eta_secs } => (
            SseEvent::Job,
            serde_json::to_string(&JobView::new(job, *eta_secs)).expect("views serialise"),
        ),
        JobUpdate::Keys { keys } => (
            SseEvent::Keys,
            serde_json::to_string(&key_views(keys)).expect("views serialise"),
        ),
        JobUpdate::Notice { message } => (
            SseEvent::Notice,
            json(serde_json::json!({ "message": message })),
        ),
    };
    Update { event, data }
}

pub async fn events(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Only a job that exists gets a channel; the job is read again after subscribing so
    // that no update between the two reads is lost.
    let found = load_job(&app, &id).await?;
    let watch = app.inner.hub.subscribe(&found.id);
    let job = load_job(&app, &id).await?;
    let first = snapshot(app.inner.engine.as_ref(), &job, None)
        .await
        .iter()
        .map(|u| event(to_sse(u)))
        .collect::<Vec<_>>();
    let live = watch.map(|update| match update {
        Ok(u) => event(u),
        Err(BroadcastStreamRecvError::Lagged(_)) => {
            Event::default().event(SseEvent::Resync.as_str()).data("{}")
        }
    });
    let stream = tokio_stream::iter(first).chain(live).map(Ok);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
