//! The fake speaks VirusTotal's shapes and enforces its quotas, checked over real HTTP.

use std::time::Duration;

use fakevt::{Config, FileKind, Limits};
use serde_json::Value;

async fn fake(windows: Vec<(u32, Duration)>, daily: Option<u32>) -> fakevt::FakeVt {
    fakevt::spawn(Config {
        keys: vec!["k1".into(), "k2".into()],
        limits: Limits { windows, daily },
        seed: 9,
        corpus_size: 50,
        addr: ([127, 0, 0, 1], 0).into(),
    })
    .await
    .unwrap()
}

async fn v3(fake: &fakevt::FakeVt, key: Option<&str>, hash: &str) -> (u16, Value) {
    let mut req = reqwest::Client::new().get(format!("{}/api/v3/files/{hash}", fake.url()));
    if let Some(k) = key {
        req = req.header("x-apikey", k);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn v2(fake: &fakevt::FakeVt, key: &str, resources: &[&str]) -> (u16, String) {
    let resp = reqwest::Client::new()
        .get(format!("{}/vtapi/v2/file/report", fake.url()))
        .query(&[("apikey", key), ("resource", &resources.join(","))])
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn v3_files_have_the_real_shape_and_errors_their_codes() {
    let fake = fake(vec![(100, Duration::from_secs(1))], None).await;
    let file = fake.corpus().first_of(FileKind::Malicious).unwrap().clone();
    for hash in [&file.md5, &file.sha1, &file.sha256.to_uppercase()] {
        let (status, body) = v3(&fake, Some("k1"), hash).await;
        assert_eq!(status, 200);
        assert_eq!(body["data"]["type"], "file");
        assert_eq!(body["data"]["id"], file.sha256.as_str());
        let a = &body["data"]["attributes"];
        let stats = &a["last_analysis_stats"];
        let malicious = a["last_analysis_results"]
            .as_object()
            .unwrap()
            .values()
            .filter(|r| r["category"] == "malicious")
            .count();
        assert_eq!(
            stats["malicious"], malicious as u64,
            "stats agree with results"
        );
        assert!(a["popular_threat_classification"]["suggested_threat_label"].is_string());
    }
    let never = fake
        .corpus()
        .first_of(FileKind::NeverAnalysed)
        .unwrap()
        .sha256
        .clone();
    let (_, body) = v3(&fake, Some("k1"), &never).await;
    assert!(body["data"]["attributes"]
        .get("last_analysis_date")
        .is_none());
    let (status, body) = v3(&fake, Some("k1"), &fakevt::unknown_hash(0)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("NotFoundError"))
    );
    let (status, body) = v3(&fake, None, &file.md5).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("AuthenticationRequiredError"))
    );
    let (status, body) = v3(&fake, Some("nope"), &file.md5).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("WrongCredentialsError"))
    );
    let (status, body) = v3(&fake, Some("k1"), "xyz").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("InvalidArgumentError"))
    );
}

#[tokio::test]
async fn the_sliding_window_admits_exactly_n_and_refuses_the_next() {
    let fake = fake(vec![(3, Duration::from_secs(30))], None).await;
    let h = fake.corpus().files()[0].sha256.clone();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(v3(&fake, Some("k1"), &h).await.0);
    }
    assert_eq!(statuses, vec![200, 200, 200, 429, 429]);
    assert_eq!(v3(&fake, Some("k2"), &h).await.0, 200, "quotas are per key");
    let c = fake.counters();
    assert_eq!(c.requests_by_key["k1"], 3);
    assert_eq!(c.quota_refusals_by_key["k1"], 2);
    assert_eq!(c.requests_by_hash[&h], 4);
    assert_eq!(c.arrivals.len(), 6);
}

#[tokio::test]
async fn the_daily_quota_and_v2_batches_cost_one_per_hash() {
    let fake = fake(vec![(100, Duration::from_secs(1))], Some(6)).await;
    let f: Vec<String> = fake.corpus().files()[..4]
        .iter()
        .map(|f| f.md5.clone())
        .collect();
    let refs: Vec<&str> = f.iter().map(String::as_str).collect();
    let (status, body) = v2(&fake, "k1", &refs).await;
    assert_eq!(status, 200);
    let answers: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answers.as_array().unwrap().len(), 4);
    assert!(answers
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["response_code"] == 1));
    // Four spent of six: a batch of four no longer fits, v2 says so with an empty 204.
    let (status, body) = v2(&fake, "k1", &refs).await;
    assert_eq!((status, body.as_str()), (204, ""));
    let (status, body) = v2(&fake, "k1", &[&fakevt::unknown_hash(3)]).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["response_code"],
        0,
        "one object for one resource"
    );
    fake.set_daily_used("k2", 6);
    assert_eq!(v3(&fake, Some("k2"), &f[0]).await.0, 429);
    assert_eq!(v2(&fake, "wrong", &refs).await.0, 403);
    let quota: Value = reqwest::Client::new()
        .get(format!("{}/api/v3/users/k1/overall_quotas", fake.url()))
        .header("x-apikey", "k1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(quota["data"]["api_requests_daily"]["user"]["used"], 5);
    assert_eq!(quota["data"]["api_requests_daily"]["user"]["allowed"], 6);
}

