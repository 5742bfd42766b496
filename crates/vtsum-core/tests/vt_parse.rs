//! The VirusTotal parsers on fixtures shaped like the real API's answers, and the client's
//! status handling over real HTTP against the fake VirusTotal.

use proptest::prelude::*;
use vtsum_core::report::{Lookup, Row, RowOptions, Verdict};
use vtsum_core::vt::{v2, v3, ApiVersion, ClientConfig, FetchError, VtClient};
use vtsum_core::{ApiKey, Hash};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn a_full_v3_report_parses_every_field() {
    let f = v3::parse_file(&fixture("v3_full.json")).unwrap();
    assert_eq!(
        f.sha256,
        "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
    );
    assert_eq!(
        f.md5.as_deref(),
        Some("44d88612fea8a8f36de82e1278abb02f"),
        "lower-cased"
    );
    assert_eq!(
        (
            f.stats.malicious,
            f.stats.suspicious,
            f.stats.undetected,
            f.stats.harmless
        ),
        (62, 2, 7, 1)
    );
    assert_eq!(f.stats.timeout, 2, "confirmed-timeout folds into timeout");
    assert_eq!(f.threat_label.as_deref(), Some("virus.eicar/test"));
    assert_eq!(f.names.len(), 3);
    assert_eq!(f.engines.len(), 4);
    assert_eq!(f.engines["Acronis"].version, None);
    assert_eq!(
        f.engines["Kaspersky"].result.as_deref(),
        Some("EICAR-Test-File")
    );
    assert!(f.analysed);
    let input = Hash::parse("44d88612fea8a8f36de82e1278abb02f").unwrap();
    let row = Row::from_lookup(&input, &Lookup::Found(Box::new(f)), RowOptions::default());
    assert_eq!(row.total, 72);
    assert_eq!(row.verdict, Verdict::Malicious);
    assert_eq!(row.first_seen.as_deref(), Some("2006-05-22T12:42:02Z"));
}

