//! One page of a job's results, chosen by the store: filtered by verdict and free text,
//! sorted by a column, `offset` and `limit` into that order. This is what lets the web app
//! show a million-row job without the browser ever holding it.
//!
//! [`ResultQuery`] and [`ResultPage`] cross the `Store` boundary. A store
//! with indexes answers with a query of its own; [`scan_page`] is the reference answer, by
//! walking every item once (memory: one sort key per matching row, not the rows), used by
//! stores without indexes and as the oracle the store suite checks the others against.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::job::JobItem;
use crate::report::{Row, RowOptions, Verdict};
use crate::target::Kind;

/// Reads a job's items: `offset` and at most `limit` of them, in input order (the store's
/// `job_items`).
pub type ReadItems<'a> = &'a dyn Fn(u64, u64) -> Result<Vec<JobItem>>;

/// Most rows one page may hold.
pub const MAX_LIMIT: u64 = 1_000;
/// Longest free-text filter kept, in characters.
pub const MAX_TEXT: usize = 200;

/// The column a page is sorted by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    /// Input order.
    #[default]
    Index,
    Input,
    /// Worst first when descending is off: malicious, suspicious, clean, … error.
    Verdict,
    /// Malicious detections, then suspicious ones.
    Malicious,
    ThreatLabel,
    #[serde(rename = "type")]
    FileType,
    MeaningfulName,
    FirstSeen,
    LastSeen,
}

impl SortKey {
    /// Every key, with the name the API takes.
    pub const ALL: [(SortKey, &'static str); 9] = [
        (SortKey::Index, "index"),
        (SortKey::Input, "input"),
        (SortKey::Verdict, "verdict"),
        (SortKey::Malicious, "malicious"),
        (SortKey::ThreatLabel, "threat_label"),
        (SortKey::FileType, "type"),
        (SortKey::MeaningfulName, "meaningful_name"),
        (SortKey::FirstSeen, "first_seen"),
        (SortKey::LastSeen, "last_seen"),
    ];

    /// The key an API name means.
    pub fn parse(name: &str) -> Option<SortKey> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(k, _)| *k)
    }
}

/// Which rows of a job, in which order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultQuery {
    pub offset: u64,
    /// At most [`MAX_LIMIT`].
    pub limit: u64,
    pub sort: SortKey,
    pub descending: bool,
    /// Only rows with this verdict.
    pub verdict: Option<Verdict>,
    /// Only rows of this kind (files, URLs, domains or IP addresses).
    pub kind: Option<Kind>,
    /// Only rows whose input (and its written form), hashes, threat label, type, names or
    /// tags contain this text,
    /// ignoring ASCII case (as SQL's `lower` does). Made by [`ResultQuery::new_text`].
    pub text: Option<String>,
    /// How rows are built (the job's threshold decides verdicts).
    pub options: RowOptions,
}

impl ResultQuery {
    /// The free-text filter as stored in a query: trimmed, without control characters,
    /// ASCII lower-cased, at most [`MAX_TEXT`] characters, `None` when empty.
    pub fn new_text(text: &str) -> Option<String> {
        let text: String = text
            .trim()
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_TEXT)
            .collect();
        (!text.is_empty()).then(|| text.to_ascii_lowercase())
    }
}

/// Counts over a whole job's finished rows, whatever the filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultCounts {
    /// Finished rows.
    pub total: u64,
    /// Rows by verdict name.
    pub verdicts: BTreeMap<String, u64>,
    /// Rows answered from the cache.
    pub cache_hits: u64,
}

/// One page of rows, each with its input position.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResultPage {
    /// Finished rows matching the filter (all pages).
    pub matching: u64,
    pub rows: Vec<(u64, Row)>,
}

/// Whether `row` passes the query's filters.
pub fn matches(query: &ResultQuery, row: &Row) -> bool {
    if query.verdict.is_some_and(|v| v != row.verdict) {
        return false;
    }
    if query.kind.is_some_and(|k| k != row.kind) {
        return false;
    }
    let Some(text) = &query.text else {
        return true;
    };
    let hit = |s: &str| s.to_ascii_lowercase().contains(text.as_str());
    [
        Some(&row.input),
        row.written.as_ref(),
        row.md5.as_ref(),
        row.sha1.as_ref(),
        row.sha256.as_ref(),
        row.threat_label.as_ref(),
        row.file_type.as_ref(),
        row.meaningful_name.as_ref(),
    ]
    .into_iter()
    .flatten()
    .chain(row.names.iter())
    .chain(row.tags.iter())
    .any(|s| hit(s))
}

