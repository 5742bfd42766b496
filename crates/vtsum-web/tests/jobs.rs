//! A web job's life: live progress over Server-Sent Events, the waiting-for-quota state,
//! and a server stopped mid-job that resumes on the next start without asking any hash
//! twice. Counts come from the fake VirusTotal's own counters.

mod support;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use support::*;
use tokio_stream::StreamExt;

const T: Duration = Duration::from_secs(30);

/// Reads SSE events (name, data) from a job's stream until `done` says stop.
async fn read_events(
    app: &vtsum_web::App,
    id: &str,
    mut done: impl FnMut(&[(String, serde_json::Value)]) -> bool,
) -> Vec<(String, serde_json::Value)> {
    let req = Request::get(format!("/api/v1/jobs/{id}/events"))
        .body(Body::empty())
        .unwrap();
    let res = tower::ServiceExt::oneshot(vtsum_web::router(app.clone()), req)
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut stream = res.into_body().into_data_stream();
    let mut buffer = String::new();
    let mut events = Vec::new();
    let deadline = Instant::now() + T;
    while !done(&events) {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, stream.next())
            .await
            .unwrap_or_else(|_| panic!("no further events; got {events:?}"))
            .expect("the stream ended early")
            .expect("stream error");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut name = String::from("message");
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    name = v.to_string();
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data.push_str(v);
                }
            }
            if !data.is_empty() {
                events.push((
                    name,
                    serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
                ));
            }
        }
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_opens_with_the_true_state_then_carries_every_row_live() {
    // Slow keys (2 x 4/s): the stream sees rows arrive one by one.
    let f = fixture(Options {
        rate: "4/1s",
        ..Options::default()
    })
    .await;
    let hashes = hashes(&f.fake, 10, 2);
    let id = submit(&f.app, &hashes).await;
    let events = read_events(&f.app, &id, |ev| {
        ev.iter().any(|(n, d)| n == "job" && d["state"] == "done")
    })
    .await;
    assert_eq!(events[0].0, "job", "the stream opens with the job");
    assert!(events
        .iter()
        .any(|(n, d)| n == "keys" && d.as_array().is_some_and(|k| k.len() == 2)));
    let mut rows: Vec<&str> = events
        .iter()
        .filter(|(n, _)| n == "row")
        .map(|(_, d)| d["row"]["input"].as_str().unwrap())
        .collect();
    rows.sort();
    rows.dedup();
    // Rows finished before the stream opened come from the results, the rest live.
    assert!(rows.len() >= 4, "most rows arrive live: {}", rows.len());
    let running: Vec<u64> = events
        .iter()
        .filter(|(n, d)| n == "job" && d["state"] == "running")
        .map(|(_, d)| d["done"].as_u64().unwrap())
        .collect();
    assert!(
        running.windows(2).all(|w| w[0] <= w[1]),
        "progress never goes back: {running:?}"
    );
    assert!(running.len() >= 2, "progress is reported while running");
    let last = &events.iter().rev().find(|(n, _)| n == "job").unwrap().1;
    assert_eq!(
        (last["done"].as_u64(), last["total"].as_u64()),
        (Some(12), Some(12))
    );

    // A watcher arriving after the end sees the true state at once.
    let late = read_events(&f.app, &id, |ev| !ev.is_empty()).await;
    assert_eq!(late[0].1["state"], "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_daily_quota_the_job_waits_keeps_its_results_and_says_when() {
    let f = fixture(Options {
        rate: "50/1s,3/day",
        ..Options::default()
    })
    .await;
    let id = submit(&f.app, &hashes(&f.fake, 10, 0)).await;
    let job = wait_state(&f.app, &id, &["waiting_quota"], T).await;
    assert_eq!(job["done"], 6, "2 keys x 3 a day");
    let resumes = job["resumes_at"].as_str().expect("resumes_at").to_string();
    assert!(
        resumes.ends_with("T00:00:00Z"),
        "daily quota resets at UTC midnight: {resumes}"
    );
    assert!(job["resumes_at_unix"].as_i64().unwrap() > chrono::Utc::now().timestamp());
    assert_eq!(
        f.fake
            .counters()
            .quota_refusals_by_key
            .values()
            .sum::<u64>(),
        0,
        "no 429"
    );
    let results = send(&f.app, get(&format!("/api/v1/jobs/{id}/results")))
        .await
        .json();
    assert_eq!(results["results"].as_array().unwrap().len(), 6);
    assert_eq!(results["summary"]["pending"], 4);
    let events = read_events(&f.app, &id, |ev| !ev.is_empty()).await;
    assert_eq!(events[0].1["state"], "waiting_quota");
    let quota = send(&f.app, get("/api/v1/quota")).await.json();
    assert!(quota["keys"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k["left_today"] == 0 && k["state"] == "exhausted"));

    // A one-hash lookup of an uncached hash is refused with 429 and the time.
    let uncached = &hashes(&f.fake, 20, 0)[15];
    let res = send(&f.app, get(&format!("/api/v1/files/{uncached}"))).await;
    assert_eq!(res.status, axum::http::StatusCode::TOO_MANY_REQUESTS);
    assert!(res.json()["error"].as_str().unwrap().contains(&resumes));

    // A restart keeps the waiting job as it was and spends nothing (the ledger is stored).
    let before = f.fake.counters().arrivals.len();
    f.app.shutdown();
    f.app.stopped().await;
    let app = app_on(
        &f.fake,
        &Options {
            rate: "50/1s,3/day",
            ..Options::default()
        },
        f.store.clone(),
    );
    let job = wait_state(&app, &id, &["waiting_quota"], T).await;
    assert_eq!(job["done"], 6);
    assert_eq!(f.fake.counters().arrivals.len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stopped_mid_job_resumes_it_and_asks_no_hash_twice() {
    let opts = Options {
        rate: "4/1s",
        ..Options::default()
    };
    let f = fixture(Options {
        rate: "4/1s",
        ..Options::default()
    })
    .await;
    let hashes = hashes(&f.fake, 24, 4);
    let id = submit(&f.app, &hashes).await;
    // Stop once the job is well under way.
    let deadline = Instant::now() + T;
    loop {
        let job = send(&f.app, get(&format!("/api/v1/jobs/{id}")))
            .await
            .json();
        if job["done"].as_u64().unwrap() >= 8 {
            break;
        }
        assert!(Instant::now() < deadline, "the job never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f.app.shutdown();
    f.app.stopped().await;
    let stopped = send(&f.app, get(&format!("/api/v1/jobs/{id}")))
        .await
        .json();
    assert!(
        stopped["done"].as_u64().unwrap() < 28,
        "stopped mid-job: {stopped}"
    );
    assert_eq!(
        stopped["state"], "queued",
        "a stopped job waits for the next start"
    );

    let app = app_on(&f.fake, &opts, f.store.clone());
    let job = wait_state(&app, &id, &["done"], T).await;
    assert_eq!(job["done"], 28);
    let counters = f.fake.counters();
    for h in &hashes {
        assert_eq!(
            counters.requests_by_hash.get(h),
            Some(&1),
            "{h} asked {:?} times",
            counters.requests_by_hash.get(h)
        );
    }
    let rows = send(&app, get(&format!("/api/v1/jobs/{id}/results")))
        .await
        .json();
    assert_eq!(rows["results"].as_array().unwrap().len(), 28);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_running_job_stops_it_and_the_next_job_runs() {
    let f = fixture(Options {
        rate: "4/1s",
        ..Options::default()
    })
    .await;
    let all = hashes(&f.fake, 40, 0);
    let first = submit(&f.app, &all[..30]).await;
    let second = submit(&f.app, &all[30..]).await;
    wait_state(&f.app, &first, &["running"], T).await;
    let del = Request::delete(format!("/api/v1/jobs/{first}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&f.app, del).await.status,
        axum::http::StatusCode::NO_CONTENT
    );
    let job = wait_state(&f.app, &second, &["done"], T).await;
    assert_eq!(job["done"], 10);
    let asked = f.fake.counters().requests_by_hash;
    let of_first = all[..30].iter().filter(|h| asked.contains_key(*h)).count();
    assert!(
        of_first < 30,
        "the deleted job stopped early ({of_first} of 30 asked)"
    );
}
