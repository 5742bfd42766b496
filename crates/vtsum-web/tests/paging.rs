//! `GET /api/v1/jobs/{id}/results` with paging parameters: one page of rows, filtered and
//! sorted by the store, checked against an oracle computed here from the rows the test
//! wrote (every sort key both ways, verdict and text filters, offsets past the end, rows
//! still pending left out); bad and hostile parameters are 400s that name the valid
//! values; without paging parameters the route still downloads.

mod support;

use std::cmp::Ordering;
use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::Value;
use support::*;
use vtsum_core::report::{FileReport, ItemResult, Lookup, Row, RowOptions, Stats, Verdict};
use vtsum_core::store::{JobId, JobOrigin, JobSpec, JobState};
use vtsum_core::Hash;

const N: u64 = 240;

/// The result of item `i`, or `None` while pending: found files of every verdict with
/// blanks, mixed-case labels and tags, unknown hashes, errors and cached answers.
fn result(i: u64) -> Option<ItemResult> {
    if i.is_multiple_of(23) {
        return None;
    }
    if i % 17 == 5 {
        return Some(ItemResult::Error {
            message: format!("HTTP 500 on try {}", i % 4),
        });
    }
    let lookup = if i % 10 == 9 {
        Lookup::Unknown
    } else {
        let malicious = (i % 7) as u32;
        Lookup::Found(Box::new(FileReport {
            sha256: hash(i),
            md5: Some(format!("{:032x}", i + 1)),
            stats: Stats {
                malicious,
                suspicious: (i % 3) as u32,
                undetected: 50,
                ..Stats::default()
            },
            analysed: i % 31 != 1,
            threat_label: (!i.is_multiple_of(5)).then(|| {
                let kind = if i.is_multiple_of(2) {
                    "Trojan."
                } else {
                    "worm."
                };
                format!("{kind}Fam{}", i % 11)
            }),
            type_description: (!i.is_multiple_of(6))
                .then(|| ["PDF", "Win32 EXE", "ZIP"][(i % 3) as usize].into()),
            meaningful_name: (!i.is_multiple_of(4))
                .then(|| format!("Report-{}.pdf", (i * 37) % 101)),
            names: vec![format!("n{i}.bin")],
            tags: if i % 8 == 3 {
                vec!["Peexe".into()]
            } else {
                vec![]
            },
            first_seen: (!i.is_multiple_of(9))
                .then(|| 1_600_000_000 + ((i * 53) % 97) as i64 * 86_400),
            last_seen: Some(1_700_000_000 + ((i * 29) % 61) as i64 * 3_600),
            ..FileReport::default()
        }))
    };
    Some(ItemResult::Lookup {
        lookup,
        from_cache: i % 4 == 1,
        fetched_at: 0,
    })
}

fn hash(i: u64) -> String {
    format!("{:064x}", i * 104_729 + 7)
}

/// A job of [`N`] items written through the store, some still pending (the app has no
/// keys, so nothing runs it), and its finished rows by index.
async fn seeded(f: &Fixture) -> (String, BTreeMap<u64, Row>) {
    let id = JobId::random();
    let spec = JobSpec {
        label: "paging".into(),
        origin: JobOrigin::Web,
        non_file_hashes: 0,
        ..JobSpec::default()
    };
    let hashes: Vec<Hash> = (0..N).map(|i| Hash::parse(&hash(i)).unwrap()).collect();
    f.store
        .job_create(&id, &spec, &vtsum_core::Target::files(&hashes), 0)
        .unwrap();
    let options = RowOptions {
        threshold: 3,
        engines: false,
    };
    let mut rows = BTreeMap::new();
    for i in 0..N {
        if let Some(r) = result(i) {
            f.store.job_record(&id, i, &r, 0).unwrap();
            rows.insert(i, Row::from_result(&hashes[i as usize], &r, options));
        }
    }
    f.store
        .job_set_state(&id, JobState::Running, None, None, 0)
        .unwrap();
    (id.0, rows)
}

/// The oracle's sort key: `None` (a blank) sorts last in either order.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    N(u64, u64),
    T(String),
}

fn key(sort: &str, i: u64, r: &Row) -> Option<Key> {
    let t = |s: &Option<String>| s.clone().map(Key::T);
    match sort {
        "index" => Some(Key::N(i, 0)),
        "input" => Some(Key::T(r.input.clone())),
        "verdict" => Some(Key::N(
            Verdict::ALL.iter().position(|v| *v == r.verdict).unwrap() as u64,
            0,
        )),
        "malicious" => Some(Key::N(r.malicious.into(), r.suspicious.into())),
        "threat_label" => t(&r.threat_label),
        "type" => t(&r.file_type),
        "meaningful_name" => t(&r.meaningful_name),
        "first_seen" => t(&r.first_seen),
        "last_seen" => t(&r.last_seen),
        other => panic!("no sort {other}"),
    }
}

