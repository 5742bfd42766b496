//! What the browser tests share: the app served on loopback as `vtsum serve` serves it, a
//! Chromium session, the screenshot folder, and waits on the job page's own hooks
//! (`data-loading`, `data-rendered-at`) so that a test acts on the page it asked for.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use super::webdriver::{Driver, Session};

/// Serves the app on a loopback port, as `vtsum serve` does.
pub async fn serve(app: &vtsum_web::App) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = vtsum_web::router(app.clone());
    let limits = vtsum_web::server::Limits::default();
    tokio::spawn(vtsum_web::server::serve(
        listener,
        router,
        limits,
        std::future::pending(),
    ));
    format!("http://{addr}")
}

pub fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub async fn browser(downloads: &std::path::Path) -> (Driver, Session) {
    let driver = Driver::start().await.expect("chromedriver");
    let session = driver.session(downloads).await.expect("a Chromium session");
    (driver, session)
}

/// The text of every cell of a column of the visible table.
pub async fn column(s: &Session, index: usize) -> Vec<String> {
    let v = s
        .execute(
            "return [...document.querySelectorAll('#rows tr.row')].map(tr => tr.children[arguments[0]].textContent)",
            vec![json!(index)],
        )
        .await
        .unwrap();
    serde_json::from_value(v).unwrap()
}

/// Waits until the job page has no page request in flight or waiting (typing, a live
/// refresh): what it shows is the answer to the last thing asked.
pub async fn settled(s: &Session, timeout: Duration) {
    s.wait_for("return document.body.dataset.loading === '0'", timeout)
        .await
        .unwrap();
}

/// Clicks the element `selector` finds, then waits until the page has [`settled`].
pub async fn click_settled(s: &Session, selector: &str, timeout: Duration) {
    s.find(selector).await.unwrap().click().await.unwrap();
    settled(s, timeout).await;
}

/// Runs `action` (script) on the job page and returns the milliseconds from it to the
/// page showing its answer, as the page itself measured them (`performance.now()`), so
/// the test's polling does not count.
pub async fn timed(s: &Session, action: &str, timeout: Duration) -> f64 {
    s.execute(
        &format!("window.actedAt = performance.now(); {action}; return 1"),
        vec![],
    )
    .await
    .unwrap();
    let v = s
        .wait_for(
            "const d = document.body.dataset; return d.loading === '0' && +d.renderedAt > window.actedAt && String(+d.renderedAt - window.actedAt)",
            timeout,
        )
        .await
        .unwrap();
    v.as_str().unwrap().parse().unwrap()
}

/// A found file's report for row `i` of the big-report tests: `i % 13` malicious
/// detections, a threat label `trojan.family{i % 50}` when detected, one of four types.
pub fn file_report(i: u64) -> vtsum_core::report::FileReport {
    use vtsum_core::report::{FileReport, Stats};
    let malicious = (i % 13) as u32;
    FileReport {
        sha256: format!("{:064x}", i * 7919 + 1),
        md5: Some(format!("{:032x}", i + 1)),
        sha1: Some(format!("{:040x}", i + 1)),
        stats: Stats {
            malicious,
            undetected: 60 - malicious,
            ..Stats::default()
        },
        analysed: true,
        threat_label: (malicious > 0).then(|| format!("trojan.family{}", i % 50)),
        type_description: Some(["Win32 EXE", "PDF", "ZIP", "JavaScript"][(i % 4) as usize].into()),
        size: Some(1000 + i),
        meaningful_name: Some(format!("file-{i}.exe")),
        names: vec![format!("file-{i}.exe")],
        first_seen: Some(1_600_000_000 + i as i64 * 60),
        last_seen: Some(1_700_000_000 + i as i64 * 60),
        last_analysis: Some(1_700_000_000),
        reputation: Some(-(i as i64 % 40)),
        ..FileReport::default()
    }
}

/// Rows of `0..n` that the filter `family7` keeps (detected, `i % 50 == 7`).
pub fn family7(n: u64) -> u64 {
    (0..n)
        .filter(|i| i % 50 == 7 && !i.is_multiple_of(13))
        .count() as u64
}

/// What the browser measured on a big report, in milliseconds.
pub struct Timings {
    /// From navigation to the first page of rows shown.
    pub first: f64,
    pub sort: f64,
    pub filter: f64,
    pub next: f64,
}

impl std::fmt::Display for Timings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "first page {:.0} ms after navigation, sort {:.0} ms, filter {:.0} ms (typing pause included), next page {:.0} ms",
            self.first, self.sort, self.filter, self.next
        )
    }
}

/// Opens the job page of a finished job of `n` rows made of [`file_report`]s and checks
/// and times what a person does first: the first page, sorting by detections, filtering
/// by text, the next page. Every step checks that the page shows the right rows.
pub async fn big_report(s: &Session, url: &str, n: u64, timeout: Duration) -> Timings {
    s.goto(url).await.unwrap();
    let first = s
        .wait_for("return document.body.dataset.renderedMs", timeout)
        .await
        .unwrap();
    let first: f64 = first.as_str().unwrap().parse().unwrap();
    settled(s, timeout).await;
    let total = s
        .find("#summary .total")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(total, format!("{n} results"));
    let in_dom = s
        .execute(
            "return document.querySelectorAll('#rows tr').length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(in_dom, json!(100), "one page of rows in the DOM, not {n}");
    let first_inputs = column(s, 0).await;
    assert_eq!(first_inputs[0], file_report(0).sha256, "input order first");
    assert_eq!(first_inputs[99], file_report(99).sha256);

    // Detections, worst first: 12 is the most any row has.
    let sort = timed(
        s,
        "const th = document.querySelector('#report th[data-key=malicious]'); th.click(); th.click()",
        timeout,
    )
    .await;
    let detections: Vec<u64> = column(s, 2)
        .await
        .iter()
        .map(|t| t.trim().split('/').next().unwrap().trim().parse().unwrap())
        .collect();
    assert!(detections.iter().all(|d| *d == 12), "{detections:?}");
    let filter = timed(
        s,
        "const e = document.querySelector('#search'); e.value = 'family7'; e.dispatchEvent(new Event('input'))",
        timeout,
    )
    .await;
    let shown = s.find("#shown").await.unwrap().text().await.unwrap();
    assert_eq!(shown, format!("{} of {n} shown", family7(n)));
    let labels = column(s, 3).await;
    assert!(
        !labels.is_empty() && labels.iter().all(|l| l == "trojan.family7"),
        "{labels:?}"
    );
    let next = timed(s, "document.querySelector('#next').click()", timeout).await;
    let page = s.find("#page").await.unwrap().text().await.unwrap();
    assert!(page.starts_with("page 2 of"), "{page}");
    Timings {
        first,
        sort,
        filter,
        next,
    }
}
