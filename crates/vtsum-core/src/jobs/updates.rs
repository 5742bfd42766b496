//! What watchers of a job hear, typed: a row landed, the job's counters moved, the keys'
//! quota changed, a notice. The same values go to a page in this process and, as JSON,
//! between processes on a shared store (a worker's progress reaching every replica).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::engine::{Engine, Event};
use crate::quota::KeyStatus;
use crate::report::{Row, RowOptions};
use crate::store::{JobId, JobInfo};

/// One update about a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "update", rename_all = "snake_case")]
pub enum JobUpdate {
    /// The hash at input position `index` has its row.
    Row { index: u64, row: Box<Row> },
    /// The job's header now, with an estimate of the seconds left if known.
    Job {
        job: Box<JobInfo>,
        eta_secs: Option<u64>,
    },
    /// Every key's quota now.
    Keys { keys: Vec<KeyStatus> },
    /// Something a person should read (a key was rejected).
    Notice { message: String },
}

impl JobUpdate {
    /// The update as one message between processes.
    pub fn to_wire(&self) -> String {
        serde_json::to_string(self).expect("updates serialise")
    }

    /// Reads [`JobUpdate::to_wire`]'s output; `None` for a message of another version.
    pub fn from_wire(text: &str) -> Option<JobUpdate> {
        serde_json::from_str(text).ok()
    }
}

/// Where a front door takes updates (the web app's hub; nothing for the CLI, which reads
/// engine events itself).
pub type Publish = Arc<dyn Fn(&JobId, JobUpdate) + Send + Sync>;

/// The update watchers read for an engine event, if they read one: a finished row, or a
/// notice about a rejected key. Counters go out separately, on a tick.
pub fn event_update(event: &Event, options: RowOptions) -> Option<JobUpdate> {
    match event {
        Event::Item {
            index,
            target,
            result,
        } => Some(JobUpdate::Row {
            index: *index,
            row: Box::new(Row::from_result(target, result, options)),
        }),
        Event::KeyRejected { key, reason } => Some(JobUpdate::Notice {
            message: format!(
                "key {key} was rejected by VirusTotal ({reason}); going on without it"
            ),
        }),
        Event::Progress(_) | Event::Waiting { .. } => None,
    }
}

/// A job's header and the keys' quota: what goes out as a job moves and what a new watcher
/// reads first. The keys (a ledger read per key) are read on a blocking thread, and left
/// out when they cannot be read (logged).
pub async fn snapshot(
    engine: Option<&Arc<Engine>>,
    job: &JobInfo,
    eta_secs: Option<u64>,
) -> Vec<JobUpdate> {
    let mut updates = vec![JobUpdate::Job {
        job: Box::new(job.clone()),
        eta_secs,
    }];
    let keys = match engine {
        None => Ok(Vec::new()),
        Some(engine) => engine.key_status_off_runtime().await,
    };
    match keys {
        Ok(keys) => updates.push(JobUpdate::Keys { keys }),
        Err(e) => tracing::warn!("cannot read the keys' quota: {e}"),
    }
    updates
}
