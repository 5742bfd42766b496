//! Files whose analysis changes while the fake runs: a test raises a file's detections (or
//! gives it a new threat label) between two checks, as VirusTotal does when engines catch
//! up with a sample. The corpus stays as generated; a changed file is a copy kept here and
//! answered instead, by v3 and v2 alike, with its analysis dated at the change.

use std::borrow::Cow;

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::Json;

use crate::corpus::{CorpusFile, FileKind};
use crate::state::State;
use crate::FakeVt;

/// A change, as `POST /_fake/detections` takes it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Detections {
    /// Any of the file's md5, sha1 or sha256.
    pub hash: String,
    pub malicious: u32,
    #[serde(default)]
    pub suspicious: u32,
    /// A new threat label; the old one stays when absent.
    #[serde(default)]
    pub threat_label: Option<String>,
}

impl State {
    /// The corpus file `hash` names, as changed if it was.
    pub(crate) fn file(&self, hash: &str) -> Option<Cow<'_, CorpusFile>> {
        let f = self.corpus.find(hash)?;
        let changed = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        Some(match changed.get(&f.sha256) {
            Some(c) => Cow::Owned(c.clone()),
            None => Cow::Borrowed(f),
        })
    }

    /// Applies a change; `false` when the corpus has no such file.
    pub(crate) fn change(&self, d: &Detections) -> bool {
        let Some(f) = self.file(&d.hash.to_ascii_lowercase()) else {
            return false;
        };
        let mut f = f.into_owned();
        f.malicious = d.malicious;
        f.suspicious = d.suspicious;
        if let Some(label) = &d.threat_label {
            f.threat_label = Some(label.clone());
        }
        // Engines looked at it again: a never-analysed or clean file is analysed now.
        if matches!(f.kind, FileKind::NeverAnalysed | FileKind::Clean) {
            f.kind = if d.malicious > 0 {
                FileKind::Malicious
            } else if d.suspicious > 0 {
                FileKind::Suspicious
            } else {
                FileKind::Clean
            };
        }
        f.last_analysis = now_unix();
        let mut changed = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        changed.insert(f.sha256.clone(), f);
        true
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl FakeVt {
    /// Changes a corpus file's detections (and label) from now on; `false` when the
    /// corpus has no file with that hash.
    pub fn set_detections(&self, change: Detections) -> bool {
        self.state.change(&change)
    }
}

/// `POST /_fake/detections` with a [`Detections`] body: 204, or 404 for an unknown file.
pub(crate) async fn set_detections(
    AxState(state): AxState<std::sync::Arc<State>>,
    Json(change): Json<Detections>,
) -> StatusCode {
    if state.change(&change) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}
