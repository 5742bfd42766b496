//! The fake's URLs, domains and IP addresses over real HTTP: v3 objects and v2 reports
//! in VirusTotal's shapes, with 404/400 and v2 response codes for the unknown and the
//! malformed.

mod common;

use std::net::IpAddr;

use common::{code, fake, json, v2, v3};
use fakevt::ObjectKind;
use serde_json::Value;

/// `last_analysis_stats.malicious`, checked against the per-engine results.
fn malicious(attrs: &Value) -> u64 {
    let counted = attrs["last_analysis_results"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["category"] == "malicious")
        .count() as u64;
    assert_eq!(attrs["last_analysis_stats"]["malicious"], counted);
    counted
}

#[tokio::test]
async fn urls_answer_by_base64_or_sha256_in_the_real_shape() {
    let fake = fake(9, 1000).await;
    let u = fake
        .corpus()
        .first_url_of(ObjectKind::Malicious)
        .unwrap()
        .clone();
    for id in [
        u.identifier.clone(),
        u.sha256.clone(),
        u.sha256.to_uppercase(),
    ] {
        let (status, body) = v3(&fake, Some("k1"), &format!("urls/{id}")).await;
        assert_eq!(status, 200, "{id}");
        let d = &body["data"];
        assert_eq!(
            (d["type"].as_str(), d["id"].as_str()),
            (Some("url"), Some(u.sha256.as_str()))
        );
        assert!(d["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/api/v3/urls/{}", u.sha256)));
        let a = &d["attributes"];
        assert_eq!(a["url"], u.url.as_str());
        assert_eq!(a["last_final_url"], u.last_final_url.as_str());
        assert_eq!(a["title"].as_str(), u.title.as_deref());
        assert_eq!(
            a["last_http_response_code"].as_u64(),
            u.last_http_response_code.map(u64::from)
        );
        assert_eq!(malicious(a), u64::from(u.analysis.malicious));
        assert!(u.analysis.malicious > 0);
        assert_eq!(
            a["threat_names"].as_array().unwrap().len(),
            u.threat_names.len()
        );
        for field in [
            "first_submission_date",
            "last_submission_date",
            "times_submitted",
            "last_analysis_date",
            "reputation",
        ] {
            assert!(a[field].is_i64(), "{field}");
        }
        assert!(
            a["categories"].is_object()
                && a["total_votes"]["malicious"].is_u64()
                && a["tags"].is_array()
        );
    }
    let never = fake
        .corpus()
        .first_url_of(ObjectKind::NeverAnalysed)
        .unwrap()
        .identifier
        .clone();
    let (_, body) = v3(&fake, Some("k1"), &format!("urls/{never}")).await;
    let a = &body["data"]["attributes"];
    assert!(a.get("last_analysis_date").is_none() && a.get("last_analysis_stats").is_none());
    assert_eq!(a["last_analysis_results"], serde_json::json!({}));
    let unknown = fakevt::url_identifier(&fakevt::unknown_url(0));
    let (status, body) = v3(&fake, Some("k1"), &format!("urls/{unknown}")).await;
    assert_eq!((status, code(&body)), (404, Some("NotFoundError")));
    let (status, body) = v3(&fake, Some("k1"), "urls/bad*id").await;
    assert_eq!((status, code(&body)), (400, Some("InvalidArgumentError")));
    // Malformed and unknown ids cost quota like any lookup.
    let n = fake.counters();
    assert_eq!(n.requests_by_key["k1"], 6);
    let last = n.arrivals.last().unwrap();
    assert_eq!((last.status, last.objects[0].as_str()), (400, "url:bad*id"));
}

#[tokio::test]
async fn domains_and_ips_answer_in_the_real_shape() {
    let fake = fake(9, 1000).await;
    let dom = fake
        .corpus()
        .first_domain_of(ObjectKind::Malicious)
        .unwrap()
        .clone();
    let (status, body) = v3(
        &fake,
        Some("k1"),
        &format!("domains/{}", dom.domain.to_uppercase()),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["data"]["type"].as_str(), body["data"]["id"].as_str()),
        (Some("domain"), Some(dom.domain.as_str()))
    );
    let a = &body["data"]["attributes"];
    assert_eq!(a["registrar"], dom.registrar.as_str());
    assert_eq!(a["creation_date"], dom.creation_date);
    assert_eq!(a["tld"], dom.tld);
    assert!(dom.domain.ends_with(&format!(".{}", dom.tld)));
    assert!(a["whois"]
        .as_str()
        .unwrap()
        .contains(&dom.domain.to_uppercase()));
    let records = a["last_dns_records"].as_array().unwrap();
    assert_eq!(records.len(), dom.dns.len());
    assert!(records
        .iter()
        .all(|r| r["type"].is_string() && r["value"].is_string() && r["ttl"].is_u64()));
    assert!(records.iter().any(|r| r["type"] == "A"));
    assert_eq!(malicious(a), u64::from(dom.analysis.malicious));
    assert!(a["categories"].as_object().unwrap().len() == dom.analysis.categories.len());

    let ip = fake
        .corpus()
        .ips()
        .iter()
        .find(|i| i.addr.is_ipv6())
        .unwrap()
        .clone();
    let IpAddr::V6(v6) = ip.addr else {
        unreachable!()
    };
    let expanded: Vec<String> = v6.segments().iter().map(|s| format!("{s:04X}")).collect();
    let (status, body) = v3(
        &fake,
        Some("k1"),
        &format!("ip_addresses/{}", expanded.join(":")),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["data"]["type"].as_str(), body["data"]["id"].as_str()),
        (Some("ip_address"), Some(ip.ip.as_str()))
    );
    let a = &body["data"]["attributes"];
    assert_eq!(a["asn"], ip.asn);
    assert_eq!(a["as_owner"], ip.as_owner.as_str());
    for (field, want) in [
        ("country", ip.country),
        ("continent", ip.continent),
        ("regional_internet_registry", ip.regional_internet_registry),
    ] {
        assert_eq!(a[field], want, "{field}");
    }
    assert_eq!(a["network"], ip.network.as_str());
    assert!(
        a.get("categories").is_none(),
        "VirusTotal gives IPs no categories"
    );

    for (path, want) in [
        (
            format!("domains/{}", fakevt::unknown_domain(1)),
            (404, "NotFoundError"),
        ),
        (
            format!("ip_addresses/{}", fakevt::unknown_ip(1)),
            (404, "NotFoundError"),
        ),
        ("domains/a..com".to_string(), (400, "InvalidArgumentError")),
        ("domains/-x.ru".to_string(), (400, "InvalidArgumentError")),
        (
            "domains/localhost".to_string(),
            (400, "InvalidArgumentError"),
        ),
        (
            "ip_addresses/1.2.3.999".to_string(),
            (400, "InvalidArgumentError"),
        ),
        (
            "ip_addresses/2a01::g".to_string(),
            (400, "InvalidArgumentError"),
        ),
    ] {
        let (status, body) = v3(&fake, Some("k1"), &path).await;
        assert_eq!((status, code(&body)), (want.0, Some(want.1)), "{path}");
    }
}

