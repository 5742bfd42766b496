//! A file's analysis changes between two checks: raised detections and a new label reach
//! v3 and v2 alike, over HTTP, from the library call and the control route; `reset`
//! undoes them.

mod common;

async fn v3(fake: &fakevt::FakeVt, hash: &str) -> serde_json::Value {
    common::v3(fake, Some("k1"), &format!("files/{hash}"))
        .await
        .1
}

async fn v2(fake: &fakevt::FakeVt, hash: &str) -> serde_json::Value {
    let (_, text) = common::v2(fake, "file", "k1", ("resource", hash)).await;
    common::json(&text)
}

#[tokio::test]
async fn raised_detections_are_answered_from_the_next_check_on() {
    let fake = common::fake(7, 1_000).await;
    let clean = fake
        .corpus()
        .first_of(fakevt::FileKind::Clean)
        .unwrap()
        .clone();
    let stats = |v: &serde_json::Value| v["data"]["attributes"]["last_analysis_stats"].clone();
    assert_eq!(stats(&v3(&fake, &clean.sha256).await)["malicious"], 0);

    assert!(fake.set_detections(fakevt::Detections {
        hash: clean.md5.clone(),
        malicious: 30,
        suspicious: 2,
        threat_label: Some("trojan.late/catch".into()),
    }));
    let now = v3(&fake, &clean.sha1).await;
    assert_eq!(stats(&now)["malicious"], 30, "{now}");
    assert_eq!(stats(&now)["suspicious"], 2);
    let label =
        &now["data"]["attributes"]["popular_threat_classification"]["suggested_threat_label"];
    assert_eq!(label, "trojan.late/catch");
    assert_eq!(v2(&fake, &clean.sha256).await["positives"], 30);

    // The control route, for a process that holds no `FakeVt`.
    let http = reqwest::Client::new();
    let set = |hash: &str, malicious: u32| {
        http.post(format!("{}/_fake/detections", fake.url()))
            .json(&serde_json::json!({"hash": hash, "malicious": malicious}))
            .send()
    };
    assert_eq!(set(&clean.sha256, 41).await.unwrap().status(), 204);
    assert_eq!(stats(&v3(&fake, &clean.sha256).await)["malicious"], 41);
    let unknown = fakevt::unknown_hash(1);
    let answer = v3(&fake, &unknown).await;
    assert_eq!(common::code(&answer), Some("NotFoundError"));
    assert_eq!(set(&unknown, 5).await.unwrap().status(), 404);
    assert!(!fake.set_detections(fakevt::Detections {
        hash: unknown,
        malicious: 1,
        suspicious: 0,
        threat_label: None,
    }));

    http.post(format!("{}/_fake/reset", fake.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(stats(&v3(&fake, &clean.sha256).await)["malicious"], 0);
}