/// A row's sort key: blanks compare as `None`, which sorts after every value whichever the
/// direction.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Number(u64, u64),
    Text(String),
}

fn key_of(sort: SortKey, index: u64, row: &Row) -> Option<Key> {
    let text = |s: &Option<String>| s.clone().map(Key::Text);
    match sort {
        SortKey::Index => Some(Key::Number(index, 0)),
        SortKey::Input => Some(Key::Text(row.input.clone())),
        SortKey::Verdict => {
            let rank = Verdict::ALL.iter().position(|v| *v == row.verdict);
            rank.map(|r| Key::Number(r as u64, 0))
        }
        SortKey::Malicious => Some(Key::Number(
            u64::from(row.malicious),
            u64::from(row.suspicious),
        )),
        SortKey::ThreatLabel => text(&row.threat_label),
        SortKey::FileType => text(&row.file_type),
        SortKey::MeaningfulName => text(&row.meaningful_name),
        SortKey::FirstSeen => text(&row.first_seen),
        SortKey::LastSeen => text(&row.last_seen),
    }
}

/// The order of two rows' keys under a query: by key (blanks last), then input order.
fn order(query: &ResultQuery, a: &(Option<Key>, u64), b: &(Option<Key>, u64)) -> Ordering {
    let by_key = match (&a.0, &b.0) {
        (Some(x), Some(y)) if query.descending => y.cmp(x),
        (Some(x), Some(y)) => x.cmp(y),
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
    };
    by_key.then(a.1.cmp(&b.1))
}

/// Items read from the store at a time by the walks here.
const CHUNK: u64 = 1_000;

/// Calls `each` with every finished row of a job and its position, in input order.
pub fn each_row(
    read: ReadItems<'_>,
    options: RowOptions,
    each: &mut dyn FnMut(u64, Row),
) -> Result<()> {
    let mut offset = 0;
    loop {
        let items = read(offset, CHUNK)?;
        let n = items.len() as u64;
        for item in items {
            if let Some(result) = &item.result {
                each(item.index, Row::from_result(&item.target, result, options));
            }
        }
        if n < CHUNK {
            return Ok(());
        }
        offset += n;
    }
}

/// The reference answer to a query: one walk to choose the page, one to read its rows.
pub fn scan_page(read: ReadItems<'_>, query: &ResultQuery) -> Result<ResultPage> {
    let mut keys = Vec::new();
    each_row(read, query.options, &mut |index, row| {
        if matches(query, &row) {
            keys.push((key_of(query.sort, index, &row), index));
        }
    })?;
    let matching = keys.len() as u64;
    keys.sort_by(|a, b| order(query, a, b));
    let limit = query.limit.min(MAX_LIMIT);
    let wanted: Vec<u64> = keys
        .into_iter()
        .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
        .take(limit as usize)
        .map(|(_, index)| index)
        .collect();
    let mut found: BTreeMap<u64, Row> = BTreeMap::new();
    let set: std::collections::HashSet<u64> = wanted.iter().copied().collect();
    each_row(read, query.options, &mut |index, row| {
        if set.contains(&index) {
            found.insert(index, row);
        }
    })?;
    let rows = wanted
        .into_iter()
        .filter_map(|index| found.remove(&index).map(|row| (index, row)))
        .collect();
    Ok(ResultPage { matching, rows })
}

/// The reference counts of a job's finished rows.
pub fn scan_counts(read: ReadItems<'_>, options: RowOptions) -> Result<ResultCounts> {
    let mut counts = ResultCounts::default();
    each_row(read, options, &mut |_, row| {
        counts.total += 1;
        *counts
            .verdicts
            .entry(row.verdict.as_str().to_string())
            .or_default() += 1;
        counts.cache_hits += u64::from(row.from_cache);
    })?;
    Ok(counts)
}
