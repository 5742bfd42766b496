//! Watchlists in the web app (issue 16): "Watch these" on a finished job (all rows, or
//! only the unknown and clean ones) makes a list whose items start with the job's answers
//! as their history, no request spent; the JSON API lists it, shows it and deletes it; the
//! Watchlists, list and Changes pages render it with VirusTotal's hostile text escaped.
//! Through the router, against the fake.

mod support;

use std::time::Duration;

use axum::http::{Request, StatusCode};
use support::*;

const HOSTILE: &str = "<img src=x onerror=alert(1)>";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_these_makes_a_list_from_a_job_without_a_request() {
    let f = fixture(Options {
        windows: per_second(50),
        ..Options::default()
    })
    .await;
    let files = f.fake.corpus().files()[..20].to_vec();
    let hostile = files
        .iter()
        .find(|x| x.kind == fakevt::FileKind::Clean)
        .unwrap();
    assert!(f.fake.set_detections(fakevt::Detections {
        hash: hostile.sha256.clone(),
        malicious: 0,
        suspicious: 0,
        threat_label: Some(HOSTILE.into()),
    }));
    let mut hashes: Vec<String> = files.iter().map(|x| x.sha256.clone()).collect();
    hashes.extend((0..3).map(fakevt::unknown_hash));
    let res = send(
        &f.app,
        post("/api/v1/jobs", "text/plain", hashes.join("\n")),
    )
    .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
    let id = res.json()["id"].as_str().unwrap().to_string();
    wait_state(&f.app, &id, &["done"], Duration::from_secs(30)).await;
    let rows = send(
        &f.app,
        get(&format!("/api/v1/jobs/{id}/results?format=json")),
    )
    .await
    .json();
    let quiet: Vec<String> = rows["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verdict"] == "unknown" || r["verdict"] == "clean")
        .map(|r| r["input"].as_str().unwrap().to_string())
        .collect();
    assert!(quiet.len() > 3 && quiet.len() < hashes.len(), "{quiet:?}");
    let asked = f.fake.counters().requests_by_hash.values().sum::<u64>();

    let watch = |query: &str| {
        let uri = format!("/api/v1/jobs/{id}/watch?{query}");
        send(&f.app, post(&uri, "application/json", ""))
    };
    let res = watch("list=triage&only=unknown_clean").await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert_eq!(res.json()["added"], quiet.len());
    let list = send(&f.app, get("/api/v1/watchlists/triage")).await.json();
    let items = list["items"].as_array().unwrap();
    let mut inputs: Vec<String> = items
        .iter()
        .map(|i| i["input"].as_str().unwrap().to_string())
        .collect();
    inputs.sort();
    let mut expected = quiet.clone();
    expected.sort();
    assert_eq!(inputs, expected, "only the unknown and clean rows");
    for item in items {
        assert_eq!(item["history"].as_array().unwrap().len(), 1, "{item}");
        assert!(
            !item["checked_at"].is_null(),
            "the job's answer is the baseline"
        );
    }
    assert_eq!(
        f.fake.counters().requests_by_hash.values().sum::<u64>(),
        asked,
        "watching a job asks VirusTotal nothing"
    );

    // All rows: the rest join, the ones already there stay as they were.
    let res = watch("list=triage&only=all").await;
    assert_eq!(res.json()["added"], hashes.len() - quiet.len());
    assert_eq!(res.json()["items"], hashes.len());
    let all = send(&f.app, get("/api/v1/watchlists")).await.json();
    assert_eq!(all["watchlists"][0]["name"], "triage");
    assert_eq!(all["watchlists"][0]["items"], hashes.len());

    for bad in ["list=..%2Fetc&only=all", "list=x&only=some", "only=all"] {
        let res = watch(bad).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}: {}", res.text());
    }

    // The pages: the label VirusTotal gave is text, never markup.
    for uri in ["/watchlists", "/watchlists/triage", "/changes"] {
        let page = send(&f.app, get(uri)).await;
        assert_eq!(page.status, StatusCode::OK, "{uri}");
    }
    let page = send(&f.app, get("/watchlists/triage")).await.text();
    assert!(!page.contains(HOSTILE), "unescaped: {page}");
    assert!(
        page.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{page}"
    );
    assert!(page.contains(&hostile.sha256));
    let job_page = send(&f.app, get(&format!("/jobs/{id}"))).await.text();
    assert!(
        job_page.contains(&format!("action=\"/jobs/{id}/watch\"")),
        "{job_page}"
    );

    let metrics = send(&f.app, get("/metrics")).await.text();
    assert!(
        metrics.contains("vtsum_webhook_deliveries{state=\"pending\"} 0"),
        "{metrics}"
    );

    // A change whose alert failed, as a round records it: shown on Changes and counted.
    let watches = f.store.clone().watches().unwrap();
    let item = watches
        .watch_items("triage")
        .unwrap()
        .into_iter()
        .find(|i| i.input == hostile.sha256)
        .unwrap();
    let worse = vtsum_core::diff::Snapshot {
        verdict: vtsum_core::Verdict::Malicious,
        malicious: 40,
        total: 70,
        threat_label: Some(HOSTILE.into()),
    };
    let hook = vtsum_core::watch::HookId("hook-0123456789abcdef".into());
    let now = vtsum_core::engine::now_unix();
    let change = watches
        .watch_record(&item, &worse, now, None, now, std::slice::from_ref(&hook))
        .unwrap()
        .change
        .expect("clean to malicious is a change");
    let claimed = watches.outbox_claim(&[hook], now, now + 60, 10).unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].change.id, change.id);
    watches
        .outbox_failed(claimed[0].id, now + 15, "hooks.example answered 503 <b>")
        .unwrap();
    let page = send(&f.app, get("/changes")).await.text();
    assert!(
        page.contains("1 failed: hooks.example answered 503 &lt;b&gt;"),
        "{page}"
    );
    assert!(!page.contains(HOSTILE), "unescaped: {page}");
    let metrics = send(&f.app, get("/metrics")).await.text();
    assert!(
        metrics.contains("vtsum_webhook_deliveries{state=\"failing\"} 1"),
        "{metrics}"
    );
    let feed = send(&f.app, get("/api/v1/changes")).await.json();
    assert_eq!(feed["changes"][0]["deliveries"][0]["attempts"], 1, "{feed}");
    assert_eq!(feed["outbox"]["pending"], 1, "{feed}");

    let delete = Request::delete("/api/v1/watchlists/triage")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(send(&f.app, delete).await.status, StatusCode::NO_CONTENT);
    let gone = send(&f.app, get("/api/v1/watchlists/triage")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}
