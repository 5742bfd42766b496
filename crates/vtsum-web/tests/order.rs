//! How web jobs take turns, read from the fake VirusTotal's own log of arrivals: one job at
//! a time, oldest first; a deleted running job stops within the requests already in
//! flight; and a job through transient faults costs exactly one request more per fault.

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use support::*;

const T: Duration = Duration::from_secs(30);

/// Positions in the fake's arrival log of the requests for `hashes`.
fn positions(fake: &fakevt::FakeVt, hashes: &[String]) -> Vec<usize> {
    fake.counters()
        .arrivals
        .iter()
        .enumerate()
        .filter(|(_, a)| a.hashes.iter().any(|h| hashes.contains(h)))
        .map(|(i, _)| i)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_jobs_run_one_at_a_time_oldest_first() {
    let f = fixture(Options::default()).await;
    let all = hashes(&f.fake, 24, 0);
    let parts: Vec<&[String]> = all.chunks(8).collect();
    // Three jobs wait behind a held one, so the runner finds all three queued at once.
    hold_runner(&f).await;
    let mut ids = Vec::new();
    for part in &parts {
        ids.push(submit(&f.app, part).await);
    }
    for id in &ids {
        let job = send(&f.app, get(&format!("/api/v1/jobs/{id}")))
            .await
            .json();
        assert_eq!(job["state"], "queued", "submitted during the hold: {job}");
    }
    for id in &ids {
        wait_state(&f.app, id, &["done"], T).await;
    }
    let arrivals = f.fake.counters().arrivals;
    let spans: Vec<(usize, usize)> = parts
        .iter()
        .map(|part| {
            let at = positions(&f.fake, part);
            assert_eq!(at.len(), 8, "each hash asked once");
            (at[0], at[at.len() - 1])
        })
        .collect();
    for (k, pair) in spans.windows(2).enumerate() {
        let ((_, last), (first, _)) = (pair[0], pair[1]);
        assert!(
            last < first,
            "job {} started before job {} ended: arrivals {spans:?}",
            k + 2,
            k + 1
        );
        assert!(arrivals[last].at_ms <= arrivals[first].at_ms);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_running_job_stops_it_within_the_requests_in_flight() {
    // 2 keys x 20/s: without a stop the first job would go on for seconds after the delete.
    let f = fixture(Options {
        windows: per_second(20),
        ..Options::default()
    })
    .await;
    let all = hashes(&f.fake, 130, 0);
    let (first_hashes, second_hashes) = all.split_at(120);
    let first = submit(&f.app, first_hashes).await;
    let second = submit(&f.app, second_hashes).await;
    let deadline = std::time::Instant::now() + T;
    while arrivals_of(&f.fake, first_hashes) < 10 {
        assert!(
            std::time::Instant::now() < deadline,
            "the job never got going"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let at_delete = arrivals_of(&f.fake, first_hashes);
    let del = Request::delete(format!("/api/v1/jobs/{first}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&f.app, del).await.status, StatusCode::NO_CONTENT);
    let job = wait_state(&f.app, &second, &["done"], T).await;
    assert_eq!(job["done"], 10);
    let asked = arrivals_of(&f.fake, first_hashes);
    assert!(
        asked <= at_delete + CONCURRENCY,
        "the deleted job went on: {at_delete} requests when deleted, {asked} in the end \
         (at most {CONCURRENCY} may have been on their way)"
    );
    assert_eq!(
        send(&f.app, get(&format!("/api/v1/jobs/{first}")))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_no_429(&f.fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_transient_fault_costs_exactly_one_more_request() {
    let f = fixture(Options::default()).await;
    let faults = f.fake.faults();
    faults.fail_next(fakevt::Fault::Status(503), 3);
    faults.fail_next(fakevt::Fault::Reset, 2);
    faults.fail_next(fakevt::Fault::Malformed, 2);
    let input = hashes(&f.fake, 6, 1);
    let id = submit(&f.app, &input).await;
    let job = wait_state(&f.app, &id, &["done"], T).await;
    assert_eq!(
        (job["done"].as_u64(), job["errors"].as_u64()),
        (Some(7), Some(0)),
        "{job}"
    );
    let c = f.fake.counters();
    let per_hash: Vec<u64> = input.iter().map(|h| c.requests_by_hash[h]).collect();
    assert_eq!(
        per_hash.iter().sum::<u64>(),
        7 + 7,
        "7 hashes and 7 faults: {per_hash:?}"
    );
    assert_eq!(arrivals_of(&f.fake, &input), 14);
    let rows = send(&f.app, get(&format!("/api/v1/jobs/{id}/results")))
        .await
        .json();
    let rows = rows["results"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["error"].is_null()), "{rows:?}");
    assert_eq!(rows.iter().filter(|r| r["status"] == "unknown").count(), 1);
}
