//! A job's event stream read as a page reads it: `(event, data)` pairs, in the order they
//! came, with every wait bounded.

use std::time::{Duration, Instant};

use axum::body::{Body, BodyDataStream};
use axum::http::Request;
use tokio_stream::StreamExt;

/// One event: its name and its JSON data (`null` when the data is not JSON).
pub type Event = (String, serde_json::Value);

/// An open `GET /api/v1/jobs/{id}/events`.
pub struct Events {
    stream: BodyDataStream,
    buffer: String,
    /// Every event read so far.
    pub seen: Vec<Event>,
}

impl Events {
    /// Opens the stream (nothing is read until [`Events::until`]).
    pub async fn open(app: &vtsum_web::App, id: &str) -> Events {
        let req = Request::get(format!("/api/v1/jobs/{id}/events"))
            .body(Body::empty())
            .expect("request");
        let res = tower::ServiceExt::oneshot(vtsum_web::router(app.clone()), req)
            .await
            .expect("the router is infallible");
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        Events {
            stream: res.into_body().into_data_stream(),
            buffer: String::new(),
            seen: Vec::new(),
        }
    }

    /// Reads until `done` holds for the events so far; panics after `within`.
    pub async fn until(
        &mut self,
        within: Duration,
        mut done: impl FnMut(&[Event]) -> bool,
    ) -> &[Event] {
        let deadline = Instant::now() + within;
        while !done(&self.seen) {
            let left = deadline.saturating_duration_since(Instant::now());
            let chunk = tokio::time::timeout(left, self.stream.next())
                .await
                .unwrap_or_else(|_| panic!("no further events; got {:?}", self.seen))
                .expect("the stream ended early")
                .expect("stream error");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        name = v.to_string();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if !data.is_empty() {
                    let value = serde_json::from_str(&data).unwrap_or(serde_json::Value::Null);
                    self.seen.push((name, value));
                }
            }
        }
        &self.seen
    }
}

/// Opens a job's stream and reads it until `done` holds.
pub async fn read_events(
    app: &vtsum_web::App,
    id: &str,
    within: Duration,
    done: impl FnMut(&[Event]) -> bool,
) -> Vec<Event> {
    let mut events = Events::open(app, id).await;
    events.until(within, done).await;
    events.seen
}

/// Whether the job's last `job` event says `state`.
pub fn last_state_is(events: &[Event], state: &str) -> bool {
    events
        .iter()
        .rev()
        .find(|(n, _)| n == "job")
        .is_some_and(|(_, d)| d["state"] == state)
}