/// The indexes of the rows a query selects, in order, before offset and limit.
fn oracle(
    rows: &BTreeMap<u64, Row>,
    sort: &str,
    desc: bool,
    verdict: Option<&str>,
    q: Option<&str>,
) -> Vec<u64> {
    let q = q.map(|q| q.trim().to_lowercase());
    let mut picked: Vec<(Option<Key>, u64)> = rows
        .iter()
        .filter(|(_, r)| verdict.is_none_or(|v| r.verdict.as_str() == v))
        .filter(|(_, r)| {
            let Some(q) = &q else { return true };
            let input = Some(r.input.clone());
            let mut fields = [&input, &r.md5, &r.sha1, &r.sha256]
                .into_iter()
                .chain([&r.threat_label, &r.file_type, &r.meaningful_name])
                .flatten()
                .chain(r.names.iter())
                .chain(r.tags.iter());
            fields.any(|s| s.to_lowercase().contains(q.as_str()))
        })
        .map(|(i, r)| (key(sort, *i, r), *i))
        .collect();
    picked.sort_by(|a, b| {
        let by = match (&a.0, &b.0) {
            (Some(x), Some(y)) if desc => y.cmp(x),
            (Some(x), Some(y)) => x.cmp(y),
            (None, None) => Ordering::Equal,
            (None, _) => Ordering::Greater,
            (_, None) => Ordering::Less,
        };
        by.then(a.1.cmp(&b.1))
    });
    picked.into_iter().map(|(_, i)| i).collect()
}

async fn page(f: &Fixture, id: &str, query: &str) -> Value {
    let res = send(&f.app, get(&format!("/api/v1/jobs/{id}/results?{query}"))).await;
    assert_eq!(res.status, StatusCode::OK, "{query}: {}", res.text());
    assert_eq!(res.header("content-type"), "application/json");
    res.json()
}

