//! What a web job looks up (issue 15): `?kinds=` or the upload's `kind` fields, checked,
//! and only the kinds asked for become the job's items. Through the router, against the
//! fake.

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use support::*;

fn kind_fields(kinds: &[&str], text: &str) -> (String, String) {
    let boundary = "vtsum-kinds-boundary";
    let mut body = String::new();
    for k in kinds {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n{k}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n{text}\r\n--{boundary}--\r\n"
    ));
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_kinds_asked_for_are_looked_up() {
    let f = fixture(Options {
        windows: per_second(50),
        ..Options::default()
    })
    .await;
    let corpus = f.fake.corpus();
    let url = corpus
        .first_url_of(fakevt::ObjectKind::Clean)
        .unwrap()
        .url
        .clone();
    let ip = corpus
        .first_ip_of(fakevt::ObjectKind::Clean)
        .unwrap()
        .ip
        .clone();
    let hash = corpus.files()[0].sha256.clone();
    let text = format!("{hash}\nfetched {url} from {ip}\n");

    // The form's checkboxes: URLs only (the hashes box left unticked).
    let (ct, body) = kind_fields(&["urls"], &text);
    let res = send(&f.app, post("/api/v1/jobs", &ct, body)).await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
    let id = res.json()["id"].as_str().unwrap().to_string();
    let job = wait_state(&f.app, &id, &["done"], Duration::from_secs(30)).await;
    assert_eq!(job["total"], 1, "the URL alone: {job}");
    let rows = send(
        &f.app,
        get(&format!("/api/v1/jobs/{id}/results?format=json")),
    )
    .await
    .json();
    assert_eq!(rows["results"][0]["input"], url.as_str());
    assert_eq!(rows["results"][0]["kind"], "url");

    // The query string: hashes and IPs.
    let res = send(
        &f.app,
        post("/api/v1/jobs?kinds=hashes,ips", "text/plain", text.clone()),
    )
    .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
    let id = res.json()["id"].as_str().unwrap().to_string();
    let job = wait_state(&f.app, &id, &["done"], Duration::from_secs(30)).await;
    assert_eq!(job["total"], 2, "{job}");
    let ips = send(&f.app, get(&format!("/api/v1/jobs/{id}/results?kind=ip")))
        .await
        .json();
    assert_eq!(ips["matching"], 1, "{ips}");
    assert_eq!(ips["rows"][0]["input"], ip.as_str());
    // Nothing asked twice: the URL and the IP once each, the hash once.
    let asked = f.fake.counters();
    assert!(
        asked.requests_by_object.values().all(|n| *n == 1),
        "{asked:?}"
    );
    assert_eq!(asked.requests_by_hash.get(&hash), Some(&1));

    // What is refused, and why.
    let refused = [
        post("/api/v1/jobs?kinds=bogus", "text/plain", text.clone()),
        post(
            "/api/v1/jobs?kinds=urls",
            "application/json",
            format!("{{\"hashes\": [\"{hash}\"]}}"),
        ),
        {
            let boundary = "late";
            let body = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n{text}\r\n\
                 --{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nurls\r\n--{boundary}--\r\n"
            );
            post(
                "/api/v1/jobs",
                &format!("multipart/form-data; boundary={boundary}"),
                body,
            )
        },
        get(&format!("/api/v1/jobs/{id}/results?kind=host")),
    ];
    let why = [
        "unknown kind",
        "JSON list holds hashes only",
        "before the file",
        "is not one of file, url",
    ];
    for (req, why) in refused.into_iter().zip(why) {
        let res = send(&f.app, req).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{why}: {}", res.text());
        assert!(res.text().contains(why), "{why}: {}", res.text());
    }
}
