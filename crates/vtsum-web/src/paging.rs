//! One page of a job's results as JSON, for `GET /api/v1/jobs/{id}/results` with any of
//! `offset`, `limit`, `sort`, `order`, `verdict`, `kind` or `q`: the store filters, sorts and
//! counts (with its indexes where it has them), so the job page never downloads the whole
//! report, however many rows the job holds.
//!
//! Every parameter is checked here and a bad one is a 400 naming the valid values; nothing
//! a client sends reaches the store unchecked.
//!
//! A job's counts change only when its rows or state do, and a person sorting and
//! filtering a finished job asks for many pages of the same rows: [`CountsCache`] keeps
//! the last counts of recently paged jobs, so each new page costs the store one query.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;
use vtsum_core::report::{Row, RowOptions, Verdict};
use vtsum_core::results::{ResultCounts, ResultPage, ResultQuery, SortKey, MAX_LIMIT, MAX_TEXT};
use vtsum_core::store::{self, JobId, JobInfo, JobState};
use vtsum_core::target::Kind;

use crate::{App, WebError};

/// Rows a page holds when `limit` is not given.
pub const DEFAULT_LIMIT: u64 = 100;

/// The paging parameters as sent, before checking. An empty value counts as absent (an
/// HTML form sends empty fields).
#[derive(Debug, Default, Clone)]
pub struct PageParams {
    pub offset: Option<String>,
    pub limit: Option<String>,
    pub sort: Option<String>,
    pub order: Option<String>,
    pub verdict: Option<String>,
    pub kind: Option<String>,
    pub q: Option<String>,
}

impl PageParams {
    /// Whether any paging parameter was sent at all (even empty): the request asks for a
    /// page, not a download.
    pub fn any(&self) -> bool {
        [
            &self.offset,
            &self.limit,
            &self.sort,
            &self.order,
            &self.verdict,
            &self.kind,
            &self.q,
        ]
        .iter()
        .any(|p| p.is_some())
    }
}

/// The value of a parameter, `None` when absent or empty.
fn given(p: &Option<String>) -> Option<&str> {
    p.as_deref().filter(|v| !v.is_empty())
}

/// A parameter's value for a message: short, whatever was sent.
fn shown(v: &str) -> String {
    v.chars().take(40).collect()
}

fn number(name: &str, v: &str, max: u64) -> Result<u64, WebError> {
    v.parse::<u64>().ok().filter(|n| *n <= max).ok_or_else(|| {
        WebError::BadRequest(format!(
            "{name} {:?} is not a whole number from 0 to {max}",
            shown(v)
        ))
    })
}

/// The checked query a request asks for, for a job of `total` hashes built with
/// `options`.
pub fn query(p: &PageParams, total: u64, options: RowOptions) -> Result<ResultQuery, WebError> {
    let offset = match given(&p.offset) {
        Some(v) => number("offset", v, total)?,
        None => 0,
    };
    let limit = match given(&p.limit) {
        Some(v) => match number("limit", v, MAX_LIMIT)? {
            0 => {
                return Err(WebError::BadRequest(format!(
                    "limit must be from 1 to {MAX_LIMIT}"
                )))
            }
            n => n,
        },
        None => DEFAULT_LIMIT,
    };
    let sort = match given(&p.sort) {
        Some(v) => SortKey::parse(v).ok_or_else(|| {
            let names: Vec<&str> = SortKey::ALL.iter().map(|(_, n)| *n).collect();
            WebError::BadRequest(format!(
                "sort {:?} is not one of {}",
                shown(v),
                names.join(", ")
            ))
        })?,
        None => SortKey::Index,
    };
    let descending = match given(&p.order) {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(v) => {
            return Err(WebError::BadRequest(format!(
                "order {:?} is not one of asc, desc",
                shown(v)
            )))
        }
    };
    let verdict = match given(&p.verdict) {
        Some(v) => Some(
            Verdict::ALL
                .into_iter()
                .find(|x| x.as_str() == v)
                .ok_or_else(|| {
                    let names: Vec<&str> = Verdict::ALL.iter().map(|x| x.as_str()).collect();
                    WebError::BadRequest(format!(
                        "verdict {:?} is not one of {}",
                        shown(v),
                        names.join(", ")
                    ))
                })?,
        ),
        None => None,
    };
    let kind = match given(&p.kind) {
        Some(v) => Some(Kind::parse(v).ok_or_else(|| {
            WebError::BadRequest(format!(
                "kind {:?} is not one of file, url, domain, ip",
                shown(v)
            ))
        })?),
        None => None,
    };
    let text = match given(&p.q) {
        Some(v) if v.chars().count() > MAX_TEXT => {
            return Err(WebError::BadRequest(format!(
                "q is {} characters long: at most {MAX_TEXT} are searched for",
                v.chars().count()
            )))
        }
        Some(v) => ResultQuery::new_text(v),
        None => None,
    };
    Ok(ResultQuery {
        offset,
        limit,
        sort,
        descending,
        verdict,
        kind,
        text,
        options,
    })
}

/// Jobs whose counts are kept at most; past that the cache starts again.
const KEPT_COUNTS: usize = 64;

/// What a job's counts depend on: every recorded row moves `done` and `updated_at`, every
/// change of state `state`, and verdicts follow the threshold.
type Stamp = (u64, u64, u64, i64, JobState, u32);

fn stamp(job: &JobInfo, options: RowOptions) -> Stamp {
    (
        job.done,
        job.errors,
        job.cache_hits,
        job.updated_at,
        job.state,
        options.threshold,
    )
}