fn indexes(page: &Value) -> Vec<u64> {
    page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn every_sort_and_filter_answers_what_the_oracle_says() {
    let f = fixture(Options {
        keys: false,
        ..Options::default()
    })
    .await;
    let (id, rows) = seeded(&f).await;
    let sorts = [
        "index",
        "input",
        "verdict",
        "malicious",
        "threat_label",
        "type",
        "meaningful_name",
        "first_seen",
        "last_seen",
    ];
    for sort in sorts {
        for desc in [false, true] {
            for verdict in [None, Some("malicious"), Some("unknown"), Some("error")] {
                for q in [
                    None,
                    Some("fam3"),
                    Some(" TROJAN "),
                    Some("peexe"),
                    Some("zzz"),
                ] {
                    let mut query = format!(
                        "sort={sort}&order={}&limit=1000",
                        if desc { "desc" } else { "asc" }
                    );
                    if let Some(v) = verdict {
                        query += &format!("&verdict={v}");
                    }
                    if let Some(q) = q {
                        query += &format!("&q={}", q.replace(' ', "+"));
                    }
                    let want = oracle(&rows, sort, desc, verdict, q);
                    let got = page(&f, &id, &query).await;
                    assert_eq!(indexes(&got), want, "{query}");
                    assert_eq!(got["matching"], want.len() as u64, "{query}");
                }
            }
        }
    }

    // Offsets and limits slice the same order; past the end is an empty page.
    let want = oracle(&rows, "malicious", true, None, None);
    for (offset, limit) in [
        (0, 1),
        (7, 13),
        (200, 100),
        (want.len(), 5),
        (N as usize, 5),
    ] {
        let got = page(
            &f,
            &id,
            &format!("sort=malicious&order=desc&offset={offset}&limit={limit}"),
        )
        .await;
        let slice: Vec<u64> = want.iter().skip(offset).take(limit).copied().collect();
        assert_eq!(indexes(&got), slice, "offset {offset} limit {limit}");
        assert_eq!(got["offset"], offset as u64);
        assert_eq!(got["limit"], limit as u64);
    }

    // The default page: input order, 100 rows, every row whole with its index, and the
    // whole job's counts whatever the filter.
    let got = page(&f, &id, "verdict=clean").await;
    assert_eq!(got["sort"], "index");
    assert_eq!(got["order"], "asc");
    assert_eq!(got["verdict"], "clean");
    let got = page(&f, &id, "offset=0").await;
    assert_eq!(got["limit"], 100);
    assert_eq!(
        indexes(&got),
        rows.keys().take(100).copied().collect::<Vec<_>>()
    );
    let first = &got["rows"][0];
    let (i, row) = rows.iter().next().unwrap();
    let mut expected = serde_json::to_value(row).unwrap();
    expected["index"] = (*i).into();
    assert_eq!(
        first, &expected,
        "a row is the download's row plus its index"
    );
    let mut verdicts: BTreeMap<String, u64> = BTreeMap::new();
    for r in rows.values() {
        *verdicts.entry(r.verdict.as_str().into()).or_default() += 1;
    }
    let hits = rows.values().filter(|r| r.from_cache).count() as u64;
    assert!(verdicts.len() >= 5 && hits > 0, "{verdicts:?}");
    for query in ["offset=0", "verdict=error&q=nothing-matches"] {
        let counts = &page(&f, &id, query).await["counts"];
        assert_eq!(counts["total"], rows.len() as u64, "{query}");
        assert_eq!(counts["cache_hits"], hits);
        assert_eq!(counts["verdicts"], serde_json::to_value(&verdicts).unwrap());
    }
    // A row recorded since (no error, no cache hit: only `done` moves): the counts, kept
    // between pages, and the page both show it.
    let late = ItemResult::Lookup {
        lookup: Lookup::Unknown,
        from_cache: false,
        fetched_at: 0,
    };
    f.store.job_record(&JobId(id.clone()), 0, &late, 0).unwrap();
    let got = page(&f, &id, "verdict=unknown").await;
    assert_eq!(got["counts"]["total"], rows.len() as u64 + 1);
    assert_eq!(
        got["counts"]["verdicts"]["unknown"],
        verdicts["unknown"] + 1
    );
    assert_eq!(got["rows"][0]["index"], 0);
}

#[tokio::test]
async fn bad_parameters_are_400s_that_say_what_is_valid_and_downloads_still_work() {
    let f = fixture(Options {
        keys: false,
        ..Options::default()
    })
    .await;
    let (id, rows) = seeded(&f).await;
    let long = "a".repeat(201);
    let cases: Vec<(String, &str)> = vec![
        ("limit=0".into(), "limit must be from 1 to 1000"),
        ("limit=1001".into(), "from 0 to 1000"),
        ("limit=ten".into(), "whole number"),
        ("offset=-1".into(), "whole number"),
        ("offset=241".into(), "from 0 to 240"),
        ("offset=1e3".into(), "whole number"),
        (
            "offset=184467440737095516160".into(),
            "whole number",
        ),
        (
            "sort=name".into(),
            "index, input, verdict, malicious, threat_label, type, meaningful_name, first_seen, last_seen",
        ),
        ("sort=INDEX".into(), "is not one of"),
        ("order=descending".into(), "asc, desc"),
        (
            "verdict=evil".into(),
            "malicious, suspicious, clean, unanalysed, unknown, error",
        ),
        (format!("q={long}"), "at most 200"),
        ("format=csv&limit=5".into(), "send one or the other"),
        (
            "sort=%E2%80%AE%3Cscript%3E".into(),
            "is not one of",
        ),
    ];
    for (query, said) in &cases {
        let res = send(&f.app, get(&format!("/api/v1/jobs/{id}/results?{query}"))).await;
        assert_eq!(
            res.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            res.text()
        );
        let message = res.json()["error"].as_str().unwrap().to_string();
        assert!(message.contains(said), "{query}: {message}");
        assert!(message.len() < 400, "{query}: a long message: {message}");
    }
    // Hostile bytes never make a 500.
    for query in [
        "q=%00%ff%fe",
        "q=a&q=b",
        "limit=%00",
        "verdict=%ff",
        "q=%25%5C%27%22%3B--",
        "offset=&limit=&sort=&order=&verdict=&q=",
    ] {
        let res = send(&f.app, get(&format!("/api/v1/jobs/{id}/results?{query}"))).await;
        assert!(
            res.status == StatusCode::OK || res.status == StatusCode::BAD_REQUEST,
            "{query}: {} {}",
            res.status,
            res.text()
        );
        res.json();
    }
    // A quote or a LIKE wildcard is text to look for, not syntax.
    for q in ["%25", "_", "%27"] {
        let got = page(&f, &id, &format!("q={q}")).await;
        assert_eq!(got["matching"], 0, "q={q}");
    }
    let missing = send(
        &f.app,
        get(&format!("/api/v1/jobs/{}/results?limit=5", JobId::random())),
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // Without paging parameters: the download, as before.
    for query in ["", "?engines=false", "?format=json"] {
        let res = send(&f.app, get(&format!("/api/v1/jobs/{id}/results{query}"))).await;
        assert_eq!(res.status, StatusCode::OK);
        assert!(res.header("content-disposition").starts_with("attachment"));
        assert_eq!(
            res.json()["results"].as_array().unwrap().len(),
            rows.len(),
            "{query}"
        );
    }
    let csv = send(
        &f.app,
        get(&format!("/api/v1/jobs/{id}/results?format=csv")),
    )
    .await;
    assert_eq!(csv.text().lines().count(), rows.len() + 1);
}
