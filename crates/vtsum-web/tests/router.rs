//! Every route through the router (`tower::ServiceExt::oneshot`): statuses, errors, formats,
//! escaping, limits and access control, against a real fake VirusTotal and SQLite file.

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use support::*;
use vtsum_test_utils::xlsx::{read_sheet, XCell};

const T: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_text_job_runs_to_done_and_every_download_holds_every_row() {
    let f = fixture(Options::default()).await;
    let hashes = hashes(&f.fake, 6, 2);
    let id = submit(&f.app, &hashes).await;
    let job = wait_state(&f.app, &id, &["done"], T).await;
    assert_eq!(job["total"], 8);
    assert_eq!(job["done"], 8);

    let json = send(
        &f.app,
        get(&format!("/api/v1/jobs/{id}/results?format=json")),
    )
    .await;
    assert_eq!(json.status, StatusCode::OK);
    let body = json.json();
    assert_eq!(
        vtsum_test_utils::report_inputs(&body),
        hashes,
        "rows in input order"
    );
    assert_eq!(body["summary"]["verdicts"]["unknown"], 2);

    let csv = send(
        &f.app,
        get(&format!("/api/v1/jobs/{id}/results?format=csv")),
    )
    .await;
    assert!(csv.header("content-type").starts_with("text/csv"));
    assert!(csv.header("content-disposition").contains("attachment"));
    assert_eq!(csv.text().lines().count(), 1 + 8);

    let jsonl = send(
        &f.app,
        get(&format!("/api/v1/jobs/{id}/results?format=jsonl")),
    )
    .await;
    assert_eq!(jsonl.text().lines().count(), 8);

    let xlsx = send(
        &f.app,
        get(&format!("/api/v1/jobs/{id}/results?format=xlsx")),
    )
    .await;
    assert_eq!(&xlsx.body[..2], b"PK", "an xlsx is a zip");
    assert_eq!(
        xlsx.header("content-type"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(xlsx
        .header("content-disposition")
        .ends_with(&format!("filename=\"vtsum-{}.xlsx\"", &id[..8])));
    let sheet = read_sheet(&xlsx.body);
    assert_eq!(sheet.rows(), 1 + 8, "a header and the rows");
    for h in &hashes {
        let text = XCell::Text(h.clone());
        assert!(sheet.cells.values().any(|c| *c == text), "{h} in the sheet");
    }

    let bad = send(
        &f.app,
        get(&format!("/api/v1/jobs/{id}/results?format=pdf")),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.json()["error"]
        .as_str()
        .unwrap()
        .contains("json, jsonl, csv, xlsx"));

    // Each hash was requested once, and a second job is answered from the cache.
    assert!(f.fake.counters().requests_by_hash.values().all(|&n| n == 1));
    let again = submit(&f.app, &hashes).await;
    let job = wait_state(&f.app, &again, &["done"], T).await;
    assert_eq!(job["cache_hits"], 8);
    assert!(f.fake.counters().requests_by_hash.values().all(|&n| n == 1));
}

#[tokio::test]
async fn missing_jobs_and_bad_ids_are_404_and_delete_removes_a_job() {
    let f = fixture(Options::default()).await;
    for uri in [
        "/api/v1/jobs/0123456789abcdef0123456789abcdef",
        "/api/v1/jobs/not-an-id",
        "/api/v1/jobs/x/results",
        "/api/v1/nope",
    ] {
        let res = send(&f.app, get(uri)).await;
        assert!(
            res.status == StatusCode::NOT_FOUND || res.status == StatusCode::BAD_REQUEST,
            "{uri}: {}",
            res.status
        );
        assert!(res.json()["error"].is_string(), "{uri}");
    }
    let page = send(&f.app, get("/jobs/0123456789abcdef0123456789abcdef")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.text().contains("<!DOCTYPE html>"));
    assert_eq!(
        send(&f.app, get("/no/such/page")).await.status,
        StatusCode::NOT_FOUND
    );

    let id = submit(&f.app, &hashes(&f.fake, 2, 0)).await;
    assert_eq!(id.len(), 32, "128-bit ids");
    let del = Request::delete(format!("/api/v1/jobs/{id}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&f.app, del).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        send(&f.app, get(&format!("/api/v1/jobs/{id}")))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let list = send(&f.app, get("/api/v1/jobs")).await.json();
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|j| j["id"] != id.as_str()));
}

#[tokio::test]
async fn one_file_lookup_goes_to_the_cache_the_second_time() {
    let f = fixture(Options::default()).await;
    let h = &hashes(&f.fake, 1, 0)[0];
    let first = send(&f.app, get(&format!("/api/v1/files/{h}?engines=true"))).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let row = first.json();
    assert_eq!(
        (row["status"].as_str(), row["from_cache"].as_bool()),
        (Some("found"), Some(false))
    );
    assert!(row["engines"].as_object().is_some_and(|e| !e.is_empty()));
    let second = send(&f.app, get(&format!("/api/v1/files/{}", h.to_uppercase())))
        .await
        .json();
    assert_eq!(second["from_cache"], true);
    assert_eq!(f.fake.counters().requests_by_hash.get(h.as_str()), Some(&1));
    assert!(second.get("engines").is_none());
    let bad = send(&f.app, get("/api/v1/files/xyz")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // Lookups are not jobs anyone sees.
    assert_eq!(
        send(&f.app, get("/api/v1/jobs")).await.json(),
        serde_json::json!([])
    );
}

#[tokio::test]
async fn quota_metrics_health_and_pages_show_key_ids_never_keys() {
    let f = fixture(Options::default()).await;
    let id = submit(&f.app, &hashes(&f.fake, 3, 1)).await;
    wait_state(&f.app, &id, &["done"], T).await;
    let quota = send(&f.app, get("/api/v1/quota")).await.json();
    assert_eq!(quota["keys"].as_array().unwrap().len(), 2);
    assert_eq!(quota["cache_found"], 3);
    let metrics = send(&f.app, get("/metrics")).await;
    assert!(metrics.header("content-type").starts_with("text/plain"));
    let m = metrics.text();
    let sent: u64 = m
        .lines()
        .filter(|l| l.starts_with("vtsum_requests_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(sent, 4);
    assert!(m.contains("vtsum_cache_misses_total 4"));
    assert!(m.contains("vtsum_jobs{state=\"done\"} 1"));
    assert!(m.contains("vtsum_quota_left_today") || m.contains("vtsum_quota_free_now{"));
    let health = send(&f.app, get("/healthz")).await;
    assert_eq!(health.status, StatusCode::OK);
    let front = send(&f.app, get("/")).await;
    let job_page = send(&f.app, get(&format!("/jobs/{id}"))).await;
    for (what, text) in [
        ("quota", quota.to_string()),
        ("metrics", m),
        ("front", front.text()),
        ("job", job_page.text()),
    ] {
        for key in KEYS {
            assert!(!text.contains(key), "{what} shows a key");
        }
    }
    assert!(front
        .text()
        .contains(&quota["keys"][0]["id"].as_str().unwrap().to_string()));
}

#[tokio::test]
async fn without_keys_the_front_page_says_how_to_add_one() {
    let f = fixture(Options {
        keys: false,
        ..Options::default()
    })
    .await;
    let front = send(&f.app, get("/")).await;
    assert_eq!(front.status, StatusCode::OK);
    assert!(front.text().contains("VT_API_KEY="));
    assert!(
        !front.text().contains("/logout"),
        "no sign-out without a token"
    );
    let res = send(
        &f.app,
        post(
            "/api/v1/jobs",
            "text/plain",
            hashes(&f.fake, 1, 0).join("\n"),
        ),
    )
    .await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.json()["error"].as_str().unwrap().contains("VT_API_KEY"));
}

#[tokio::test]
async fn hostile_labels_are_escaped_and_every_answer_carries_the_csp() {
    let f = fixture(Options::default()).await;
    let name = "<script>document.title='pwned'</script>.txt";
    let (ct, body) = multipart(name, &hashes(&f.fake, 1, 0)[0], "");
    let page = send(&f.app, post("/jobs", &ct, body)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let location = page.header("location");
    let html = send(&f.app, get(&location)).await;
    let text = html.text();
    assert!(!text.contains("<script>document"), "raw markup in the page");
    assert!(text.contains("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;.txt"));
    let csp = html.header("content-security-policy");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(html.header("x-content-type-options"), "nosniff");
    for asset in ["/assets/app.js", "/assets/app.css", "/assets/favicon.svg"] {
        assert_eq!(
            send(&f.app, get(asset)).await.status,
            StatusCode::OK,
            "{asset}"
        );
    }
    // The script only ever sets text: no way into the HTML parser from script.
    let script = send(&f.app, get("/assets/app.js")).await.text();
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "createContextualFragment",
        "DOMParser",
        "srcdoc",
    ] {
        assert!(
            !script.contains(sink),
            "the script uses {sink}: it must never parse data as HTML"
        );
    }
}

#[tokio::test]
async fn a_token_guards_pages_and_api_and_the_login_sets_a_strict_cookie() {
    let token = "s3cret-token";
    let f = fixture(Options {
        auth_token: Some(token.into()),
        ..Options::default()
    })
    .await;
    let page = send(&f.app, get("/")).await;
    assert_eq!(
        (page.status, page.header("location").as_str()),
        (StatusCode::SEE_OTHER, "/login")
    );
    let api = send(&f.app, get("/api/v1/jobs")).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert!(api.header("www-authenticate").starts_with("Bearer"));
    assert_eq!(
        send(&f.app, get("/metrics")).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(send(&f.app, get("/healthz")).await.status, StatusCode::OK);
    assert_eq!(send(&f.app, get("/login")).await.status, StatusCode::OK);

    let bearer = Request::get("/api/v1/jobs")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&f.app, bearer).await.status, StatusCode::OK);
    let wrong = Request::get("/api/v1/jobs")
        .header("authorization", "Bearer nope")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&f.app, wrong).await.status, StatusCode::UNAUTHORIZED);

    let bad = send(
        &f.app,
        post("/login", "application/x-www-form-urlencoded", "token=nope"),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    let good = send(
        &f.app,
        post(
            "/login",
            "application/x-www-form-urlencoded",
            format!("token={token}"),
        ),
    )
    .await;
    assert_eq!(good.status, StatusCode::SEE_OTHER);
    let cookie = good.header("set-cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains(token),
        "the cookie must not hold the token"
    );
    let pair = cookie.split(';').next().unwrap().to_string();
    let with_cookie = Request::get("/")
        .header("cookie", pair)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&f.app, with_cookie).await.status, StatusCode::OK);
}

