//! The client's URL, domain and IP address lookups, v3 and v2, against the fake over
//! loopback: every object of the fake's corpus comes back with its counts and the fields
//! that matter per kind (bounded where the fake's hostile ones are long), unknown ones as
//! unknown, and each lookup is one request of the key's quota.

use std::time::Duration;

use vtsum_core::extract::ioc::IndicatorKind;
use vtsum_core::key::ApiKey;
use vtsum_core::vt::objects::{ObjectLookup, ObjectReport};
use vtsum_core::vt::v3::{bound, MAX_STRING};
use vtsum_core::vt::{ApiVersion, ClientConfig, FetchError, VtClient};

fn client(fake: &fakevt::FakeVt, version: ApiVersion) -> VtClient {
    VtClient::new(ClientConfig {
        base_url: fake.url(),
        version,
        timeout: Duration::from_secs(5),
    })
    .unwrap()
}

async fn found(c: &VtClient, key: &ApiKey, kind: IndicatorKind, value: &str) -> ObjectReport {
    match c.lookup_object(key, kind, value).await.unwrap() {
        ObjectLookup::Found(report) => *report,
        ObjectLookup::Unknown => panic!("{value} unknown"),
    }
}

fn cut(s: &str) -> Option<String> {
    Some(bound(s.to_string(), MAX_STRING))
}

#[tokio::test]
async fn every_url_domain_and_ip_of_the_fake_comes_back_with_its_fields() {
    let windows = [(100_000, Duration::from_secs(1))];
    let fake = fakevt::spawn(vtsum_test_utils::fake_config(&["k1"], &windows, None))
        .await
        .unwrap();
    let key = ApiKey::new("k1");
    let corpus = fake.corpus().clone();
    let (v3, v2) = (client(&fake, ApiVersion::V3), client(&fake, ApiVersion::V2));
    let mut asked = 0u64;
    for u in corpus.urls() {
        let r = found(&v3, &key, IndicatorKind::Url, &u.url).await;
        assert_eq!(r.id, u.sha256);
        assert_eq!(r.stats.malicious, u.analysis.malicious, "{}", u.url);
        assert_eq!(r.analysed, u.analysis.last_analysis.is_some(), "{}", u.url);
        assert_eq!(r.final_url, cut(&u.last_final_url));
        assert_eq!(r.title, u.title.as_deref().and_then(cut));
        assert_eq!(r.last_http_response_code, u.last_http_response_code);
        assert!(r.document.is_some());
        if u.analysis.last_analysis.is_none() {
            // v2 says "queued" (-2): for a lookup, not known yet, as for files.
            let got = v2.lookup_object(&key, IndicatorKind::Url, &u.url).await;
            assert_eq!(got.unwrap(), ObjectLookup::Unknown, "v2 {}", u.url);
        } else {
            let old = found(&v2, &key, IndicatorKind::Url, &u.url).await;
            assert_eq!(old.stats.malicious, u.analysis.malicious, "v2 {}", u.url);
        }
        asked += 2;
    }
    for d in corpus.domains() {
        let r = found(&v3, &key, IndicatorKind::Domain, &d.domain).await;
        assert_eq!(r.registrar, cut(&d.registrar), "{}", d.domain);
        assert_eq!(r.creation_date, Some(d.creation_date));
        assert_eq!(r.stats.malicious, d.analysis.malicious);
        let first = d
            .dns
            .first()
            .map(|x| format!("{} {}", x.record_type, x.value));
        assert_eq!(r.last_dns_records.first(), first.as_ref());
        let old = found(&v2, &key, IndicatorKind::Domain, &d.domain).await;
        assert!(!old.analysed, "v2 domain reports carry no analysis");
        asked += 2;
    }
    for ip in corpus.ips() {
        let r = found(&v3, &key, IndicatorKind::Ip, &ip.ip).await;
        assert_eq!(r.asn, Some(ip.asn));
        assert_eq!(r.as_owner, cut(&ip.as_owner));
        assert_eq!(r.country.as_deref(), Some(ip.country));
        assert_eq!(r.network.as_deref(), Some(ip.network.as_str()));
        let old = found(&v2, &key, IndicatorKind::Ip, &ip.ip).await;
        assert_eq!(old.as_owner, cut(&ip.as_owner), "v2 {}", ip.ip);
        asked += 2;
    }
    for version in [&v3, &v2] {
        for (kind, value) in [
            (IndicatorKind::Url, fakevt::unknown_url(3)),
            (IndicatorKind::Domain, fakevt::unknown_domain(3)),
            (IndicatorKind::Ip, fakevt::unknown_ip(3)),
        ] {
            let got = version.lookup_object(&key, kind, &value).await.unwrap();
            assert_eq!(got, ObjectLookup::Unknown, "{value}");
            asked += 1;
        }
    }
    let counters = fake.counters();
    assert_eq!(
        counters.requests_by_key["k1"], asked,
        "one request a lookup"
    );
    assert!(counters.requests_by_hash.is_empty());
}

#[tokio::test]
async fn a_spent_key_is_over_quota_for_objects_too() {
    let windows = [(1, Duration::from_secs(3600))];
    let fake = fakevt::spawn(vtsum_test_utils::fake_config(&["k1"], &windows, None))
        .await
        .unwrap();
    let key = ApiKey::new("k1");
    let domain = fake.corpus().domains()[0].domain.clone();
    for version in [ApiVersion::V3, ApiVersion::V2] {
        let c = client(&fake, version);
        if version == ApiVersion::V3 {
            found(&c, &key, IndicatorKind::Domain, &domain).await;
        }
        let err = c
            .lookup_object(&key, IndicatorKind::Domain, &domain)
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::Quota { .. }),
            "{version:?}: {err:?}"
        );
    }
}
