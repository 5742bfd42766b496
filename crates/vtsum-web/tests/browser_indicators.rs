//! URLs, domains and IP addresses in a real headless Chromium (issue 15): a threat report
//! pasted with every kind ticked becomes a job of every kind; the kind filter shows one
//! kind; a URL's hostile page title stays text; and no indicator is a link (only the
//! VirusTotal permalinks are), so a malicious URL is never one click away.

#[path = "browser/pages.rs"]
mod pages;
mod support;
#[path = "browser/webdriver.rs"]
mod webdriver;

use std::time::Duration;

use pages::{browser, screenshots, serve, settled};
use serde_json::json;
use support::*;

const T: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pasted_report_of_every_kind_filters_by_kind_and_links_no_indicator() {
    let f = fixture(Options {
        windows: per_second(50),
        ..Options::default()
    })
    .await;
    let base = serve(&f.app).await;
    let corpus = f.fake.corpus();
    let hostile = corpus
        .first_url_of(fakevt::ObjectKind::Hostile)
        .unwrap()
        .clone();
    let title = hostile.title.clone().expect("the hostile URL has a title");
    assert!(title.contains('<'), "the title is markup: {title}");
    let malicious = corpus
        .first_url_of(fakevt::ObjectKind::Malicious)
        .unwrap()
        .clone();
    let domain = corpus
        .first_domain_of(fakevt::ObjectKind::Malicious)
        .unwrap()
        .clone();
    let ip = corpus
        .first_ip_of(fakevt::ObjectKind::Malicious)
        .unwrap()
        .clone();
    let file = corpus.files()[0].sha256.clone();
    let text = format!(
        "Stage two: {}\nKit: {}\nC2 {} at {}\nSample {file}\n",
        malicious
            .url
            .replacen("http", "hxxp", 1)
            .replace('.', "[.]"),
        hostile.url,
        domain.domain.replace('.', "[.]"),
        ip.ip,
    );
    let downloads = f.dir.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let (_driver, s) = browser(&downloads).await;

    s.goto(&base).await.unwrap();
    s.execute(
        "const t = document.querySelector('#text'); t.value = arguments[0]; \
         t.dispatchEvent(new Event('input')); return 1",
        vec![json!(text)],
    )
    .await
    .unwrap();
    for kind in ["#kind-urls", "#kind-domains", "#kind-ips"] {
        s.find(kind).await.unwrap().click().await.unwrap();
    }
    s.wait_for(
        "return document.querySelector('#preview').dataset.others === '2,1,1'",
        T,
    )
    .await
    .unwrap();
    s.find("#start").await.unwrap().click().await.unwrap();
    s.wait_for(
        "return document.body.dataset.page === 'job' && document.body.dataset.state === 'done' \
         && document.body.dataset.rows === '5'",
        T,
    )
    .await
    .unwrap();
    settled(&s, T).await;
    s.save_screenshot(&screenshots().join("job-indicators.png"))
        .await
        .unwrap();

    // Every link in the rows is a VirusTotal page; no indicator is one.
    let links = s
        .execute(
            "return [...document.querySelectorAll('#rows a')].map(a => a.href)",
            vec![],
        )
        .await
        .unwrap();
    let links: Vec<String> = serde_json::from_value(links).unwrap();
    assert_eq!(links.len(), 5, "one permalink a row: {links:?}");
    assert!(
        links
            .iter()
            .all(|l| l.starts_with("https://www.virustotal.com/gui/")),
        "{links:?}"
    );
    // The hostile title is text in its row: no element came of it.
    let shown = s
        .execute(
            "const tr = [...document.querySelectorAll('#rows tr.row')]\
               .find(tr => tr.dataset.input === arguments[0]); \
             return tr && tr.querySelector('td.name').textContent",
            vec![json!(hostile.url)],
        )
        .await
        .unwrap();
    assert!(
        shown
            .as_str()
            .is_some_and(|t| t.starts_with(title.as_str())),
        "{shown} / {title}"
    );
    let injected = s
        .execute(
            "return document.querySelectorAll('#rows img, #rows script, #rows [onerror]').length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(injected, json!(0), "markup from a title became an element");
    // The defanged form stays visible beside the URL looked up.
    let written = s
        .execute(
            "return [...document.querySelectorAll('#rows .written')].map(e => e.textContent)",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        written.to_string().contains("hxxp"),
        "the defanged form is shown: {written}"
    );

    // The kind filter: URLs only, counted by the store.
    s.execute(
        "const e = document.querySelector('#kind-filter'); e.value = 'url'; \
         e.dispatchEvent(new Event('change')); return 1",
        vec![],
    )
    .await
    .unwrap();
    s.wait_for(
        "return document.body.dataset.loading === '0' && document.body.dataset.matching === '2'",
        T,
    )
    .await
    .unwrap();
    let kinds = pages::column(&s, 4).await;
    assert_eq!(kinds, ["url", "url"], "the type column names the kind");

    // A URL's details: its fields, as text.
    s.execute(
        "[...document.querySelectorAll('#rows tr.row')]\
           .find(tr => tr.dataset.input === arguments[0]).click(); return 1",
        vec![json!(hostile.url)],
    )
    .await
    .unwrap();
    let facts = s
        .wait_for(
            "const d = document.querySelector('#rows tr.detail dl'); return d && d.textContent",
            T,
        )
        .await
        .unwrap();
    assert!(
        facts.as_str().unwrap().contains("title") && facts.as_str().unwrap().contains(&title),
        "{facts}"
    );
    assert_eq!(
        s.execute(
            "return document.querySelectorAll('img, [onerror]').length",
            vec![]
        )
        .await
        .unwrap(),
        json!(0)
    );
    s.save_screenshot(&screenshots().join("job-indicators-url.png"))
        .await
        .unwrap();
    assert_no_429(&f.fake);
}
