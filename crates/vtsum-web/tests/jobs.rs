//! A web job's life: the waiting-for-quota state, and a server stopped mid-job that resumes
//! on the next start without asking any hash twice. Counts come from the fake VirusTotal's
//! own counters. (Live events: `live.rs`; order and deletion: `order.rs`.)

mod support;

use std::time::{Duration, Instant};

use support::sse::read_events;
use support::*;

const T: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_daily_quota_the_job_waits_keeps_its_results_and_says_when() {
    let f = fixture(Options {
        windows: per_second(50),
        daily: Some(3),
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
    let events = read_events(&f.app, &id, T, |ev| !ev.is_empty()).await;
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
            windows: per_second(50),
            daily: Some(3),
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
        windows: per_second(4),
        ..Options::default()
    };
    let f = fixture(Options {
        windows: per_second(4),
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
    assert_no_429(&f.fake);
}
