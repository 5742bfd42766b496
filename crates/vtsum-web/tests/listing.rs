//! What the README promises about past jobs and their numbers: `/jobs` lists every job
//! (label, state, counts) with a delete, a deleted job's answers stay in the cache,
//! `results?engines=true` adds the per-engine results, and `/metrics` counts the hashes
//! still queued.

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use support::*;

const T: Duration = Duration::from_secs(30);

/// Submits hashes as JSON with a label and returns the job id.
async fn submit_labelled(f: &Fixture, hashes: &[String], label: &str) -> String {
    let body = serde_json::json!({ "hashes": hashes, "label": label }).to_string();
    let res = send(&f.app, post("/api/v1/jobs", "application/json", body)).await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
    res.json()["id"].as_str().expect("id").to_string()
}

/// The `<tr>` of `/jobs` that links to job `id`, if any.
fn row_of(page: &str, id: &str) -> Option<String> {
    let link = format!("href=\"/jobs/{id}\"");
    page.split("<tr>")
        .find(|tr| tr.contains(&link))
        .map(|tr| tr.split("</tr>").next().unwrap_or("").to_string())
}

#[tokio::test]
async fn the_jobs_page_lists_past_jobs_and_a_deleted_jobs_answers_stay_cached() {
    let f = fixture(Options::default()).await;
    let older = hashes(&f.fake, 4, 1);
    let newer = hashes(&f.fake, 8, 0)[5..].to_vec();
    let a = submit_labelled(&f, &older, "incident <a>").await;
    wait_state(&f.app, &a, &["done"], T).await;
    let b = submit_labelled(&f, &newer, "incident b").await;
    wait_state(&f.app, &b, &["done"], T).await;

    let page = send(&f.app, get("/jobs")).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    for (id, label, counts) in [
        (&a, "incident &lt;a&gt;", "5 / 5"),
        (&b, "incident b", "3 / 3"),
    ] {
        let tr = row_of(&html, id).unwrap_or_else(|| panic!("job {id} not listed: {html}"));
        assert!(tr.contains(label), "label: {tr}");
        assert!(tr.contains(">done</span>"), "state: {tr}");
        assert!(tr.contains(counts), "counts: {tr}");
        assert!(
            tr.contains(&format!("action=\"/jobs/{id}/delete\"")),
            "a delete: {tr}"
        );
    }

    // Delete the older job from the page.
    let del = send(&f.app, post(&format!("/jobs/{a}/delete"), "text/plain", "")).await;
    assert_eq!(del.status, StatusCode::SEE_OTHER);
    assert_eq!(del.header("location"), "/jobs");
    let html = send(&f.app, get("/jobs")).await.text();
    assert!(row_of(&html, &a).is_none(), "a deleted job is not listed");
    assert!(row_of(&html, &b).is_some(), "the other job stays");
    assert_eq!(
        send(&f.app, get(&format!("/api/v1/jobs/{a}"))).await.status,
        StatusCode::NOT_FOUND
    );

    // Its answers were kept: the same hashes again cost no request.
    let before = f.fake.counters().arrivals.len();
    let again = submit(&f.app, &older).await;
    let job = wait_state(&f.app, &again, &["done"], T).await;
    assert_eq!(
        (job["done"].as_u64(), job["cache_hits"].as_u64()),
        (Some(5), Some(5)),
        "{job}"
    );
    assert_eq!(f.fake.counters().arrivals.len(), before, "0 new requests");
}

#[tokio::test]
async fn results_carry_per_engine_results_only_when_asked() {
    let f = fixture(Options::default()).await;
    let input = hashes(&f.fake, 5, 1);
    let id = submit(&f.app, &input).await;
    wait_state(&f.app, &id, &["done"], T).await;
    let rows = |query: &'static str| {
        let app = f.app.clone();
        let id = id.clone();
        async move {
            let res = send(&app, get(&format!("/api/v1/jobs/{id}/results{query}"))).await;
            assert_eq!(res.status, StatusCode::OK, "{query}: {}", res.text());
            res.json()["results"].as_array().unwrap().clone()
        }
    };
    let with = rows("?engines=true").await;
    assert_eq!(with.len(), 6);
    for r in with.iter().filter(|r| r["status"] == "found") {
        let engines = r["engines"]
            .as_object()
            .unwrap_or_else(|| panic!("no engines: {r}"));
        // A file never analysed has no engine results; every other one has many.
        let analysed = !r["last_analysis"].is_null();
        assert_eq!(engines.len() > 10, analysed, "{r}");
        assert!(engines.values().all(|e| e["category"].is_string()), "{r}");
    }
    let analysed = |r: &&serde_json::Value| r["status"] == "found" && !r["last_analysis"].is_null();
    assert_eq!(with.iter().filter(analysed).count(), 4);
    for query in ["", "?engines=false", "?format=json"] {
        let without = rows(query).await;
        assert_eq!(without.len(), 6);
        assert!(
            without.iter().all(|r| r.get("engines").is_none()),
            "{query}: engines without asking"
        );
    }
    let jsonl = send(
        &f.app,
        get(&format!(
            "/api/v1/jobs/{id}/results?format=jsonl&engines=true"
        )),
    )
    .await
    .text();
    let lines: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.iter().filter(|r| r["engines"].is_object()).count(), 5);
    assert_eq!(
        lines
            .iter()
            .filter(|r| r["engines"].as_object().is_some_and(|e| !e.is_empty()))
            .count(),
        4
    );
}

/// The value of an unlabelled metric.
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_the_hashes_still_queued() {
    // 2 keys x 3 a day: the first job gets 6 of 10 answers, the second none of 5.
    let f = fixture(Options {
        windows: per_second(50),
        daily: Some(3),
        ..Options::default()
    })
    .await;
    let all = hashes(&f.fake, 15, 0);
    let first = submit(&f.app, &all[..10]).await;
    let job = wait_state(&f.app, &first, &["waiting_quota"], T).await;
    assert_eq!(job["done"], 6);
    let m = send(&f.app, get("/metrics")).await.text();
    assert_eq!(metric(&m, "vtsum_queue_hashes"), 4, "{m}");
    let second = submit(&f.app, &all[10..]).await;
    wait_state(&f.app, &second, &["waiting_quota"], T).await;
    let m = send(&f.app, get("/metrics")).await.text();
    assert_eq!(metric(&m, "vtsum_queue_hashes"), 4 + 5, "{m}");
    assert_eq!(metric(&m, "vtsum_jobs{state=\"waiting_quota\"}"), 2, "{m}");
    // A deleted job's hashes are no longer waiting.
    let del = axum::http::Request::delete(format!("/api/v1/jobs/{first}"))
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(send(&f.app, del).await.status, StatusCode::NO_CONTENT);
    let m = send(&f.app, get("/metrics")).await.text();
    assert_eq!(metric(&m, "vtsum_queue_hashes"), 5, "{m}");
}