#[tokio::test]
async fn v2_reports_have_the_real_shapes() {
    let fake = fake(9, 1000).await;
    let c = fake.corpus().clone();
    let u = c.first_url_of(ObjectKind::Malicious).unwrap();
    let r = json(&v2(&fake, "url", "k1", ("resource", &u.url)).await.1);
    assert_eq!(
        (r["response_code"].as_i64(), r["url"].as_str()),
        (Some(1), Some(u.url.as_str()))
    );
    assert!(r["scan_id"].as_str().unwrap().starts_with(&u.sha256));
    assert!(r["permalink"].as_str().unwrap().contains(&u.sha256));
    assert_eq!(r["scan_date"].as_str().unwrap().len(), 19);
    let scans = r["scans"].as_object().unwrap();
    assert_eq!(r["total"], scans.len());
    assert_eq!(r["positives"], u.analysis.malicious);
    assert!(scans
        .values()
        .all(|s| s["detected"].is_boolean() && s["result"].is_string()));
    let r = json(
        &v2(&fake, "url", "k1", ("resource", &fakevt::unknown_url(2)))
            .await
            .1,
    );
    assert_eq!(r["response_code"], 0);
    let never = &c.first_url_of(ObjectKind::NeverAnalysed).unwrap().url;
    assert_eq!(
        json(&v2(&fake, "url", "k1", ("resource", never)).await.1)["response_code"],
        -2
    );

    // A domain that hosts a detected corpus URL lists it, and resolves to its A records.
    let (dom, hosted) = c
        .domains()
        .iter()
        .find_map(|d| {
            let u = c
                .urls()
                .iter()
                .find(|u| u.host == d.domain && u.analysis.malicious > 0)?;
            Some((d, u))
        })
        .unwrap();
    let r = json(&v2(&fake, "domain", "k1", ("domain", &dom.domain)).await.1);
    assert_eq!(
        (r["response_code"].as_i64(), r["verbose_msg"].as_str()),
        (Some(1), Some("Domain found in dataset"))
    );
    assert!(r.get("positives").is_none() && r.get("total").is_none());
    assert_eq!(r["whois"], dom.whois.as_str());
    assert!(r["categories"].is_array());
    let a_record = &dom.dns.iter().find(|d| d.record_type == "A").unwrap().value;
    assert!(r["resolutions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["ip_address"] == a_record.as_str()));
    assert!(r["detected_urls"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["url"] == hosted.url.as_str()));

    let ip = c.find_ip(a_record).unwrap();
    let r = json(&v2(&fake, "ip-address", "k1", ("ip", &ip.ip)).await.1);
    assert_eq!(
        (r["response_code"].as_i64(), r["asn"].as_u64()),
        (Some(1), Some(u64::from(ip.asn)))
    );
    assert_eq!(
        (r["as_owner"].as_str(), r["country"].as_str()),
        (Some(ip.as_owner.as_str()), Some(ip.country))
    );
    assert!(r.get("positives").is_none());
    assert!(r["resolutions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["hostname"] == dom.domain.as_str()));

    for (route, param, want) in [
        ("domain", ("domain", fakevt::unknown_domain(3)), 0),
        ("domain", ("domain", "a..b".to_string()), -1),
        ("ip-address", ("ip", fakevt::unknown_ip(3)), 0),
        ("ip-address", ("ip", "300.1.1.1".to_string()), -1),
    ] {
        let (status, body) = v2(&fake, route, "k1", (param.0, &param.1)).await;
        assert_eq!(
            (status, json(&body)["response_code"].as_i64()),
            (200, Some(want)),
            "{route} {param:?}"
        );
    }
    assert_eq!(v2(&fake, "domain", "k1", ("domain", "")).await.0, 400);
}
