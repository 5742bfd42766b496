//! Fan-out of a job's live updates to every open job page. One broadcast channel per job,
//! made when the first watcher
//! of a job that exists comes, and removed when the last one leaves (or the job is deleted). A watcher that falls behind
//! gets a `resync` and reloads the true state from the store, so nothing is missed.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use tokio::sync::broadcast;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::Stream;
use vtsum_core::store::JobId;

/// The SSE event names a job page reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SseEvent {
    Row,
    Job,
    Keys,
    Notice,
    /// The watcher fell behind: reload the results.
    Resync,
}

impl SseEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            SseEvent::Row => "row",
            SseEvent::Job => "job",
            SseEvent::Keys => "keys",
            SseEvent::Notice => "notice",
            SseEvent::Resync => "resync",
        }
    }
}

/// One update, already serialised: its SSE event and JSON data.
#[derive(Debug, Clone)]
pub struct Update {
    pub event: SseEvent,
    pub data: String,
}

/// Updates buffered per watcher before it counts as lagging.
const CAPACITY: usize = 1024;

type Channels = Arc<Mutex<HashMap<JobId, broadcast::Sender<Update>>>>;

fn lock(channels: &Channels) -> MutexGuard<'_, HashMap<JobId, broadcast::Sender<Update>>> {
    channels.lock().unwrap_or_else(|e| e.into_inner())
}

/// Cheap to clone: every clone feeds the same channels.
#[derive(Default, Clone)]
pub struct Hub {
    channels: Channels,
}

impl Hub {
    /// Starts watching a job. Call only for a job that exists: the channel lives as long
    /// as someone watches it, and the returned stream removes it when it is the last.
    pub fn subscribe(&self, id: &JobId) -> Watch {
        let rx = lock(&self.channels)
            .entry(id.clone())
            .or_insert_with(|| broadcast::channel(CAPACITY).0)
            .subscribe();
        Watch {
            live: Some(BroadcastStream::new(rx)),
            id: id.clone(),
            channels: self.channels.clone(),
        }
    }

    /// Sends an update to a job's watchers, if it has any. A job nobody watches gets no
    /// channel: its run never needs one.
    pub fn publish(&self, id: &JobId, update: Update) {
        let mut channels = lock(&self.channels);
        if let Some(tx) = channels.get(id) {
            if tx.send(update).is_err() {
                // Nobody is watching any more.
                channels.remove(id);
            }
        }
    }

    /// Forgets a job (deleted): its watchers' streams end.
    pub fn remove(&self, id: &JobId) {
        lock(&self.channels).remove(id);
    }

    /// Ends every watcher's stream (the server is shutting down).
    pub fn close_all(&self) {
        lock(&self.channels).clear();
    }

    /// How many jobs have a channel now (watched jobs): what a leak would grow.
    pub fn channels(&self) -> usize {
        lock(&self.channels).len()
    }
}

/// One watcher's stream of a job's updates. Dropping it (the page closed) removes the
/// job's channel when no other watcher is left.
pub struct Watch {
    /// `None` only while being dropped: the receiver must go before the count is read.
    live: Option<BroadcastStream<Update>>,
    id: JobId,
    channels: Channels,
}

impl Stream for Watch {
    type Item = Result<Update, BroadcastStreamRecvError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.live.as_mut() {
            Some(live) => Pin::new(live).poll_next(cx),
            None => Poll::Ready(None),
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.live.take();
        let mut channels = lock(&self.channels);
        if channels
            .get(&self.id)
            .is_some_and(|tx| tx.receiver_count() == 0)
        {
            channels.remove(&self.id);
        }
    }
}
