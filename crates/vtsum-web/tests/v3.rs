//! The VirusTotal-compatible endpoint (`/api/v3`) through the router, against the fake
//! VirusTotal: answers exactly as VirusTotal gave them, by any of a file's hashes, each
//! asked upstream once; VirusTotal's error shapes; client tokens, per-client counts and
//! caps; waiting for a key, and giving up with `Retry-After`; the interactive lane ahead of
//! a running job. (vt-py itself drives a real server in `crates/vtsum/tests/vtpy.rs`.)

mod support;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use support::*;
use vtsum_web::ClientToken;

const SOAR: &str = "soar-token-0123456789abcdef";
const NOTEBOOK: &str = "notebook-token-fedcba9876543210";

fn v3(path: &str, token: Option<&str>) -> Request<Body> {
    let mut req = Request::get(format!("/api/v3{path}"));
    if let Some(t) = token {
        req = req.header("x-apikey", t);
    }
    req.body(Body::empty()).expect("request")
}

/// The error's code and message, checking VirusTotal's shape on the way.
fn vt_error(res: &Answer) -> (String, String) {
    let body = res.json();
    let error = &body["error"];
    assert!(error.is_object(), "not VirusTotal's error shape: {body}");
    (
        error["code"].as_str().expect("code").to_string(),
        error["message"].as_str().expect("message").to_string(),
    )
}

/// Looks up one uncached file per key: each key's one request of its window or day.
async fn spend_both_keys(f: &Fixture, files: &[String]) {
    for hash in files {
        let res = send(&f.app, v3(&format!("/files/{hash}"), None)).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    }
}