#[tokio::test]
async fn faults_and_counters_can_be_driven_over_http() {
    let fake = fake(vec![(100, Duration::from_secs(1))], None).await;
    let h = fake.corpus().files()[1].sha256.clone();
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{}/_fake/faults", fake.url()))
        .json(&serde_json::json!({"fault": {"kind": "status", "value": 503}, "count": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(v3(&fake, Some("k1"), &h).await.0, 503);
    let (status, body) = v3(&fake, Some("k1"), &h).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("TransientError"))
    );
    assert_eq!(v3(&fake, Some("k1"), &h).await.0, 200);
    fake.faults().fail_next(fakevt::Fault::Reset, 1);
    let reset = client
        .get(format!("{}/api/v3/files/{h}", fake.url()))
        .header("x-apikey", "k1")
        .send()
        .await;
    let broken = match reset {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(broken, "the connection was cut");
    let counters: Value = client
        .get(format!("{}/_fake/counters", fake.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let statuses: Vec<u64> = counters["arrivals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![503, 503, 200, 0]);
    client
        .post(format!("{}/_fake/reset", fake.url()))
        .send()
        .await
        .unwrap();
    assert!(fake.counters().arrivals.is_empty());
}

#[test]
fn the_corpus_is_deterministic_and_has_every_kind() {
    let a = fakevt::Corpus::generate(1, 30);
    let b = fakevt::Corpus::generate(1, 30);
    let c = fakevt::Corpus::generate(2, 30);
    assert_eq!(a.files()[7].sha256, b.files()[7].sha256);
    assert_ne!(a.files()[7].sha256, c.files()[7].sha256);
    for kind in [
        FileKind::Malicious,
        FileKind::Suspicious,
        FileKind::Clean,
        FileKind::NeverAnalysed,
        FileKind::Sparse,
        FileKind::Hostile,
    ] {
        assert!(a.first_of(kind).is_some(), "{kind:?}");
    }
    assert!(a.find(&fakevt::unknown_hash(0)).is_none());
    assert!(a
        .files()
        .iter()
        .any(|f| f.names.iter().any(|n| n.contains("<script>"))));
}

async fn figures(fake: &fakevt::FakeVt, key: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v3/users/{key}/overall_quotas", fake.url()))
        .header("x-apikey", key)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn per_key_allowances_and_use_are_enforced_reported_and_settable_over_http() {
    let fake = fake(vec![(100, Duration::from_secs(1))], Some(500)).await;
    let h = fake.corpus().files()[0].sha256.clone();
    // A premium key allowed 1,000 a day that has used 999, set over HTTP as a process
    // test would.
    let r = reqwest::Client::new()
        .post(format!("{}/_fake/quota", fake.url()))
        .json(&serde_json::json!({"key": "k1", "used_today": 999, "daily_allowed": 1000}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(v3(&fake, Some("k1"), &h).await.0, 200, "the 1,000th fits");
    assert_eq!(
        v3(&fake, Some("k1"), &h).await.0,
        429,
        "the 1,001st does not"
    );
    let (status, q) = figures(&fake, "k1").await;
    assert_eq!(status, 200);
    assert_eq!(q["data"]["api_requests_daily"]["user"]["used"], 1000);
    assert_eq!(q["data"]["api_requests_daily"]["user"]["allowed"], 1000);
    // The other key keeps the common 500.
    let (_, q) = figures(&fake, "k2").await;
    assert_eq!(q["data"]["api_requests_daily"]["user"]["allowed"], 500);
    // Reading figures costs no quota, and is counted on its own.
    let c = fake.counters();
    assert_eq!(c.requests_by_key["k1"], 1);
    assert_eq!(c.quota_calls_by_key["k1"], 1);
    // A setup without access to the figures gets 403 in VirusTotal's error shape.
    fake.hide_quota_figures();
    let (status, q) = figures(&fake, "k2").await;
    assert_eq!(status, 403);
    assert_eq!(q["error"]["code"], "ForbiddenError");
}