#[tokio::test]
async fn every_route_in_the_openapi_document_answers() {
    let f = fixture(Options::default()).await;
    let doc = send(&f.app, get("/api/openapi.json")).await.json();
    assert_eq!(
        doc["openapi"].as_str().map(|v| v.starts_with("3.")),
        Some(true)
    );
    let id = submit(&f.app, &hashes(&f.fake, 1, 0)).await;
    wait_state(&f.app, &id, &["done"], T).await;
    let hash = hashes(&f.fake, 1, 0)[0].clone();
    // A watchlist to read (the job's hash on it).
    let made = send(
        &f.app,
        post(&format!("/api/v1/jobs/{id}/watch?list=w"), "text/plain", ""),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    let paths = doc["paths"].as_object().unwrap();
    let mut seen = Vec::new();
    for (path, item) in paths {
        for method in ["get", "post", "delete"] {
            if item.get(method).is_none() || method == "delete" {
                continue;
            }
            let mut uri = path
                .replace("{id}", &id)
                .replace("{hash}", &hash)
                .replace("{name}", "w");
            if uri.ends_with("/watch") {
                uri.push_str("?list=w");
            }
            let req = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&uri)
                .header("content-type", "text/plain")
                .body(Body::from(hash.clone()))
                .unwrap();
            let res = if uri.ends_with("/events") {
                // An event stream never ends: check the head only.
                let res = tower::ServiceExt::oneshot(vtsum_web::router(f.app.clone()), req)
                    .await
                    .unwrap();
                (
                    res.status(),
                    res.headers()
                        .get("content-type")
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .to_string(),
                )
            } else {
                let a = send(&f.app, req).await;
                (a.status, a.header("content-type"))
            };
            assert!(res.0.is_success(), "{method} {uri}: {}", res.0);
            seen.push(format!("{method} {path}"));
        }
    }
    // The document lists every API route the router has.
    for route in [
        "post /api/v1/jobs",
        "get /api/v1/jobs",
        "post /api/v1/extract",
        "get /api/v1/jobs/{id}",
        "get /api/v1/jobs/{id}/results",
        "get /api/v1/jobs/{id}/events",
        "get /api/v1/files/{hash}",
        "get /api/v1/quota",
        "post /api/v1/jobs/{id}/watch",
        "get /api/v1/watchlists",
        "get /api/v1/watchlists/{name}",
        "get /api/v1/changes",
        "get /api/v3/files/{hash}",
        "get /api/v3/users/{user}/overall_quotas",
        "get /healthz",
        "get /metrics",
        "get /api/openapi.json",
    ] {
        assert!(seen.iter().any(|s| s == route), "{route} is not documented");
    }
    assert!(paths["/api/v1/jobs/{id}"].get("delete").is_some());
}
