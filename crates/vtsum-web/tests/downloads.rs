//! Downloads of a job's results in the formats of the core registry that are not covered
//! with the others in `router.rs`: the HTML report, escaped, and the API document's list
//! of formats, which must be the registry's.

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use support::*;
use vtsum_core::render::Format;

const T: Duration = Duration::from_secs(20);

/// `format=html` downloads the self-contained report, with the hostile names of the fake's
/// corpus and a hostile label escaped; the API documents exactly the registry's downloads.
#[tokio::test]
async fn the_html_report_downloads_with_every_name_escaped() {
    let f = fixture(Options::default()).await;
    let hostile: Vec<String> = f
        .fake
        .corpus()
        .files()
        .iter()
        .filter(|file| file.kind == fakevt::FileKind::Hostile)
        .take(3)
        .map(|file| file.sha256.clone())
        .collect();
    let label = "<img src=x onerror=alert(2)>.txt";
    let (ct, body) = multipart(label, &hostile.join("\n"), "");
    let res = send(&f.app, post("/api/v1/jobs", &ct, body)).await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
    let id = res.json()["id"].as_str().unwrap().to_string();
    wait_state(&f.app, &id, &["done"], T).await;

    let html = send(
        &f.app,
        get(&format!(
            "/api/v1/jobs/{id}/results?format=html&engines=true"
        )),
    )
    .await;
    assert_eq!(html.status, StatusCode::OK);
    assert_eq!(html.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(
        html.header("content-disposition"),
        format!("attachment; filename=\"vtsum-{}.html\"", &id[..8])
    );
    let page = html.text();
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(page.contains("Content-Security-Policy"));
    for h in &hostile {
        assert!(page.contains(h.as_str()), "{h} in the report");
    }
    assert!(!page.contains("<script>document") && !page.contains("<img src=x"));
    assert!(page.contains("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;.exe"));
    assert!(
        page.contains("&lt;img src=x onerror=alert(2)&gt;.txt"),
        "the label"
    );

    let doc = send(&f.app, get("/api/openapi.json")).await.json();
    let offered: Vec<&str> = doc["paths"]["/api/v1/jobs/{id}/results"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "format")
        .unwrap()["schema"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let registry: Vec<&str> = Format::DOWNLOADS.iter().map(|f| f.name()).collect();
    assert_eq!(
        offered, registry,
        "openapi.json lists the registry's downloads"
    );
    let table = send(
        &f.app,
        get(&format!("/api/v1/jobs/{id}/results?format=table")),
    )
    .await;
    assert_eq!(
        table.status,
        StatusCode::BAD_REQUEST,
        "the table is no download"
    );
}
