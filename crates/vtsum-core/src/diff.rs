//! What changed about a file between two answers: the one definition `vtsum diff` uses
//! now and watchlists will use for their alerts (issue 16).
//!
//! A change is a verdict transition (unknown → found, clean → suspicious → malicious and
//! back), a detection count crossing the malicious threshold, or a new threat label. Rows
//! are matched by their input hash; a hash in only one report appears or goes. An `error`
//! row says nothing about the file, so a transition to or from an error is not a change.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::report::{Row, Verdict};

/// What one answer said, as far as changes go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub verdict: Verdict,
    pub malicious: u32,
    pub total: u32,
    pub threat_label: Option<String>,
}

impl Snapshot {
    pub fn of(row: &Row) -> Snapshot {
        Snapshot {
            verdict: row.verdict,
            malicious: row.malicious,
            total: row.total,
            threat_label: row.threat_label.clone(),
        }
    }
}

/// Why a pair of answers counts as a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Verdict,
    CrossedThreshold,
    NewLabel,
    Appeared,
    Gone,
}

impl Reason {
    /// The name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Verdict => "verdict",
            Reason::CrossedThreshold => "crossed_threshold",
            Reason::NewLabel => "new_label",
            Reason::Appeared => "appeared",
            Reason::Gone => "gone",
        }
    }
}

/// One file's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub input: String,
    pub before: Option<Snapshot>,
    pub after: Option<Snapshot>,
    pub reasons: Vec<Reason>,
}

/// Why `after` is a change from `before` (empty when it is not), with `threshold`
/// malicious detections needed for `malicious`.
pub fn reasons(before: &Snapshot, after: &Snapshot, threshold: u32) -> Vec<Reason> {
    if before.verdict == Verdict::Error || after.verdict == Verdict::Error {
        return Vec::new();
    }
    let mut why = Vec::new();
    if before.verdict != after.verdict {
        why.push(Reason::Verdict);
    }
    let over = |s: &Snapshot| s.malicious >= threshold.max(1);
    if over(before) != over(after) {
        why.push(Reason::CrossedThreshold);
    }
    if after.threat_label.is_some() && after.threat_label != before.threat_label {
        why.push(Reason::NewLabel);
    }
    why
}

/// The changes from the rows of one report to those of another, in the order of `after`
/// (then the hashes gone from it, in the order of `before`).
pub fn compare(
    before: impl IntoIterator<Item = Row>,
    after: impl IntoIterator<Item = Row>,
    threshold: u32,
) -> Vec<Change> {
    let mut old: HashMap<String, (usize, Snapshot)> = HashMap::new();
    for (i, row) in before.into_iter().enumerate() {
        old.entry(row.input.to_ascii_lowercase())
            .or_insert((i, Snapshot::of(&row)));
    }
    let mut changes = Vec::new();
    for row in after {
        let input = row.input.to_ascii_lowercase();
        let now = Snapshot::of(&row);
        match old.remove(&input) {
            Some((_, was)) => {
                let why = reasons(&was, &now, threshold);
                if !why.is_empty() {
                    changes.push(Change {
                        input,
                        before: Some(was),
                        after: Some(now),
                        reasons: why,
                    });
                }
            }
            None => changes.push(Change {
                input,
                before: None,
                after: Some(now),
                reasons: vec![Reason::Appeared],
            }),
        }
    }
    let mut gone: Vec<(String, (usize, Snapshot))> = old.into_iter().collect();
    gone.sort_by_key(|(_, (i, _))| *i);
    changes.extend(gone.into_iter().map(|(input, (_, was))| Change {
        input,
        before: Some(was),
        after: None,
        reasons: vec![Reason::Gone],
    }));
    changes
}
