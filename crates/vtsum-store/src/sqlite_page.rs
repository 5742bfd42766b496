//! A page of a job's results, chosen by SQL over `job_results`: the filter and the order
//! in the query, `LIMIT`/`OFFSET` for the page, one `COUNT(*)` for how many match. SQLite
//! keeps only the page's rows while it sorts (a top-N sort), so a page of a million-row
//! job costs one pass over its rows and memory for one page. A free text first scans the
//! narrow `job_text` where it can ([`crate::sqlite_search`]) and reads the wide rows of its
//! matches only.
//!
//! It answers exactly as [`vtsum_core::results::scan_page`] does (the store suite checks
//! them against each other): the same order with blanks last, input order breaking ties,
//! and the free text matched case-insensitively for ASCII in the same fields.

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};

use crate::sqlite_results::{rank, read_result, result_columns};
use crate::sqlite_search;
use vtsum_core::report::{Row, Verdict};
use vtsum_core::results::{ResultCounts, ResultPage, ResultQuery, SortKey, MAX_LIMIT};
use vtsum_core::store::JobId;
use vtsum_core::target::{Kind, Target};

/// The free text's test, shaped by the text so a million rows take a fraction of a
/// second: `LIKE` (ASCII case-insensitive, as `matches` is, and without a lower-cased
/// copy of every field); the hashes (input, sha256, md5, sha1) only for a text of hex
/// digits (no other text is in them); names and tags (JSON lists) first by their JSON
/// text, which holds the text wherever a name does when the text has no character JSON
/// escapes (quotes, backslashes; queries hold no control characters), then each name on
/// its own (the JSON text can also match across two names or inside an escape). Exactly
/// the fields and rules of `vtsum_core::results::matches`.
fn text_filter(arg: usize, text: &str, objects: bool) -> String {
    let like = |column: &str| format!("{column} LIKE ?{arg} ESCAPE '\\'");
    let mut tests: Vec<String> = ["r.threat_label", "r.type_description", "r.meaningful_name"]
        .iter()
        .map(|c| like(c))
        .collect();
    if text.bytes().all(|b| b.is_ascii_hexdigit()) {
        // A file's input is its hash alone (no `:`); the others' are tested below.
        tests.push(match objects {
            true => format!("(instr(r.input, ':') = 0 AND {})", like("r.input")),
            false => like("r.input"),
        });
        tests.extend(["r.sha256", "r.md5", "r.sha1"].map(|c| like(&format!("hex({c})"))));
    }
    // A URL's, domain's or IP address's input is stored as `kind:value`, then a newline
    // and the written form: both are searched, the prefix is not. Only in a job that has
    // such items: a million hashes' filter would pay for the test and never pass it.
    if objects {
        tests.push(format!(
            "(instr(r.input, ':') > 0 AND {})",
            like("substr(r.input, instr(r.input, ':') + 1)")
        ));
    }
    for column in ["r.names", "r.tags"] {
        let each = format!(
            "EXISTS (SELECT 1 FROM json_each({column}) WHERE {})",
            like("value")
        );
        tests.push(if text.contains(['"', '\\']) {
            each
        } else {
            format!("({} AND {each})", like(column))
        });
    }
    format!("({})", tests.join(" OR "))
}

/// The `LIKE` pattern of a free text: anywhere in the field, `%`, `_` and `\` literal.
fn pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// `FROM` and `WHERE` for a query, and its parameters after the job's id (`?1`). A free
/// text [`sqlite_search::prefilters`] admits drives the query from `job_text`, reading the
/// full rows of its matches only.
fn filter(query: &ResultQuery, objects: bool) -> (String, String, Vec<Value>) {
    let mut from = String::from("job_results r");
    let mut sql = String::from("r.job_id = ?1");
    let mut args = Vec::new();
    if let Some(verdict) = query.verdict {
        args.push(Value::Integer(rank(verdict)));
        sql.push_str(&format!(" AND r.verdict = ?{}", args.len() + 1));
    }
    if let Some(kind) = query.kind {
        sql.push_str(&match kind {
            Kind::File => " AND instr(r.input, ':') = 0".to_string(),
            other => format!(
                " AND substr(r.input, 1, {}) = '{}:'",
                other.as_str().len() + 1,
                other.as_str()
            ),
        });
    }
    if let Some(text) = &query.text {
        args.push(Value::Text(pattern(text)));
        let arg = args.len() + 1;
        if sqlite_search::prefilters(text) {
            // CROSS JOIN keeps `job_text` the outer loop: SQLite would otherwise be free
            // to walk the wide rows and look the text up for each.
            from = "job_text t CROSS JOIN job_results r".to_string();
            sql = format!(
                "t.job_id = ?1 AND t.text LIKE ?{arg} ESCAPE '\\' \
                 AND r.job_id = t.job_id AND r.idx = t.idx AND {sql}"
            );
        }
        sql.push_str(&format!(" AND {}", text_filter(arg, text, objects)));
    }
    (from, sql, args)
}

