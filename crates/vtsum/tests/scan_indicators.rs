//! `vtsum scan --kinds all`: URLs, domains and IP addresses are looked up beside the hashes
//! (issue 15), through the same scheduler, cache and job as files. A real `vtsum scan` of a
//! threat report written with defanged indicators, against the fake VirusTotal: each
//! indicator asked once, no 429, the right kind and per-kind fields in every row, the
//! defanged form kept beside the refanged one, and a second run answered from the cache.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{json, ok, vtsum};

/// Dots of a host written `[.]`, and `http` written `hxxp`: how threat reports defang.
fn defang(text: &str) -> String {
    text.replacen("http", "hxxp", 1).replace('.', "[.]")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_threat_report_is_looked_up_once_per_indicator_with_per_kind_fields() {
    let windows = [(1_000, Duration::from_secs(1))];
    let fake = fakevt::spawn(vtsum_test_utils::fake_config(&["k1"], &windows, None))
        .await
        .unwrap();
    let corpus = fake.corpus();
    let malicious = corpus
        .first_url_of(fakevt::ObjectKind::Malicious)
        .unwrap()
        .clone();
    let hostile = corpus
        .first_url_of(fakevt::ObjectKind::Hostile)
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
    let file = corpus.files()[0].clone();
    let text = format!(
        "Stage two came from {url} (again: {url_plain}).\n\
         The kit page {hostile} titled itself oddly.\n\
         C2 {domain}, resolved to {ip}; the internal relay 10.0.0.5 is ours.\n\
         Never seen: unknown-c2-host.top\n\
         Dropped sample sha256 {sha256}\n",
        url = defang(&malicious.url),
        url_plain = malicious.url,
        hostile = hostile.url,
        domain = domain.domain.replace('.', "[.]"),
        ip = ip.ip.replacen('.', "[.]", 1),
        sha256 = file.sha256,
    );
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("report.txt");
    std::fs::write(&input, &text).unwrap();
    let scan = |format: &str| {
        let mut cmd = vtsum(&fake, dir.path());
        cmd.env("VT_RATE", "1000/1s")
            .args(["scan", "--kinds", "all", "--concurrency", "4"])
            .args(["--format", format])
            .arg(&input);
        tokio::task::block_in_place(|| cmd.output()).unwrap()
    };
    let out = json(&scan("json"));

    let counters = fake.counters();
    let objects = &counters.requests_by_object;
    let url_key = |u: &fakevt::CorpusUrl| format!("url:{}", u.sha256);
    assert_eq!(objects.get(&url_key(&malicious)), Some(&1), "{objects:?}");
    assert_eq!(objects.get(&url_key(&hostile)), Some(&1), "{objects:?}");
    assert_eq!(
        objects.get(&format!("domain:{}", domain.domain)),
        Some(&1),
        "{objects:?}"
    );
    assert_eq!(
        objects.get(&format!("ip_address:{}", ip.ip)),
        Some(&1),
        "{objects:?}"
    );
    assert_eq!(
        objects.get("domain:unknown-c2-host.top"),
        Some(&1),
        "{objects:?}"
    );
    assert_eq!(
        objects.len(),
        5,
        "the private address is never asked: {objects:?}"
    );
    assert_eq!(counters.requests_by_hash.get(&file.sha256), Some(&1));
    assert!(
        counters.quota_refusals_by_key.values().all(|n| *n == 0),
        "no 429: {:?}",
        counters.quota_refusals_by_key
    );

    let rows = out["results"].as_array().unwrap();
    let row = |input: &str| -> &Value {
        rows.iter()
            .find(|r| r["input"] == input)
            .unwrap_or_else(|| panic!("no row for {input}: {rows:#?}"))
    };
    assert_eq!(
        rows.len(),
        6,
        "a hash, two URLs, two domains, one IP: {rows:#?}"
    );
    assert_eq!(row(&file.sha256)["kind"], "file");

    let m = row(&malicious.url);
    assert_eq!(m["kind"], "url");
    assert_eq!(m["verdict"], "malicious");
    assert_eq!(
        m["written"],
        defang(&malicious.url),
        "the defanged form stays"
    );
    assert_eq!(m["title"].as_str(), malicious.title.as_deref());
    assert_eq!(m["final_url"], malicious.last_final_url);
    assert_eq!(
        m["permalink"],
        format!("https://www.virustotal.com/gui/url/{}", malicious.sha256)
    );
    assert_eq!(row(&hostile.url)["written"], Value::Null, "written as is");

    let d = row(&domain.domain);
    assert_eq!(d["kind"], "domain");
    assert_eq!(d["registrar"], domain.registrar);
    assert!(d["creation_date"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    assert!(!d["last_dns_records"].as_array().unwrap().is_empty());
    assert_eq!(row("unknown-c2-host.top")["verdict"], "unknown");

    let i = row(&ip.ip);
    assert_eq!(i["kind"], "ip");
    assert_eq!(i["as_owner"], ip.as_owner);
    assert_eq!(i["asn"], ip.asn);
    assert_eq!(i["country"], ip.country);
    assert_eq!(
        i["permalink"],
        format!("https://www.virustotal.com/gui/ip-address/{}", ip.ip)
    );
    assert_eq!(out["summary"]["private_ips"], 1, "{}", out["summary"]);

    // Again, as CSV: every answer from the cache, nothing asked, the columns carried.
    let before = fake.counters().requests_by_key.values().sum::<u64>();
    let csv = ok(&scan("csv"));
    assert_eq!(
        fake.counters().requests_by_key.values().sum::<u64>(),
        before
    );
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    for column in [
        "kind",
        "written",
        "title",
        "registrar",
        "as_owner",
        "country",
    ] {
        assert!(header.contains(&column), "{column} in {header:?}");
    }
    let kind = header.iter().position(|c| *c == "kind").unwrap();
    let cached = header.iter().position(|c| *c == "from_cache").unwrap();
    let body: Vec<&str> = lines.collect();
    assert_eq!(body.len(), 6, "{csv}");
    let domain_line = body
        .iter()
        .find(|l| l.starts_with(&format!("{},", domain.domain)))
        .unwrap_or_else(|| panic!("{csv}"));
    // The domain's fields hold no comma or quote, so a split reads its cells.
    let cells: Vec<&str> = domain_line.split(',').collect();
    assert_eq!(cells[kind], "domain");
    assert_eq!(cells[cached], "true");
}

/// The example threat report (defanged URLs, domains, IPs, a Sysmon line) with some of the
/// fake's own objects added, so rows carry answers and not only "unknown".
fn threat_report(fake: &fakevt::FakeVt, dir: &std::path::Path) -> std::path::PathBuf {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/threat-report.txt"
    );
    let mut text = std::fs::read_to_string(example).unwrap();
    let corpus = fake.corpus();
    for kind in [fakevt::ObjectKind::Malicious, fakevt::ObjectKind::Hostile] {
        let url = corpus.first_url_of(kind).unwrap();
        let domain = corpus.first_domain_of(kind).unwrap();
        let ip = corpus.first_ip_of(kind).unwrap();
        text.push_str(&format!(
            "\nAlso seen: {} and {} at {}\n",
            defang(&url.url),
            domain.domain.replace('.', "[.]"),
            ip.ip
        ));
    }
    let path = dir.join("threat-report.txt");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_app_and_the_cli_give_the_same_rows_for_a_pasted_threat_report() {
    let windows = [(1_000, Duration::from_secs(1))];
    let fake = fakevt::spawn(vtsum_test_utils::fake_config(&["k1"], &windows, None))
        .await
        .unwrap();
    let cli_home = tempfile::tempdir().unwrap();
    let report = threat_report(&fake, cli_home.path());
    // One config file for both: its skip list drops a URL prefix and a domain.
    let skip = cli_home.path().join("skip.txt");
    std::fs::write(&skip, "# ours\nhttps://evil-cdn.com/\nc2-panel.top\n").unwrap();
    let config = cli_home.path().join("config.toml");
    std::fs::write(
        &config,
        format!("skip = {:?}\n", skip.display().to_string()),
    )
    .unwrap();
    let mut cmd = vtsum(&fake, cli_home.path());
    cmd.env("VTSUM_CONFIG", &config)
        .env("VT_RATE", "1000/1s")
        .args(["scan", "--kinds", "all", "--format", "json"])
        .arg(&report);
    let cli = json(&tokio::task::block_in_place(|| cmd.output()).unwrap());

    let web_home = tempfile::tempdir().unwrap();
    let mut cmd = vtsum(&fake, web_home.path());
    cmd.env("VTSUM_CONFIG", &config)
        .env("VT_RATE", "1000/1s")
        .args(["serve", "--bind", "127.0.0.1:0"]);
    let (child, rest) = support::start(cmd, "serving on ");
    let url = rest.split_whitespace().next().unwrap().to_string();
    let client = reqwest::Client::new();
    let text = std::fs::read_to_string(&report).unwrap();
    let res = client
        .post(format!("{url}/api/v1/jobs?kinds=all"))
        .header("content-type", "text/plain")
        .body(text)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let total = cli["results"].as_array().unwrap().len() as u64;
    let job = support::wait_done(&client, &url, &id, total, 60).await;
    assert_eq!(job["total"], total, "the same items: {job}");
    let web: Value = client
        .get(format!("{url}/api/v1/jobs/{id}/results?format=json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // A URL filter of the same job: the store answers by kind.
    let urls: Value = client
        .get(format!(
            "{url}/api/v1/jobs/{id}/results?kind=url&limit=1000"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    support::stop(child);

    let strip = |rows: &Value| -> Vec<Value> {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.as_object_mut().unwrap().remove("from_cache");
                r
            })
            .collect()
    };
    let (cli_rows, web_rows) = (strip(&cli["results"]), strip(&web["results"]));
    assert_eq!(cli_rows, web_rows, "the same rows from both front doors");
    let skipped = |r: &Value| {
        let input = r["input"].as_str().unwrap();
        input.starts_with("https://evil-cdn.com/") || input == "c2-panel.top"
    };
    assert!(
        !cli_rows.iter().any(skipped),
        "the config's skip list holds"
    );
    // The panel URL (twice) and the domain (twice: in the timeline and the table).
    assert!(
        cli["summary"]["skipped"].as_u64().unwrap() >= 2,
        "{}",
        cli["summary"]
    );
    let kinds: std::collections::BTreeSet<&str> = cli_rows
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["domain", "file", "ip", "url"],
        "every kind is in the report"
    );
    assert!(
        cli_rows
            .iter()
            .any(|r| r["kind"] == "url" && r["verdict"] == "malicious"),
        "the fake's malicious URL is answered"
    );
    let want_urls = cli_rows.iter().filter(|r| r["kind"] == "url").count() as u64;
    assert_eq!(urls["matching"], want_urls, "{urls}");
    assert!(urls["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["kind"] == "url"));
}