/// The counts of recently paged jobs, each with the [`Stamp`] it was counted at.
#[derive(Default)]
pub struct CountsCache(Mutex<HashMap<JobId, (Stamp, ResultCounts)>>);

impl CountsCache {
    fn get(&self, job: &JobInfo, options: RowOptions) -> Option<ResultCounts> {
        let kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        kept.get(&job.id)
            .filter(|(at, _)| *at == stamp(job, options))
            .map(|(_, counts)| counts.clone())
    }

    fn put(&self, job: &JobInfo, options: RowOptions, counts: &ResultCounts) {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() >= KEPT_COUNTS && !kept.contains_key(&job.id) {
            kept.clear();
        }
        kept.insert(job.id.clone(), (stamp(job, options), counts.clone()));
    }
}

/// A row of a page with its input position.
#[derive(Serialize)]
struct PageRow<'a> {
    index: u64,
    #[serde(flatten)]
    row: &'a Row,
}

/// The JSON answer: what was asked (as understood), how many rows match, the counts of the
/// whole job, and the rows.
#[derive(Serialize)]
struct PageView<'a> {
    offset: u64,
    limit: u64,
    sort: &'static str,
    order: &'static str,
    verdict: Option<&'static str>,
    kind: Option<&'static str>,
    q: Option<&'a str>,
    matching: u64,
    counts: &'a ResultCounts,
    rows: Vec<PageRow<'a>>,
}

/// One page of `job`'s rows and the job's counts, read on a blocking thread, as JSON.
pub async fn page(
    app: &App,
    job: JobInfo,
    params: &PageParams,
    options: RowOptions,
) -> Result<String, WebError> {
    let q = query(params, job.total, options)?;
    let asked = q.clone();
    let cache = &app.inner.counts;
    // The page and the counts are two queries: side by side, on two blocking threads (a
    // store with a pool of readers answers both at once).
    let counting = {
        let known = cache.get(&job, options);
        let job = job.clone();
        async move {
            match known {
                Some(counts) => Ok(counts),
                None => {
                    store::blocking(&app.inner.store, move |s| s.job_counts(&job, options)).await
                }
            }
        }
    };
    let counted = job.clone();
    let paging = store::blocking(&app.inner.store, move |s| s.job_page(&job, &asked));
    let (page, counts): (ResultPage, ResultCounts) = tokio::try_join!(paging, counting)?;
    cache.put(&counted, options, &counts);
    let sort = SortKey::ALL
        .iter()
        .find(|(k, _)| *k == q.sort)
        .map_or("index", |(_, n)| *n);
    let view = PageView {
        offset: q.offset,
        limit: q.limit,
        sort,
        order: if q.descending { "desc" } else { "asc" },
        verdict: q.verdict.map(Verdict::as_str),
        kind: q.kind.map(Kind::as_str),
        q: q.text.as_deref(),
        matching: page.matching,
        counts: &counts,
        rows: page
            .rows
            .iter()
            .map(|(index, row)| PageRow { index: *index, row })
            .collect(),
    };
    serde_json::to_string(&view).map_err(|e| WebError::Internal(format!("a page of rows: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> PageParams {
        let mut p = PageParams::default();
        for (k, v) in pairs {
            let v = Some(v.to_string());
            match *k {
                "offset" => p.offset = v,
                "limit" => p.limit = v,
                "sort" => p.sort = v,
                "order" => p.order = v,
                "verdict" => p.verdict = v,
                "kind" => p.kind = v,
                "q" => p.q = v,
                _ => unreachable!(),
            }
        }
        p
    }

    fn bad(pairs: &[(&str, &str)]) -> String {
        match query(&params(pairs), 50, RowOptions::default()) {
            Err(WebError::BadRequest(m)) => m,
            other => panic!("{pairs:?} accepted: {other:?}"),
        }
    }

    #[test]
    fn defaults_and_valid_values() {
        let q = query(&params(&[("q", " ")]), 50, RowOptions::default()).unwrap();
        assert_eq!(
            (q.offset, q.limit, q.sort, q.descending),
            (0, 100, SortKey::Index, false)
        );
        assert_eq!((q.verdict, q.text), (None, None));
        let q = query(
            &params(&[
                ("offset", "50"),
                ("limit", "1000"),
                ("sort", "type"),
                ("order", "desc"),
                ("verdict", "clean"),
                ("q", " Trojan "),
            ]),
            50,
            RowOptions::default(),
        )
        .unwrap();
        assert_eq!(
            (q.offset, q.limit, q.sort, q.descending),
            (50, 1000, SortKey::FileType, true)
        );
        assert_eq!(q.verdict, Some(Verdict::Clean));
        assert_eq!(q.text.as_deref(), Some("trojan"));
    }

    #[test]
    fn bad_values_name_the_valid_ones() {
        assert!(bad(&[("limit", "0")]).contains("from 1 to 1000"));
        assert!(bad(&[("limit", "1001")]).contains("0 to 1000"));
        assert!(bad(&[("offset", "51")]).contains("0 to 50"));
        assert!(bad(&[("offset", "-1")]).contains("whole number"));
        assert!(bad(&[("offset", "99999999999999999999999")]).contains("whole number"));
        assert!(bad(&[("sort", "name")]).contains("index, input, verdict, malicious"));
        assert!(bad(&[("order", "up")]).contains("asc, desc"));
        assert!(bad(&[("verdict", "evil")]).contains("malicious, suspicious, clean"));
        let long = "x".repeat(MAX_TEXT + 1);
        assert!(bad(&[("q", &long)]).contains("at most 200"));
        let message = bad(&[("sort", &"\u{202e}<b>".repeat(100))]);
        assert!(message.len() < 300, "{message}");
    }
}
