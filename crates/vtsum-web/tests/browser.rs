//! The pages in a real headless Chromium (Debian's `chromium` + `chromium-driver`, which
//! `scripts/test.sh` installs): upload a file, watch the job reach done live, sort, filter,
//! expand a row, download the CSV, see the waiting-for-quota state, render 20,000 rows, and
//! check that the fake's hostile file names stayed text. Screenshots of the pages go to
//! `target/screenshots/` for people to look at.

#[path = "browser/pages.rs"]
mod pages;
mod support;
#[path = "browser/webdriver.rs"]
mod webdriver;

use std::time::Duration;

use pages::{big_report, browser, click_settled, column, file_report, screenshots, serve, settled};
use serde_json::json;
use support::*;
use vtsum_core::report::{FileReport, ItemResult, Lookup};
use vtsum_core::store::{JobId, JobOrigin, JobSpec};

const T: Duration = Duration::from_secs(60);

/// The fake's hostile file name that runs script when parsed as HTML.
const IMG_NAME: &str = "<img src=x onerror=alert(1)>.png";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_watch_sort_filter_expand_and_download_with_hostile_names_kept_as_text() {
    let f = fixture(Options {
        windows: per_second(8),
        ..Options::default()
    })
    .await;
    let base = serve(&f.app).await;
    let mut hashes = hashes(&f.fake, 30, 2);
    let hostile = f
        .fake
        .corpus()
        .files()
        .iter()
        .take(30)
        .filter(|c| c.kind == fakevt::FileKind::Hostile)
        .count();
    assert!(hostile >= 2, "the upload holds hostile names");
    // And the file whose name is an <img onerror>: it would run script if parsed as HTML.
    let img = f
        .fake
        .corpus()
        .files()
        .iter()
        .find(|c| c.names[0] == IMG_NAME)
        .expect("the fake's corpus holds the <img> name");
    hashes.push(img.sha256.clone());
    let file = f.dir.path().join("incident-42.txt");
    std::fs::write(
        &file,
        format!(
            "EDR export\n{}\nend of export: C2 hxxps://upd[.]evil-c2[.]com/gate at 45.142.212[.]61\n",
            hashes.join("\r\n")
        ),
    )
    .unwrap();
    let downloads = f.dir.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let (_driver, s) = browser(&downloads).await;

    s.goto(&base).await.unwrap();
    s.find("#file")
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    let preview = s.wait_for("return document.querySelector('#preview').dataset.hashes && document.querySelector('#preview').textContent", T).await.unwrap();
    assert!(
        preview.as_str().unwrap().contains("Found 33 unique hashes"),
        "{preview}"
    );
    assert!(
        preview
            .as_str()
            .unwrap()
            .contains("2 non-blank lines held none"),
        "{preview}"
    );
    // The defanged URL and address are counted, and offered as lookups.
    assert!(
        preview
            .as_str()
            .unwrap()
            .contains("Also 1 URL, 0 domains, 1 IP address: tick them under “Look up”"),
        "{preview}"
    );
    s.save_screenshot(&screenshots().join("front.png"))
        .await
        .unwrap();
    s.find("#start").await.unwrap().click().await.unwrap();

    // Live progress: the page sees the job running, then done, without reloading.
    s.wait_for(
        "return document.body.dataset.page === 'job' && document.body.dataset.state === 'running'",
        T,
    )
    .await
    .unwrap();
    let marker = s
        .execute("window.sameDocument = true; return true", vec![])
        .await
        .unwrap();
    assert_eq!(marker, json!(true));
    s.save_screenshot(&screenshots().join("job-running.png"))
        .await
        .unwrap();
    s.wait_for(
        "return document.body.dataset.state === 'done' && document.body.dataset.rows === '33'",
        T,
    )
    .await
    .unwrap();
    assert_eq!(
        s.execute("return window.sameDocument === true", vec![])
            .await
            .unwrap(),
        json!(true),
        "no page reload"
    );
    assert_eq!(
        s.find("#counts").await.unwrap().text().await.unwrap(),
        "33 / 33 done"
    );
    // Rows arrived one by one, but the page asked for its page at most about once a
    // second (and once more when the job ended), not once per row.
    let asked = s
        .execute(
            "return [performance.getEntriesByType('resource').filter(e => e.name.includes('/results?')).length, performance.now() / 1000]",
            vec![],
        )
        .await
        .unwrap();
    let (pages, secs) = (asked[0].as_f64().unwrap(), asked[1].as_f64().unwrap());
    assert!(
        pages >= 2.0 && pages <= secs.ceil() + 2.0 && pages < 33.0,
        "{pages} page requests in {secs:.1} s"
    );
    let summary = s.find("#summary").await.unwrap().text().await.unwrap();
    assert!(
        summary.starts_with("33 results") && !summary.contains("null"),
        "{summary}"
    );

    // Hostile names are text: the title is ours, no injected element exists, and the
    // names are visible as typed.
    assert_eq!(s.title().await.unwrap(), "incident-42.txt · vtsum");
    let injected = s
        .execute(
            "return document.querySelectorAll('img, #rows script, [onerror]').length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(injected, json!(0), "markup from a name became an element");
    s.find("#search")
        .await
        .unwrap()
        .send_keys("onerror")
        .await
        .unwrap();
    let shown = s
        .wait_for("const c = [...document.querySelectorAll('#rows td.name')]; return c.length === 1 && c[0].textContent", T)
        .await
        .unwrap();
    assert!(shown.as_str().unwrap().starts_with(IMG_NAME), "{shown}");
    // Had it been parsed, its onerror would have opened an alert, and the browser would
    // refuse this command with "unexpected alert open".
    assert_eq!(
        s.execute("return document.querySelectorAll('img').length", vec![])
            .await
            .unwrap(),
        json!(0)
    );
    s.execute("const e = document.querySelector('#search'); e.value = ''; e.dispatchEvent(new Event('input')); return 1", vec![]).await.unwrap();
    s.find("#search")
        .await
        .unwrap()
        .send_keys("<script>")
        .await
        .unwrap();
    s.wait_for("return document.querySelectorAll('#rows tr.row').length > 0 && [...document.querySelectorAll('#rows td.name')].every(td => td.textContent.startsWith(`<script>document.title='pwned'</script>`))", T).await.unwrap();
    s.find("#search").await.unwrap().clear().await.unwrap();
    s.execute("const e = document.querySelector('#search'); e.value = ''; e.dispatchEvent(new Event('input')); return 1", vec![]).await.unwrap();

    // Sort by detections, descending.
    let th = s.find("#report th[data-key=malicious]").await.unwrap();
    th.click().await.unwrap();
    th.click().await.unwrap();
    settled(&s, T).await;
    let detections: Vec<i64> = column(&s, 2)
        .await
        .iter()
        .map(|t| {
            t.trim()
                .split('/')
                .next()
                .unwrap()
                .trim()
                .parse()
                .unwrap_or(0)
        })
        .collect();
    assert!(
        detections.windows(2).all(|w| w[0] >= w[1]),
        "sorted descending: {detections:?}"
    );
    assert!(detections[0] > 0);
    assert_eq!(
        th.attr("aria-sort").await.unwrap().as_deref(),
        Some("descending")
    );

    // Filter by verdict: only malicious rows, as many as the summary counts.
    click_settled(&s, "#verdict-filter option[value=malicious]", T).await;
    let verdicts = column(&s, 1).await;
    assert!(
        !verdicts.is_empty() && verdicts.iter().all(|v| v == "malicious"),
        "{verdicts:?}"
    );
    let counted = s
        .execute(
            "return document.querySelector('#summary [data-verdict=malicious]').textContent",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(counted, json!(format!("{} malicious", verdicts.len())));
    let chip = s.find("#summary [data-verdict=malicious]").await.unwrap();
    assert_eq!(
        chip.attr("aria-pressed").await.unwrap().as_deref(),
        Some("true"),
        "the verdict's chip shows the filter"
    );
    // The chip of another verdict filters by it, and the select follows.
    click_settled(&s, "#summary [data-verdict=clean]", T).await;
    let verdicts = column(&s, 1).await;
    assert!(
        !verdicts.is_empty() && verdicts.iter().all(|v| v == "clean"),
        "{verdicts:?}"
    );
    assert_eq!(
        s.execute(
            "return document.querySelector('#verdict-filter').value",
            vec![]
        )
        .await
        .unwrap(),
        json!("clean")
    );
    click_settled(&s, "#verdict-filter option[value=malicious]", T).await;

    // Expand a row: its per-engine results load.
    s.find("#rows tr.row").await.unwrap().click().await.unwrap();
    let engines = s
        .wait_for(
            "return document.querySelectorAll('#rows tr.detail table.engines tbody tr').length",
            T,
        )
        .await
        .unwrap();
    assert!(engines.as_u64().unwrap() > 10);
    s.save_screenshot(&screenshots().join("report.png"))
        .await
        .unwrap();

    // Download the CSV: the browser saves it; formulas in names are defused.
    s.find("#download-csv")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + T;
    let csv = loop {
        let done = std::fs::read_dir(&downloads)
            .unwrap()
            .filter_map(Result::ok)
            .find(|e| e.path().extension().is_some_and(|x| x == "csv"));
        if let Some(entry) = done {
            break std::fs::read_to_string(entry.path()).unwrap();
        }
        assert!(std::time::Instant::now() < deadline, "no CSV downloaded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(csv.starts_with("input,md5,sha1,sha256"));
    for h in &hashes {
        assert!(csv.contains(h.as_str()), "{h} missing from the CSV");
    }
    assert!(
        !csv.contains(",=HYPERLINK") && !csv.contains(",\"=HYPERLINK"),
        "formula not defused"
    );
    s.quit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_page_says_when_a_spent_daily_quota_resumes() {
    let f = fixture(Options {
        windows: per_second(50),
        daily: Some(2),
        ..Options::default()
    })
    .await;
    let base = serve(&f.app).await;
    let id = submit(&f.app, &hashes(&f.fake, 10, 0)).await;
    wait_state(&f.app, &id, &["waiting_quota"], T).await;
    let downloads = f.dir.path().to_path_buf();
    let (_driver, s) = browser(&downloads).await;
    s.goto(&format!("{base}/jobs/{id}")).await.unwrap();
    let text = s
        .wait_for(
            "const w = document.querySelector('#waiting'); return !w.hidden && w.textContent",
            T,
        )
        .await
        .unwrap();
    let text = text.as_str().unwrap();
    assert!(
        text.contains("All keys are out of daily quota; resumes at 00:00 UTC"),
        "{text}"
    );
    assert!(text.contains(" in "), "says how long: {text}");
    s.wait_for("return document.body.dataset.rows === '4'", T)
        .await
        .unwrap();
    let state = s.find("#state").await.unwrap().text().await.unwrap();
    assert_eq!(state, "waiting quota");
    s.save_screenshot(&screenshots().join("waiting-quota.png"))
        .await
        .unwrap();
    // On a phone-sized window the page fits its width: only the table's own wrapper
    // scrolls sideways.
    s.set_window_size(390, 844).await.unwrap();
    let fits = s
        .wait_for(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1",
            Duration::from_secs(5),
        )
        .await;
    if fits.is_err() {
        let wide = s
            .execute("return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 8).map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))", vec![])
            .await
            .unwrap();
        panic!("the page is wider than a phone ({} px): {wide}", 390);
    }
    s.save_screenshot(&screenshots().join("job-phone.png"))
        .await
        .unwrap();
    // The front page's key panel shows both keys spent for today.
    s.goto(&base).await.unwrap();
    let left: Vec<String> = serde_json::from_value(
        s.execute("return [...document.querySelectorAll('#keys tr')].map(tr => tr.children[3].textContent)", vec![]).await.unwrap(),
    )
    .unwrap();
    assert_eq!(left, vec!["0", "0"]);
    s.quit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20000_row_report_renders_one_page_at_a_time() {
    const N: u64 = 20_000;
    let f = fixture(Options::default()).await;
    // A finished job of 20,000 rows, written through the store as the runner would.
    let reports: Vec<FileReport> = (0..N).map(file_report).collect();
    let hashes: Vec<vtsum_core::Hash> = reports
        .iter()
        .map(|r| vtsum_core::Hash::parse(&r.sha256).unwrap())
        .collect();
    let id = JobId::random();
    let spec = JobSpec {
        label: "20k".into(),
        origin: JobOrigin::Web,
        non_file_hashes: 0,
        ..JobSpec::default()
    };
    f.store
        .job_create(&id, &spec, &vtsum_core::Target::files(&hashes), 0)
        .unwrap();
    for (i, r) in reports.into_iter().enumerate() {
        let result = ItemResult::Lookup {
            lookup: Lookup::Found(Box::new(r)),
            from_cache: false,
            fetched_at: 0,
        };
        f.store.job_record(&id, i as u64, &result, 0).unwrap();
    }
    f.store
        .job_set_state(&id, vtsum_core::store::JobState::Done, None, None, 0)
        .unwrap();
    let base = serve(&f.app).await;
    let downloads = f.dir.path().to_path_buf();
    let (_driver, s) = browser(&downloads).await;

    let t = big_report(&s, &format!("{base}/jobs/{id}"), N, T).await;
    let timings = format!("20000-row report: {t}\n");
    println!("{timings}");
    std::fs::write(screenshots().join("timings-20k.txt"), &timings).unwrap();
    assert!(
        t.first < 10_000.0 && t.sort < 10_000.0 && t.filter < 10_000.0,
        "{timings}"
    );
    s.quit().await.unwrap();
}
