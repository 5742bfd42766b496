//! Hostile requests through the router: watchers of jobs that do not exist, bodies far over
//! a route's limit, malformed API calls, and markup where a page shows a label or an
//! address. Each one is bounded and answered with a readable error or as plain text; none
//! leaves anything behind.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use support::*;
use tokio_stream::StreamExt;

#[tokio::test]
async fn watching_jobs_that_do_not_exist_leaves_no_channel_behind() {
    let f = fixture(Options::default()).await;
    let baseline = f.app.watched_jobs();
    for i in 0..10_000u32 {
        let res = send(
            &f.app,
            get(&format!(
                "/api/v1/jobs/{:032x}/events",
                0xdead_0000u64 + i as u64
            )),
        )
        .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        assert!(res.json()["error"].is_string());
    }
    assert_eq!(f.app.watched_jobs(), baseline, "channels left behind");

    // A real job's watcher that goes away takes its channel with it.
    let id = submit(&f.app, &hashes(&f.fake, 1, 0)).await;
    wait_state(&f.app, &id, &["done"], std::time::Duration::from_secs(20)).await;
    for _ in 0..3 {
        let res = tower::ServiceExt::oneshot(
            vtsum_web::router(f.app.clone()),
            get(&format!("/api/v1/jobs/{id}/events")),
        )
        .await
        .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let mut body = res.into_body().into_data_stream();
        let first = body.next().await.expect("a first event").unwrap();
        assert!(String::from_utf8_lossy(&first).contains("event: job"));
        assert_eq!(f.app.watched_jobs(), baseline + 1, "one channel per job");
        drop(body);
        assert_eq!(
            f.app.watched_jobs(),
            baseline,
            "the closed watcher's channel"
        );
    }
}

/// A body of `total` bytes made as it is read, counting how much the server pulled.
fn counted_body(total: usize) -> (Body, Arc<AtomicUsize>) {
    const CHUNK: usize = 64 << 10;
    let pulled = Arc::new(AtomicUsize::new(0));
    let seen = pulled.clone();
    let chunks = tokio_stream::iter(0..total / CHUNK).map(move |_| {
        seen.fetch_add(CHUNK, Ordering::Relaxed);
        Ok::<_, std::io::Error>(Bytes::from(vec![b'a'; CHUNK]))
    });
    (Body::from_stream(chunks), pulled)
}

