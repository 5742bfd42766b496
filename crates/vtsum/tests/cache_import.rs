//! `vtsum cache export` and `vtsum cache import` between stores, and import of VirusTotal's
//! own JSON: real processes, a real SQLite file, a real Redis, the fake VirusTotal's
//! counters to prove an imported answer is never asked for again.

mod support;

use support::{fake, success};

/// `vtsum` on `store`, pointed at `fake`, with nothing else from the environment.
fn run(fake: &fakevt::FakeVt, home: &Path, store: &str) -> Command {
    let mut cmd = support::vtsum(fake, home);
    cmd.env("VTSUM_STORE", store);
    cmd
}

use std::path::Path;
use std::process::Command;

/// The export's lines, sorted: two stores hold the same answers when these are equal.
fn export(fake: &fakevt::FakeVt, home: &Path, store: &str) -> Vec<String> {
    let out = success(
        run(fake, home, store)
            .args(["cache", "export"])
            .output()
            .unwrap(),
    );
    let mut lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

fn import(fake: &fakevt::FakeVt, home: &Path, store: &str, file: &Path) -> String {
    let out = success(
        run(fake, home, store)
            .args(["cache", "import"])
            .arg(file)
            .output()
            .unwrap(),
    );
    String::from_utf8_lossy(&out.stderr).to_string()
}

// The fake serves on the test runtime while the processes run: a second worker thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_redis_to_sqlite_keeps_every_answer() {
    let fake = fake(&["k1"]).await;
    let home = tempfile::tempdir().unwrap();
    let first = format!("sqlite:{}", home.path().join("a.db").display());
    let redis = format!(
        "{}?prefix={}",
        vtsum_test_utils::redis_url(),
        vtsum_test_utils::unique_prefix()
    );
    let last = format!("sqlite:{}", home.path().join("b.db").display());
    let mut hashes = fake.corpus().sha256s(12);
    hashes.extend((0..3).map(fakevt::unknown_hash));
    let input = home.path().join("in.txt");
    std::fs::write(&input, hashes.join("\n")).unwrap();
    success(
        run(&fake, home.path(), &first)
            .args(["scan", "-q", "-o"])
            .arg(home.path().join("r.csv"))
            .arg(&input)
            .output()
            .unwrap(),
    );

    let from_first = export(&fake, home.path(), &first);
    assert_eq!(from_first.len(), 15, "12 files and 3 unknown hashes cached");
    let file = home.path().join("first.jsonl");
    std::fs::write(&file, from_first.join("\n")).unwrap();
    let said = import(&fake, home.path(), &redis, &file);
    assert!(said.contains("imported 15"), "{said}");
    let from_redis = export(&fake, home.path(), &redis);
    assert_eq!(from_redis, from_first);

    let file = home.path().join("redis.jsonl");
    std::fs::write(&file, from_redis.join("\n")).unwrap();
    import(&fake, home.path(), &last, &file);
    assert_eq!(export(&fake, home.path(), &last), from_first);
}

// The fake serves on the test runtime while the processes run: a second worker thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virustotal_json_is_imported_and_never_asked_for_again() {
    let fake = fake(&["k1"]).await;
    let home = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", home.path().join("v.db").display());
    let hashes = fake.corpus().sha256s(5);
    // VirusTotal's own answers, as vt-py or curl would have saved them.
    let http = reqwest::Client::new();
    let mut objects = Vec::new();
    for h in &hashes {
        let body: serde_json::Value = http
            .get(format!("{}/api/v3/files/{h}", fake.url()))
            .header("x-apikey", "k1")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        objects.push(body);
    }
    let asked_for_the_files = fake.counters().arrivals.len();
    // Three pretty-printed files in a directory, two objects a line with a bad line between.
    let dir = home.path().join("vt");
    std::fs::create_dir(&dir).unwrap();
    for (i, o) in objects[..3].iter().enumerate() {
        std::fs::write(
            dir.join(format!("{i}.json")),
            serde_json::to_string_pretty(o).unwrap(),
        )
        .unwrap();
    }
    let lines = format!("{}\nnot json at all\n{}\n", objects[3], objects[4]);
    let jsonl = home.path().join("vt.jsonl");
    std::fs::write(&jsonl, lines).unwrap();

    let said = import(&fake, home.path(), &store, &dir);
    assert!(said.contains("imported 3"), "{said}");
    let said = import(&fake, home.path(), &store, &jsonl);
    assert!(said.contains("imported 2"), "{said}");
    assert!(said.contains("1 bad document"), "{said}");
    assert!(
        said.contains("vt.jsonl line 2"),
        "the bad line is named: {said}"
    );

    let input = home.path().join("in.txt");
    std::fs::write(&input, hashes.join("\n")).unwrap();
    let out = success(
        run(&fake, home.path(), &store)
            .args(["scan", "-q", "--format", "csv"])
            .arg(&input)
            .output()
            .unwrap(),
    );
    assert_eq!(
        fake.counters().arrivals.len(),
        asked_for_the_files,
        "every imported hash came from the cache"
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    for h in &hashes {
        assert!(csv.contains(h.as_str()), "{h} in the report");
    }
}