#[test]
fn a_sparse_v3_report_with_nulls_and_wrong_types_parses() {
    let f = v3::parse_file(&fixture("v3_sparse.json")).unwrap();
    assert_eq!(
        f.sha256,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(f.size, Some(17));
    assert!(f.names.is_empty() && f.meaningful_name.is_none());
    assert_eq!(f.tags, vec!["1", "two"]);
    assert_eq!(f.stats.malicious, 0);
    assert!(f.analysed, "it has engine results");
}

#[test]
fn a_never_analysed_file_is_unanalysed() {
    let f = v3::parse_file(&fixture("v3_never_analysed.json")).unwrap();
    assert!(!f.analysed);
    assert_eq!(Verdict::of(&f.stats, f.analysed, 3), Verdict::Unanalysed);
}

#[test]
fn v3_errors_and_garbage() {
    assert_eq!(
        v3::parse_error(&fixture("v3_error.json")),
        Some(("QuotaExceededError".into(), "Quota exceeded".into()))
    );
    assert!(v3::parse_file(b"{\"data\": {\"attributes\": [").is_err());
    assert!(v3::parse_file(b"{\"data\": {\"id\": \"not-a-hash\"}}").is_err());
}

#[test]
fn a_v2_batch_is_matched_by_resource_not_position() {
    let asked: Vec<Hash> = [
        "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
        "7657fcb7d772448a6d8504e4b20168b8",
        "ffffffffffffffffffffffffffffffff",
    ]
    .iter()
    .map(|h| Hash::parse(h).unwrap())
    .collect();
    let answers = v2::parse_reports(&fixture("v2_batch.json"), &asked).unwrap();
    assert_eq!(answers.len(), 3);
    assert_eq!(
        answers[0],
        (asked[0].clone(), Lookup::Unknown),
        "queued is not known yet"
    );
    let Lookup::Found(f) = &answers[1].1 else {
        panic!("found")
    };
    assert_eq!((f.stats.malicious, f.stats.undetected), (1, 1));
    assert_eq!(f.last_analysis, Some(1_672_531_200));
    assert_eq!(f.engines["Kaspersky"].category, "malicious");
    assert_eq!(answers[2].1, Lookup::Unknown);
    let missing = [Hash::parse(&"1".repeat(32)).unwrap()];
    assert!(v2::parse_reports(&fixture("v2_batch.json"), &missing).is_err());
}

proptest! {
    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = v3::parse_file(&bytes);
        let _ = v3::parse_error(&bytes);
        let _ = v2::parse_reports(&bytes, &[Hash::parse(&"a".repeat(32)).unwrap()]);
    }

    #[test]
    fn parsers_never_panic_on_json_of_any_shape(v in json_value()) {
        let body = serde_json::to_vec(&serde_json::json!({"data": {"id": "a".repeat(64), "attributes": v.clone()}})).unwrap();
        prop_assert!(v3::parse_file(&body).is_ok(), "a valid id always parses");
        let _ = v2::parse_reports(&serde_json::to_vec(&v).unwrap(), &[Hash::parse(&"a".repeat(32)).unwrap()]);
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[a-z_]{0,8}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("names".to_string()),
                    Just("last_analysis_stats".to_string()),
                    Just("size".to_string()),
                    Just("response_code".to_string()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

async fn client(fake: &fakevt::FakeVt, version: ApiVersion) -> VtClient {
    VtClient::new(ClientConfig {
        base_url: fake.url(),
        version,
        timeout: std::time::Duration::from_secs(5),
    })
    .unwrap()
}

async fn fake() -> fakevt::FakeVt {
    fakevt::spawn(fakevt::Config {
        keys: vec!["right-key".into()],
        limits: fakevt::Limits {
            windows: vec![(2, std::time::Duration::from_secs(60))],
            daily: None,
        },
        seed: 3,
        corpus_size: 20,
        addr: ([127, 0, 0, 1], 0).into(),
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_client_maps_every_status_and_never_leaks_the_key() {
    let fake = fake().await;
    let known = Hash::parse(&fake.corpus().files()[0].sha256).unwrap();
    let unknown = Hash::parse(&fakevt::unknown_hash(1)).unwrap();
    let good = ApiKey::new("right-key");
    let bad = ApiKey::new("wrong-secret-key");
    for version in [ApiVersion::V3, ApiVersion::V2] {
        let c = client(&fake, version).await;
        let err = c
            .lookup(&bad, std::slice::from_ref(&known))
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::Rejected { .. }),
            "{version:?}: {err:?}"
        );
        assert!(!format!("{err} {err:?}").contains("wrong-secret-key"));
    }
    let c3 = client(&fake, ApiVersion::V3).await;
    let found = c3
        .lookup(&good, std::slice::from_ref(&known))
        .await
        .unwrap();
    assert!(matches!(found[0].1, Lookup::Found(_)));
    assert_eq!(
        c3.lookup(&good, std::slice::from_ref(&unknown))
            .await
            .unwrap()[0]
            .1,
        Lookup::Unknown
    );
    // The window of 2 is spent: 429 in v3, 204 in v2, both "over quota".
    assert!(matches!(
        c3.lookup(&good, std::slice::from_ref(&known)).await,
        Err(FetchError::Quota { .. })
    ));
    let c2 = client(&fake, ApiVersion::V2).await;
    assert!(matches!(
        c2.lookup(&good, std::slice::from_ref(&known)).await,
        Err(FetchError::Quota { .. })
    ));
    let q = c3.quota(&good).await.unwrap();
    assert_eq!(q.hourly.map(|h| h.0), Some(2));
    let err = c3.quota(&bad).await.unwrap_err();
    assert!(
        !format!("{err} {err:?}").contains("wrong-secret-key"),
        "{err:?}"
    );
}

#[tokio::test]
async fn faults_become_transient_errors_without_the_key() {
    let fake = fakevt::spawn(fakevt::Config {
        keys: vec!["k-secret".into()],
        limits: fakevt::Limits::default(),
        seed: 3,
        corpus_size: 5,
        addr: ([127, 0, 0, 1], 0).into(),
    })
    .await
    .unwrap();
    let known = Hash::parse(&fake.corpus().files()[0].md5).unwrap();
    let key = ApiKey::new("k-secret");
    for (fault, version) in [
        (fakevt::Fault::Status(503), ApiVersion::V3),
        (fakevt::Fault::Status(504), ApiVersion::V2),
        (fakevt::Fault::Reset, ApiVersion::V2),
        (fakevt::Fault::Malformed, ApiVersion::V3),
        (fakevt::Fault::Malformed, ApiVersion::V2),
    ] {
        fake.faults().fail_next(fault, 1);
        let err = client(&fake, version)
            .await
            .lookup(&key, std::slice::from_ref(&known))
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::Transient(_)),
            "{fault:?} {version:?}: {err:?}"
        );
        assert!(!err.to_string().contains("k-secret"), "{err}");
    }
    // A slow answer beyond the timeout is transient too.
    fake.faults().fail_next(fakevt::Fault::DelayMs(1_500), 1);
    let slow = VtClient::new(ClientConfig {
        base_url: fake.url(),
        version: ApiVersion::V2,
        timeout: std::time::Duration::from_millis(300),
    })
    .unwrap();
    let err = slow.lookup(&key, &[known]).await.unwrap_err();
    assert!(
        matches!(&err, FetchError::Transient(m) if m.contains("timed out")),
        "{err:?}"
    );
    assert!(!err.to_string().contains("k-secret"));
}