/// `ORDER BY` for a query: blanks last whichever the direction, then input order.
fn order(query: &ResultQuery) -> String {
    let dir = if query.descending { "DESC" } else { "ASC" };
    let keyed = |columns: &[&str]| -> String {
        let parts: Vec<String> = columns.iter().map(|c| format!("{c} {dir}")).collect();
        format!("{}, r.idx", parts.join(", "))
    };
    let blank_last = |column: &str| format!("{column} IS NULL, {}", keyed(&[column]));
    match query.sort {
        SortKey::Index => format!("r.idx {dir}"),
        // The value looked up: a URL's, domain's or IP address's stored input starts with
        // its kind (`url:`) and may end in a newline and its written form, which sorts as
        // the value alone would (a newline is below every printable character).
        SortKey::Input => keyed(&["substr(r.input, instr(r.input, ':') + 1)"]),
        SortKey::Verdict => keyed(&["r.verdict"]),
        SortKey::Malicious => keyed(&["ifnull(r.malicious, 0)", "ifnull(r.suspicious, 0)"]),
        SortKey::ThreatLabel => blank_last("r.threat_label"),
        SortKey::FileType => blank_last("r.type_description"),
        SortKey::MeaningfulName => blank_last("r.meaningful_name"),
        SortKey::FirstSeen => blank_last("r.first_seen"),
        SortKey::LastSeen => blank_last("r.last_seen"),
    }
}

fn args(id: &JobId, rest: &[Value]) -> Vec<Value> {
    std::iter::once(Value::Text(id.0.clone()))
        .chain(rest.iter().cloned())
        .collect()
}

/// One page of a job's rows; `objects`: whether the job has URLs, domains or IP
/// addresses among its items (`JobSpec::objects`).
pub(crate) fn page(
    conn: &Connection,
    id: &JobId,
    query: &ResultQuery,
    objects: bool,
) -> rusqlite::Result<ResultPage> {
    let (from, filter, rest) = filter(query, objects);
    // A text filter reads every row of the job whatever else is asked, so the count rides
    // along in the same pass (a window over the matching rows) instead of a second scan:
    // a million-row job's filtered page 751 → about half. Without one, the page walks an
    // index and stops at its limit, and the count is a query of its own.
    let counted = query.text.is_some();
    let limit = query.limit.min(MAX_LIMIT);
    let offset = i64::try_from(query.offset).unwrap_or(i64::MAX);
    let sql = format!(
        "SELECT r.idx, r.input, {}{} FROM {from} WHERE {filter} ORDER BY {} \
         LIMIT {limit} OFFSET {offset}",
        result_columns(),
        if counted { ", COUNT(*) OVER ()" } else { "" },
        order(query)
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut seen: Option<u64> = None;
    let rows = stmt.query_map(params_from_iter(args(id, &rest)), |row| {
        let index: u64 = row.get(0)?;
        let text: String = row.get(1)?;
        let result = read_result(row, 2)?;
        let matching: Option<u64> = if counted {
            row.get(row.as_ref().column_count() - 1)?
        } else {
            None
        };
        Ok((index, text, result, matching))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (index, text, result, matching) = row?;
        seen = seen.or(matching);
        let (Some(input), Some(result)) = (Target::parse_stored(&text), result) else {
            continue;
        };
        out.push((index, Row::from_result(&input, &result, query.options)));
    }
    let matching = match seen {
        Some(n) => n,
        // No row on this page (or no text filter): count apart.
        None => conn
            .prepare_cached(&format!("SELECT COUNT(*) FROM {from} WHERE {filter}"))?
            .query_row(params_from_iter(args(id, &rest)), |r| r.get(0))?,
    };
    Ok(ResultPage {
        matching,
        rows: out,
    })
}

pub(crate) fn counts(conn: &Connection, id: &JobId) -> rusqlite::Result<ResultCounts> {
    let mut stmt = conn.prepare_cached(
        "SELECT verdict, COUNT(*), SUM(from_cache) FROM job_results WHERE job_id = ?1
         GROUP BY verdict",
    )?;
    let rows = stmt.query_map([&id.0], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, u64>(1)?,
            r.get::<_, u64>(2)?,
        ))
    })?;
    let mut counts = ResultCounts::default();
    for row in rows {
        let (verdict, n, hits) = row?;
        let name = usize::try_from(verdict)
            .ok()
            .and_then(|i| Verdict::ALL.get(i))
            .map_or("error", |v| v.as_str());
        counts.total += n;
        counts.cache_hits += hits;
        *counts.verdicts.entry(name.to_string()).or_default() += n;
    }
    Ok(counts)
}