fn asked(f: &Fixture, hash: &str) -> u64 {
    let c = f.fake.counters();
    c.requests_by_hash.get(hash).copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_come_back_as_virustotal_gave_them_by_any_hash_asked_once() {
    let f = fixture(Options::default()).await;
    let file = f.fake.corpus().files()[3].clone();
    let res = send(&f.app, v3(&format!("/files/{}", file.sha256), None)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.header("content-type"), "application/json");
    let expected = fakevt::v3_file_object(&file, &f.fake.url());
    assert_eq!(res.json(), expected, "the body VirusTotal returned");
    // Its md5 and sha1 (any case) are cache hits: the fake saw one request.
    for id in [file.md5.clone(), file.sha1.to_uppercase()] {
        let again = send(&f.app, v3(&format!("/files/{id}"), None)).await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(again.json(), expected);
    }
    assert_eq!(f.fake.counters().arrivals.len(), 1);

    // An unknown file: VirusTotal's 404, cached like any answer.
    let unknown = fakevt::unknown_hash(4242);
    for _ in 0..2 {
        let res = send(&f.app, v3(&format!("/files/{unknown}"), None)).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        let (code, message) = vt_error(&res);
        assert_eq!(code, "NotFoundError");
        assert!(message.contains(&unknown), "{message}");
    }
    assert_eq!(asked(&f, &unknown), 1);

    let res = send(&f.app, v3("/files/not-a-hash", None)).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(vt_error(&res).0, "InvalidArgumentError");

    // Other routes are not proxied: 501, naming what is served.
    let post = Request::post("/api/v3/files")
        .body(Body::from("x"))
        .unwrap();
    for req in [
        v3("/urls/aHR0cDovL2E", None),
        v3("/search?query=x", None),
        post,
    ] {
        let res = send(&f.app, req).await;
        assert_eq!(res.status, StatusCode::NOT_IMPLEMENTED);
        let (code, message) = vt_error(&res);
        assert_eq!(code, "NotImplementedError");
        assert!(message.contains("/api/v3/files/"), "{message}");
    }
    // A page on another site cannot make a browser spend quota here, even with a GET.
    let uncached = f.fake.corpus().files()[4].sha256.clone();
    let cross = Request::get(format!("/api/v3/files/{uncached}"))
        .header("sec-fetch-site", "cross-site")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&f.app, cross).await.status, StatusCode::FORBIDDEN);
    assert_eq!(f.fake.counters().arrivals.len(), 2, "nothing else went out");
    assert_no_429(&f.fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_tokens_name_the_caller_count_its_use_and_cap_it() {
    let clients = vec![
        ClientToken::parse(&format!("soar={SOAR}"), "test").unwrap(),
        ClientToken::parse(&format!("notebook={NOTEBOOK}"), "test").unwrap(),
    ];
    let clients = ClientToken::finish(clients, &["soar=2".to_string()]).unwrap();
    let f = fixture(Options {
        clients,
        ..Options::default()
    })
    .await;
    let files: Vec<String> = f.fake.corpus().sha256s(3);
    let path = format!("/files/{}", files[0]);

    let res = send(&f.app, v3(&path, None)).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(vt_error(&res).0, "AuthenticationRequiredError");
    let res = send(&f.app, v3(&path, Some("a-virustotal-key-is-not-a-token"))).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(vt_error(&res).0, "WrongCredentialsError");
    assert_eq!(f.fake.counters().arrivals.len(), 0);

    // soar may cause two upstream requests a day; cached files are answered past that.
    for hash in &files[..2] {
        let res = send(&f.app, v3(&format!("/files/{hash}"), Some(SOAR))).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    }
    let res = send(&f.app, v3(&format!("/files/{}", files[2]), Some(SOAR))).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    let (code, message) = vt_error(&res);
    assert_eq!(code, "QuotaExceededError");
    assert!(
        message.contains("soar") && message.contains("--client-cap"),
        "{message}"
    );
    let retry: u64 = res.header("retry-after").parse().expect("Retry-After");
    assert!((1..=86_400).contains(&retry), "{retry}");
    assert_eq!(asked(&f, &files[2]), 0, "the capped lookup went nowhere");
    let res = send(&f.app, v3(&path, Some(SOAR))).await;
    assert_eq!(res.status, StatusCode::OK, "a cached file past the cap");
    // Another client is not held to soar's cap.
    let res = send(&f.app, v3(&format!("/files/{}", files[0]), Some(NOTEBOOK))).await;
    assert_eq!(res.status, StatusCode::OK);

    let metrics = send(&f.app, get("/metrics")).await.text();
    for line in [
        "vtsum_client_lookups_today{client=\"soar\"} 4",
        "vtsum_client_upstream_today{client=\"soar\"} 2",
        "vtsum_client_cache_hits_today{client=\"soar\"} 1",
        "vtsum_client_lookups_today{client=\"notebook\"} 1",
        "vtsum_client_cache_hits_today{client=\"notebook\"} 1",
        "vtsum_client_upstream_today{client=\"notebook\"} 0",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
    assert!(!metrics.contains(SOAR) && !metrics.contains(NOTEBOOK));
    assert_eq!(f.fake.counters().arrivals.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_out_for_the_day_answer_quota_exceeded_and_the_pooled_quota_says_so() {
    let f = fixture(Options {
        daily: Some(1),
        ..Options::default()
    })
    .await;
    let files = f.fake.corpus().sha256s(3);
    spend_both_keys(&f, &files[..2]).await;
    let res = send(&f.app, v3(&format!("/files/{}", files[2]), None)).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(vt_error(&res).0, "QuotaExceededError");
    let retry: u64 = res.header("retry-after").parse().expect("Retry-After");
    let to_midnight = vtsum_core::quota::next_utc_midnight() - chrono::Utc::now().timestamp();
    assert!(
        retry.abs_diff(to_midnight as u64) <= 2,
        "{retry} vs {to_midnight}"
    );
    assert_no_429(&f.fake);

    let quotas = send(&f.app, v3("/users/anyone/overall_quotas", None)).await;
    assert_eq!(quotas.status, StatusCode::OK);
    let daily = &quotas.json()["data"]["api_requests_daily"]["user"];
    assert_eq!(
        daily,
        &serde_json::json!({"used": 2, "allowed": 2}),
        "2 keys x 1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_that_gets_no_key_in_time_is_refused_with_retry_after() {
    let f = fixture(Options {
        windows: vec![(1, Duration::from_secs(20))],
        proxy_wait: Some(Duration::from_secs(1)),
        ..Options::default()
    })
    .await;
    let files = f.fake.corpus().sha256s(3);
    spend_both_keys(&f, &files[..2]).await;
    let started = Instant::now();
    let res = send(&f.app, v3(&format!("/files/{}", files[2]), None)).await;
    let waited = started.elapsed();
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.text());
    let (code, message) = vt_error(&res);
    assert_eq!(code, "QuotaExceededError");
    assert!(message.contains("--proxy-wait"), "{message}");
    assert_eq!(res.header("retry-after"), "20", "the window's length");
    assert!(waited >= Duration::from_secs(1), "it waited {waited:?}");
    assert_eq!(asked(&f, &files[2]), 0);
    // The JSON API's lookup waits the same way and says so in its own shape.
    let res = send(&f.app, get(&format!("/api/v1/files/{}", files[2]))).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.header("retry-after"), "20");
    assert!(res.json()["error"]
        .as_str()
        .unwrap()
        .contains("--proxy-wait"));
    assert_no_429(&f.fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_goes_ahead_of_a_running_batch_job_which_slows_but_goes_on() {
    let window = Duration::from_secs(1);
    let f = fixture(Options {
        windows: vec![(2, window)],
        ..Options::default()
    })
    .await;
    let batch = hashes(&f.fake, 150, 50);
    let id = submit(&f.app, &batch).await;
    // The job is running at the keys' pace.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let job: Value = send(&f.app, get(&format!("/api/v1/jobs/{id}")))
            .await
            .json();
        if job["done"].as_u64().unwrap_or(0) >= 8 {
            break;
        }
        assert!(Instant::now() < deadline, "the job never ran: {job}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let lone = f.fake.corpus().files()[250].sha256.clone();
    let before = f.fake.counters().arrivals.len();
    let started = Instant::now();
    let res = send(&f.app, v3(&format!("/files/{lone}"), None)).await;
    let took = started.elapsed();
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let arrivals = f.fake.counters().arrivals;
    let at = arrivals
        .iter()
        .position(|a| a.hashes.contains(&lone))
        .expect("sent");
    eprintln!("AHEAD {} took {took:?}", at - before);
    assert!(
        took < 2 * window,
        "the lookup took {took:?} behind a job of {} hashes",
        batch.len()
    );
    let done_then: u64 = send(&f.app, get(&format!("/api/v1/jobs/{id}")))
        .await
        .json()["done"]
        .as_u64()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let job: Value = send(&f.app, get(&format!("/api/v1/jobs/{id}")))
            .await
            .json();
        if job["done"].as_u64().unwrap_or(0) > done_then + 4 {
            break;
        }
        assert!(Instant::now() < deadline, "the job stopped: {job}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(asked(&f, &lone), 1);
    assert_no_429(&f.fake);
}
