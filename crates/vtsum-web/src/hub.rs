//! Fan-out of a job's live updates to every open job page. One broadcast channel per job,
//! made when the first watcher or the first update needs it. A watcher that falls behind
//! gets a `resync` and reloads the true state from the store, so nothing is missed.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::broadcast;
use vtsum_core::store::JobId;

/// One update, already serialised: the name of the SSE event and its JSON data.
#[derive(Debug, Clone)]
pub struct Update {
    pub event: &'static str,
    pub data: String,
}

impl Update {
    /// The update as one message between processes: the event name, a newline, the data.
    pub fn to_wire(&self) -> String {
        format!("{}\n{}", self.event, self.data)
    }

    /// Reads [`Update::to_wire`]'s output; `None` for an event no page reads.
    pub fn from_wire(text: &str) -> Option<Update> {
        let (name, data) = text.split_once('\n')?;
        let event = ["row", "job", "keys", "notice", "resync"]
            .into_iter()
            .find(|e| *e == name)?;
        Some(Update {
            event,
            data: data.to_string(),
        })
    }
}

/// Updates buffered per watcher before it counts as lagging.
const CAPACITY: usize = 1024;

#[derive(Default)]
pub struct Hub {
    channels: Mutex<HashMap<JobId, broadcast::Sender<Update>>>,
}

impl Hub {
    fn channels(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, broadcast::Sender<Update>>> {
        self.channels.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts watching a job.
    pub fn subscribe(&self, id: &JobId) -> broadcast::Receiver<Update> {
        self.channels()
            .entry(id.clone())
            .or_insert_with(|| broadcast::channel(CAPACITY).0)
            .subscribe()
    }

    /// Sends an update to a job's watchers, if it has any.
    pub fn publish(&self, id: &JobId, update: Update) {
        let mut channels = self.channels();
        if let Some(tx) = channels.get(id) {
            if tx.send(update).is_err() {
                // Nobody is watching any more.
                channels.remove(id);
            }
        }
    }

    /// Forgets a job (deleted): its watchers' streams end.
    pub fn remove(&self, id: &JobId) {
        self.channels().remove(id);
    }
}

impl Hub {
    /// Ends every watcher's stream (the server is shutting down).
    pub fn close_all(&self) {
        self.channels().clear();
    }
}
