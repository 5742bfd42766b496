//! Uploads through the router: every accepted shape of a submission, the 400s for bad ones,
//! and the 413 for too large a body, as JSON for the API and as a page for the form.

mod support;

use axum::http::StatusCode;
use support::*;

#[tokio::test]
async fn uploads_in_every_accepted_shape_and_400s_for_bad_ones() {
    let f = fixture(Options::default()).await;
    let h = hashes(&f.fake, 3, 0);

    let (ct, body) = multipart("iocs.csv", &format!("a,{}\nno hash here\n", h[0]), &h[1]);
    let res = send(&f.app, post("/api/v1/jobs", &ct, body)).await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
    let job = res.json();
    assert_eq!(
        (job["total"].as_u64(), job["label"].as_str()),
        (Some(2), Some("iocs.csv"))
    );
    assert_eq!(job["lines_without_hash"], 1);
    assert!(res
        .header("location")
        .ends_with(job["id"].as_str().unwrap()));

    let json =
        serde_json::json!({ "hashes": [h[2].to_uppercase(), h[2]], "label": "pasted" }).to_string();
    let res = send(&f.app, post("/api/v1/jobs", "application/json", json)).await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
    assert_eq!(
        (
            res.json()["total"].as_u64(),
            res.json()["duplicates"].as_u64()
        ),
        (Some(1), Some(1))
    );

    let res = send(
        &f.app,
        post(
            "/api/v1/jobs",
            "application/x-www-form-urlencoded",
            format!("text={}", h[0]),
        ),
    )
    .await;
    assert_eq!(res.status, StatusCode::ACCEPTED);

    for (ct, body, says) in [
        (
            "text/plain",
            "nothing to see".to_string(),
            "no md5, sha1 or sha256",
        ),
        (
            "application/json",
            r#"{"hashes": ["abc"]}"#.to_string(),
            "hashes[0]",
        ),
        ("application/json", r#"{"hashes": "#.to_string(), "must be"),
        (
            "multipart/form-data; boundary=x",
            "garbage".to_string(),
            "upload",
        ),
    ] {
        let res = send(&f.app, post("/api/v1/jobs", ct, body)).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{ct}");
        let msg = res.json()["error"].as_str().unwrap().to_string();
        assert!(msg.contains(says), "{ct}: {msg}");
    }

    let preview = send(
        &f.app,
        post(
            "/api/v1/extract",
            "text/plain",
            format!("{}\nx\n{}\n", h[0], h[0]),
        ),
    )
    .await;
    let p = preview.json();
    assert_eq!(
        (
            p["hashes"].as_u64(),
            p["duplicates"].as_u64(),
            p["lines_without_hash"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
}

#[tokio::test]
async fn too_large_uploads_get_413_as_json_and_as_a_page() {
    let f = fixture(Options {
        upload_limit: 1024,
        ..Options::default()
    })
    .await;
    let big = "a".repeat(2048);
    let res = send(&f.app, post("/api/v1/jobs", "text/plain", big.clone())).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.json()["error"].as_str().unwrap().contains("1024 bytes"));
    let (ct, body) = multipart("big.txt", &big, "");
    let page = send(&f.app, post("/jobs", &ct, body)).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.header("content-type").starts_with("text/html"));
    assert!(page.text().contains("larger than the limit"));
}
