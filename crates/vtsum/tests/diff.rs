//! `vtsum diff`: two scans of one list with the fake's analysis changed in between give
//! exactly the changed files, with their reasons; labels reach the terminal inert.

mod support;

use support::{json, ok, vtsum};

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_scans_give_exactly_the_files_whose_answer_changed() {
    let windows = [(1_000, Duration::from_secs(1))];
    let fake = fakevt::spawn(vtsum_test_utils::fake_config(&["k1"], &windows, None))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut hashes = fake.corpus().sha256s(12);
    hashes.push(fakevt::unknown_hash(5));
    let input = dir.path().join("list.txt");
    std::fs::write(&input, hashes.join("\n")).unwrap();
    // Reports in the test's directory: the command runs in the crate's, which must stay
    // as checked out.
    let (before, after) = (
        dir.path().join("before.json"),
        dir.path().join("after.json"),
    );
    let (before, after) = (before.to_str().unwrap(), after.to_str().unwrap());
    let scan = |out: &str, refresh: bool| {
        let mut cmd = vtsum(&fake, dir.path());
        cmd.env("VT_RATE", "1000/1s")
            .args(["scan", "-q", "--format", "json", "-o", out]);
        if refresh {
            cmd.arg("--refresh");
        }
        cmd.arg(&input);
        ok(&tokio::task::block_in_place(|| cmd.output()).unwrap());
    };
    scan(before, false);
    let files = fake.corpus().files();
    let clean = files[..12]
        .iter()
        .find(|f| f.kind == fakevt::FileKind::Clean)
        .unwrap();
    let bad = files[..12]
        .iter()
        .find(|f| f.kind == fakevt::FileKind::Malicious && f.malicious >= 3)
        .unwrap();
    assert!(fake.set_detections(fakevt::Detections {
        hash: clean.sha256.clone(),
        malicious: 30,
        suspicious: 0,
        threat_label: Some("late.\u{1b}[2Jcatch".into()),
    }));
    assert!(fake.set_detections(fakevt::Detections {
        hash: bad.sha256.clone(),
        malicious: 0,
        suspicious: 0,
        threat_label: None,
    }));
    scan(after, true);

    let diff = |args: &[&str]| {
        let mut cmd = vtsum(&fake, dir.path());
        cmd.arg("diff").args(args);
        tokio::task::block_in_place(|| cmd.output()).unwrap()
    };
    let changes = json(&diff(&[before, after, "--json"]));
    let changes = changes.as_array().unwrap();
    assert_eq!(changes.len(), 2, "{changes:#?}");
    let of = |h: &str| changes.iter().find(|c| c["input"] == h).unwrap();
    let up = of(&clean.sha256);
    assert_eq!(up["before"]["verdict"], "clean");
    assert_eq!(up["after"]["verdict"], "malicious");
    assert_eq!(up["after"]["malicious"], 30);
    assert_eq!(
        up["reasons"],
        serde_json::json!(["verdict", "crossed_threshold", "new_label"])
    );
    let down = of(&bad.sha256);
    assert_eq!(down["after"]["verdict"], "clean");
    assert_eq!(
        down["reasons"],
        serde_json::json!(["verdict", "crossed_threshold"])
    );

    let text = ok(&diff(&[before, after]));
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "terminal controls replaced: {text:?}"
    );
    assert!(text.contains("clean 0/"), "{text}");
    assert!(
        text.contains("(verdict, crossed_threshold, new_label)"),
        "{text}"
    );

    let bad_report = dir.path().join("bad.jsonl");
    std::fs::write(&bad_report, "{\"input\": 1}\n").unwrap();
    let refused = diff(&[before, bad_report.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("bad.jsonl, line 1"), "{err}");
}

/// Job ids (as the web app shows them) are read from the store: two jobs of one list, the
/// second with a file gone malicious, give that one change.
#[test]
fn two_jobs_of_the_store_are_compared_by_their_ids() {
    use vtsum_core::report::{FileReport, ItemResult, Lookup, Stats};
    use vtsum_core::store::{JobId, JobSpec};
    use vtsum_core::Hash;

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vtsum.db");
    let store = vtsum_store::open(&format!("sqlite:{}", db.display()), &db).unwrap();
    let (a, b) = ("a".repeat(64), "b".repeat(64));
    let hashes = [Hash::parse(&a).unwrap(), Hash::parse(&b).unwrap()];
    let found = |sha256: &str, malicious: u32| ItemResult::Lookup {
        lookup: Lookup::Found(Box::new(FileReport {
            sha256: sha256.to_string(),
            stats: Stats {
                malicious,
                undetected: 60 - malicious,
                ..Stats::default()
            },
            analysed: true,
            ..FileReport::default()
        })),
        from_cache: false,
        fetched_at: 1_700_000_000,
    };
    let mut ids = Vec::new();
    for later in [false, true] {
        let id = JobId::random();
        store
            .job_create(
                &id,
                &JobSpec::default(),
                &vtsum_core::Target::files(&hashes),
                1_700_000_000,
            )
            .unwrap();
        store.job_record(&id, 0, &found(&a, 0), 1).unwrap();
        store
            .job_record(&id, 1, &found(&b, if later { 12 } else { 0 }), 1)
            .unwrap();
        ids.push(id.0);
    }
    drop(store);
    let fake_free = support::bare(dir.path())
        .env("VTSUM_STORE", format!("sqlite:{}", db.display()))
        .args(["diff", "--json", &ids[0], &ids[1]])
        .output()
        .unwrap();
    let changes = json(&fake_free);
    let changes = changes.as_array().unwrap();
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0]["input"], b.as_str());
    assert_eq!(changes[0]["after"]["verdict"], "malicious");

    let missing = support::bare(dir.path())
        .env("VTSUM_STORE", format!("sqlite:{}", db.display()))
        .args(["diff", &ids[0], &"c".repeat(32)])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("neither a report file nor a job"), "{err}");
}
