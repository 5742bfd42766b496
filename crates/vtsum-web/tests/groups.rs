//! A web job of a Sysmon log: each labelled group costs one request, its md5 answered from
//! the sha256's answer when VirusTotal's file has it, asked on its own when the sha256 is
//! unknown; the IMPHASH never asked, and counted in the preview.

mod support;

use std::time::Duration;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sysmon_upload_asks_each_file_once() {
    let f = fixture(Options {
        windows: per_second(50),
        ..Options::default()
    })
    .await;
    let files = f.fake.corpus().files();
    let (a, e) = (&files[0], &files[3]);
    let unknown = fakevt::unknown_hash(11);
    let imphash = "f34d5f2d4577ed6d9ceec516c1f5a744";
    let text = format!(
        "Hashes=MD5={},SHA256={},IMPHASH={imphash}\nHashes=MD5={},SHA256={unknown}\n",
        a.md5, a.sha256, e.md5
    );
    let preview = send(&f.app, post("/api/v1/extract", "text/plain", text.clone()))
        .await
        .json();
    assert_eq!(preview["hashes"], 2, "{preview}");
    assert_eq!(preview["non_file_hashes"], 1, "{preview}");

    let res = send(&f.app, post("/api/v1/jobs", "text/plain", text)).await;
    let id = res.json()["id"].as_str().expect("id").to_string();
    wait_state(&f.app, &id, &["done"], Duration::from_secs(30)).await;
    let asked = f.fake.counters().requests_by_hash;
    let times = |h: &str| asked.get(h).copied().unwrap_or(0);
    assert_eq!(times(&a.sha256), 1, "{asked:?}");
    assert_eq!(
        times(&a.md5),
        0,
        "answered from the sha256's answer: {asked:?}"
    );
    assert_eq!(times(&unknown), 1, "{asked:?}");
    assert_eq!(times(&e.md5), 1, "the unknown sha256 says nothing of it");
    assert_eq!(times(imphash), 0);
    let results = send(&f.app, get(&format!("/api/v1/jobs/{id}/results")))
        .await
        .json();
    let rows = results["results"].as_array().unwrap();
    assert_eq!(rows.len(), 4, "{results}");
    let md5_row = rows.iter().find(|r| r["input"] == a.md5.as_str()).unwrap();
    assert_eq!(md5_row["sha256"], a.sha256.as_str());
    assert_eq!(md5_row["from_cache"], true);
    assert_eq!(
        results["summary"]["non_file_hashes"], 1,
        "{}",
        results["summary"]
    );
}

/// The front page's preview counts the URLs, domains and IPs a text holds, pasted or
/// uploaded, as `vtsum extract --kinds` finds them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preview_counts_urls_domains_and_ips() {
    use vtsum_core::extract::ioc::{extract_indicators, IndicatorKind, IocOptions};
    let f = fixture(Options::default()).await;
    let report = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/threat-report.txt"
    ))
    .unwrap();
    let want = extract_indicators(report.as_bytes(), &IocOptions::default());
    let (form_type, body) = multipart("report.txt", &report, "");
    for (content_type, body) in [
        ("text/plain".to_string(), report.clone()),
        (form_type, body),
    ] {
        let p = send(&f.app, post("/api/v1/extract", &content_type, body))
            .await
            .json();
        for (key, kind) in [
            ("urls", IndicatorKind::Url),
            ("domains", IndicatorKind::Domain),
            ("ips", IndicatorKind::Ip),
        ] {
            let n = want.values(kind).count();
            assert!(n > 0);
            assert_eq!(p[key], n, "{key} ({content_type}): {p}");
        }
        assert_eq!(p["private_ips"], want.private_ips, "{p}");
        assert_eq!(p["non_file_hashes"], 1, "the Sysmon line's IMPHASH: {p}");
    }
}
