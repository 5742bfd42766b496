//! URLs, domains and IP addresses cost quota, need keys, take faults and are counted
//! exactly like files; hostile texts reach clients verbatim; answers repeat per seed.

mod common;

use std::collections::HashSet;

use common::{code, fake, json, v2, v3};
use fakevt::ObjectKind;
use serde_json::Value;

#[tokio::test]
async fn quota_keys_faults_and_counters_work_as_for_files() {
    let fake = fake(9, 3).await;
    let c = fake.corpus().clone();
    let u = c.urls()[0].clone();
    let ip = c.ips()[0].ip.clone();
    let unknown = fakevt::unknown_domain(5);
    assert_eq!(
        v3(&fake, Some("k1"), &format!("urls/{}", u.identifier))
            .await
            .0,
        200
    );
    assert_eq!(
        v3(&fake, Some("k1"), &format!("domains/{unknown}")).await.0,
        404
    );
    assert_eq!(v2(&fake, "ip-address", "k1", ("ip", &ip)).await.0, 200);
    // Three spent of three: every kind of lookup is now refused, files included.
    let (status, body) = v3(&fake, Some("k1"), &format!("ip_addresses/{ip}")).await;
    assert_eq!((status, code(&body)), (429, Some("QuotaExceededError")));
    assert_eq!(
        v2(&fake, "domain", "k1", ("domain", &unknown)).await,
        (204, String::new())
    );
    assert_eq!(
        v2(&fake, "url", "k1", ("resource", &u.url)).await,
        (204, String::new())
    );
    assert_eq!(
        v3(&fake, Some("k1"), &format!("files/{}", c.files()[0].sha256))
            .await
            .0,
        429
    );
    // Keys are checked as for files.
    let (status, body) = v3(&fake, Some("nope"), &format!("urls/{}", u.identifier)).await;
    assert_eq!((status, code(&body)), (401, Some("WrongCredentialsError")));
    let (status, body) = v3(&fake, None, &format!("domains/{unknown}")).await;
    assert_eq!(
        (status, code(&body)),
        (401, Some("AuthenticationRequiredError"))
    );
    assert_eq!(v2(&fake, "ip-address", "nope", ("ip", &ip)).await.0, 403);
    // Faults hit object routes too, and show in the arrivals.
    fake.faults().fail_next(fakevt::Fault::Status(503), 1);
    let (status, body) = v3(&fake, Some("k2"), &format!("urls/{}", u.sha256)).await;
    assert_eq!((status, code(&body)), (503, Some("TransientError")));
    assert_eq!(v2(&fake, "url", "k2", ("resource", &u.url)).await.0, 200);

    let n = fake.counters();
    assert_eq!(n.requests_by_key["k1"], 3);
    assert_eq!(n.requests_by_key["k2"], 2);
    assert_eq!(n.quota_refusals_by_key["k1"], 4);
    assert_eq!(n.unauthorized, 3);
    let by = &n.requests_by_object;
    assert_eq!(
        by[&format!("url:{}", u.sha256)],
        3,
        "by identifier, by sha256 and by v2 URL"
    );
    assert_eq!(
        by[&format!("domain:{unknown}")],
        1,
        "a refused request is not counted"
    );
    assert_eq!(by[&format!("ip_address:{ip}")], 1);
    assert_eq!(by.len(), 3);
    assert!(n.requests_by_hash.is_empty(), "objects are not hashes");
    let statuses: Vec<(u16, &str)> = n
        .arrivals
        .iter()
        .filter(|a| a.key == "k2")
        .map(|a| (a.status, a.objects[0].as_str()))
        .collect();
    let url_key = format!("url:{}", u.sha256);
    assert_eq!(
        statuses,
        vec![(503, url_key.as_str()), (200, url_key.as_str())]
    );
    // Each arrival shows the status it got: unknown 404, refused 429 (v2's 204 too).
    let k1: Vec<u16> = n
        .arrivals
        .iter()
        .filter(|a| a.key == "k1")
        .map(|a| a.status)
        .collect();
    assert_eq!(k1, vec![200, 404, 200, 429, 429, 429, 429]);
}

fn strings(v: &Value, out: &mut HashSet<String>) {
    match v {
        Value::String(s) => {
            out.insert(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| strings(i, out)),
        _ => {}
    }
}

#[tokio::test]
async fn hostile_texts_arrive_verbatim_and_answers_repeat_per_seed() {
    let fake = fake(9, 1000).await;
    let twin = common::fake(9, 1000).await;
    let c = fake.corpus().clone();
    let mut paths = Vec::new();
    paths.extend(
        c.urls()
            .iter()
            .filter(|u| u.kind == ObjectKind::Hostile)
            .map(|u| format!("urls/{}", u.identifier)),
    );
    paths.extend(
        c.domains()
            .iter()
            .filter(|d| d.kind == ObjectKind::Hostile)
            .map(|d| format!("domains/{}", d.domain)),
    );
    paths.extend(
        c.ips()
            .iter()
            .filter(|i| i.kind == ObjectKind::Hostile)
            .map(|i| format!("ip_addresses/{}", i.ip)),
    );
    let mut seen = HashSet::new();
    for path in &paths {
        let (status, body) = v3(&fake, Some("k1"), path).await;
        assert_eq!(status, 200, "{path}");
        strings(&body, &mut seen);
        let (_, again) = v3(&twin, Some("k1"), path).await;
        assert_eq!(
            again["data"]["attributes"], body["data"]["attributes"],
            "same seed, same answer: {path}"
        );
    }
    let mut wanted: Vec<String> = fakevt::HOSTILE_TEXTS
        .iter()
        .map(|t| t.to_string())
        .collect();
    wanted.push(fakevt::long_hostile());
    for text in &wanted {
        assert!(seen.contains(text), "{text:?} not answered verbatim");
    }
    let ip = c.first_ip_of(ObjectKind::Hostile).unwrap();
    let r = json(&v2(&fake, "ip-address", "k1", ("ip", &ip.ip)).await.1);
    assert_eq!(r["as_owner"], ip.as_owner.as_str());
    assert!(wanted.contains(&ip.as_owner));
}