#[tokio::test]
async fn bodies_far_over_a_routes_limit_get_413_and_are_not_read() {
    let f = fixture(Options {
        auth_token: Some("body-limit-token".into()),
        upload_limit: 1 << 20,
        ..Options::default()
    })
    .await;
    // 256 MiB, made as read: the login form must stop after a few KiB.
    let (body, pulled) = counted_body(256 << 20);
    let res = send(
        &f.app,
        Request::post("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .unwrap(),
    )
    .await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.text());
    assert!(res.header("content-type").starts_with("text/html"));
    let read = pulled.load(Ordering::Relaxed);
    assert!(read <= 128 << 10, "the login read {read} bytes");

    // A declared length over the limit is refused before a byte is read.
    let (body, pulled) = counted_body(1 << 20);
    let res = send(
        &f.app,
        Request::post("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("content-length", (1 << 20).to_string())
            .body(body)
            .unwrap(),
    )
    .await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(pulled.load(Ordering::Relaxed), 0);

    // Under the upload limit, uploads of every shape are read whole: the small limit of
    // the other routes does not reach them.
    let h = hashes(&f.fake, 1, 0).remove(0);
    let big_text = format!("{}\n{h}\n", "no hash on this line\n".repeat(30_000));
    assert!(big_text.len() > 500 << 10 && big_text.len() < 1 << 20);
    let (ct, body) = multipart("big.txt", &big_text, "");
    for uri in ["/api/v1/jobs", "/jobs", "/api/v1/extract"] {
        let req = Request::post(uri)
            .header("authorization", "Bearer body-limit-token")
            .header("content-type", &ct)
            .body(Body::from(body.clone()))
            .unwrap();
        let res = send(&f.app, req).await;
        assert!(
            res.status.is_success() || res.status.is_redirection(),
            "{uri}: {} {}",
            res.status,
            res.text()
        );
    }
    let form = format!("text={}", big_text.replace('\n', "%0A").replace(' ', "+"));
    let res = send(
        &f.app,
        Request::post("/api/v1/extract")
            .header("authorization", "Bearer body-limit-token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap(),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["hashes"], 1);

    // Uploads stop at the upload limit, with a JSON error on the API.
    let (body, pulled) = counted_body(64 << 20);
    let res = send(
        &f.app,
        Request::post("/api/v1/jobs")
            .header("authorization", "Bearer body-limit-token")
            .header("content-type", "text/plain")
            .body(body)
            .unwrap(),
    )
    .await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.json()["error"].as_str().unwrap().contains("1048576"));
    let read = pulled.load(Ordering::Relaxed);
    assert!(
        read <= (1 << 20) + (128 << 10),
        "the upload read {read} bytes"
    );
}

/// The answer must be `{"error": "..."}` JSON with this status.
fn assert_json_error(res: &Answer, status: StatusCode, what: &str) {
    assert_eq!(res.status, status, "{what}: {}", res.text());
    assert!(
        res.header("content-type").starts_with("application/json"),
        "{what}: {} {}",
        res.header("content-type"),
        res.text()
    );
    let body = res.json();
    let msg = body["error"].as_str().unwrap_or("");
    assert!(!msg.is_empty(), "{what}: {body}");
}

#[tokio::test]
async fn every_api_error_is_json_with_the_right_status() {
    let f = fixture(Options::default()).await;
    let id = submit(&f.app, &hashes(&f.fake, 1, 0)).await;
    let h = &hashes(&f.fake, 1, 0)[0];
    for (uri, status) in [
        (
            format!("/api/v1/jobs/{id}/results?format=csv&format=json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/api/v1/jobs/{id}/results?engines=maybe"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/api/v1/files/{h}?engines=2"),
            StatusCode::BAD_REQUEST,
        ),
        ("/api/v1/jobs/%FF%FE".to_string(), StatusCode::BAD_REQUEST),
        ("/api/v1/files/%C0".to_string(), StatusCode::BAD_REQUEST),
        ("/api/v1/nope".to_string(), StatusCode::NOT_FOUND),
        ("/api/v1/jobs/a/b/c/d".to_string(), StatusCode::NOT_FOUND),
        ("/api/v2/jobs".to_string(), StatusCode::NOT_FOUND),
    ] {
        let res = send(&f.app, get(&uri)).await;
        assert_json_error(&res, status, &uri);
    }
    for (method, uri) in [
        ("PUT", "/api/v1/jobs".to_string()),
        ("PATCH", format!("/api/v1/jobs/{id}")),
        ("POST", "/api/v1/quota".to_string()),
        ("DELETE", "/api/v1/extract".to_string()),
    ] {
        let req = Request::builder()
            .method(method)
            .uri(&uri)
            .body(Body::empty())
            .unwrap();
        let res = send(&f.app, req).await;
        assert_json_error(&res, StatusCode::METHOD_NOT_ALLOWED, &uri);
        assert!(!res.header("allow").is_empty(), "{method} {uri}: Allow");
    }
}

#[tokio::test]
async fn login_errors_are_pages_with_a_message_not_422_text() {
    let f = fixture(Options {
        auth_token: Some("login-form-token".into()),
        ..Options::default()
    })
    .await;
    for (ct, body) in [
        ("application/x-www-form-urlencoded", "nothing=here"),
        ("application/json", r#"{"token":"x"}"#),
        ("text/plain", "token=x"),
    ] {
        let res = send(&f.app, post("/login", ct, body)).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{ct} {body}");
        assert!(
            res.header("content-type").starts_with("text/html"),
            "{ct} {body}: {}",
            res.header("content-type")
        );
        assert!(res.text().contains("token"), "{ct} {body}: {}", res.text());
    }
}

/// Markup in a job's label and in an address reaches every page as text: the front page's
/// recent jobs, the jobs list, the job page (window title and heading) and the error page
/// that echoes the address. Marking any one of those places `|safe` fails this test.
#[tokio::test]
async fn markup_in_labels_and_addresses_is_text_on_every_page() {
    let f = fixture(Options::default()).await;
    let label = r#"<script>alert("x&y")</script>'"#;
    let body = serde_json::json!({ "hashes": hashes(&f.fake, 1, 0), "label": label });
    let res = send(
        &f.app,
        post("/api/v1/jobs", "application/json", body.to_string()),
    )
    .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
    let id = res.json()["id"].as_str().expect("id").to_string();
    wait_state(&f.app, &id, &["done"], std::time::Duration::from_secs(30)).await;

    let escaped = "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&#39;";
    for (uri, places) in [
        ("/".to_string(), 1),
        ("/jobs".to_string(), 1),
        (format!("/jobs/{id}"), 2),
    ] {
        let page = send(&f.app, get(&uri)).await;
        assert_eq!(page.status, StatusCode::OK, "{uri}");
        let html = page.text();
        assert!(!html.contains("<script>alert"), "{uri}: raw markup: {html}");
        assert_eq!(html.matches(escaped).count(), places, "{uri}: {html}");
    }

    let res = send(&f.app, get("/jobs/%3Cimg%20src=x%20onerror=alert(1)%3E")).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let html = res.text();
    assert!(!html.contains("<img"), "raw markup: {html}");
    assert!(
        html.contains("no job &lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
}
