//! A scan is answered from the cache first: what the cache holds is read from it for the
//! report and never copied into the scan's job, which holds the misses alone; the rows
//! still come in input order, cached and fetched ones interleaved, in the streamed CSV and
//! in the formats written at the end. An interrupted scan resumes its misses and asks
//! nothing twice. Real processes against the fake VirusTotal, and the store's SQLite file
//! read directly.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{success, vtsum};

/// The input column of a CSV report, in order (the fake's names hold no line breaks
/// before a hash; the header is skipped).
fn csv_inputs(csv: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(csv)
        .lines()
        .skip(1)
        .filter_map(|line| {
            let first = line.split(',').next()?;
            (first.len() == 64 && first.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| first.to_string())
        })
        .collect()
}

fn count(db: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// `first` interleaved with `new`: one new hash after every second old one, the old ones
/// reversed (so neither the cache's order nor the first scan's is the input's).
fn interleave(first: &[String], new: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut new = new.iter();
    for (i, old) in first.iter().rev().enumerate() {
        out.push(old.clone());
        if i % 2 == 1 {
            out.extend(new.next().cloned());
        }
    }
    out.extend(new.cloned());
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_rows_are_read_from_the_cache_and_only_the_misses_become_the_job() {
    let windows = [(100_000, Duration::from_secs(1))];
    let fake = fakevt::spawn(vtsum_test_utils::fake_config(&["k1"], &windows, None))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vtsum.db");
    let known = fake.corpus().sha256s(300);
    let unknown =
        |from: u64, n: u64| -> Vec<String> { (from..from + n).map(fakevt::unknown_hash).collect() };
    // 5,000 cached items: windows of the cache's batched read on both sides of a miss.
    let mut first: Vec<String> = known[..200].to_vec();
    first.extend(unknown(0, 4_800));
    let scan = |name: &str, hashes: &[String], format: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, hashes.join("\n")).unwrap();
        let mut cmd = vtsum(&fake, dir.path());
        cmd.env("VT_RATE", "100000/1s")
            .args(["scan", "--concurrency", "8", "--format", format])
            .arg(&path);
        success(tokio::task::block_in_place(|| cmd.output()).unwrap())
    };
    success_count(&scan("first.txt", &first, "jsonl"), first.len());
    assert_eq!(fake.counters().arrivals.len(), first.len());
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM job_results"),
        first.len() as i64
    );

    // A second list: the first one's hashes and new ones, interleaved, as CSV (written
    // while the cache is read, the rest after the misses' run).
    let mut new: Vec<String> = known[200..300].to_vec();
    new.extend(unknown(10_000, 50));
    let second = interleave(&first, &new);
    let out = scan("second.txt", &second, "csv");
    assert_eq!(csv_inputs(&out.stdout), second, "rows in input order");
    assert_eq!(
        fake.counters().arrivals.len(),
        first.len() + new.len(),
        "only the new hashes are asked"
    );
    // The job holds the misses, and says how many the cache answered.
    let job = "(SELECT id FROM jobs WHERE spec LIKE '%second.txt%')";
    assert_eq!(
        count(
            &db,
            &format!("SELECT COUNT(*) FROM job_items WHERE job_id = {job}")
        ),
        new.len() as i64
    );
    assert_eq!(
        count(
            &db,
            &format!("SELECT COUNT(*) FROM job_results WHERE job_id = {job}")
        ),
        new.len() as i64
    );
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT json_extract(spec, '$.answered_from_cache') FROM jobs WHERE id = {job}"
            )
        ),
        first.len() as i64
    );

    // The same list again as JSON (written whole at the end): every row from the cache,
    // in input order, and no job kept at all (the second scan's finished job is removed,
    // as a finished scan of the same input always is).
    let out = scan("third.txt", &second, "json");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = json["results"].as_array().unwrap();
    let inputs: Vec<&str> = rows.iter().map(|r| r["input"].as_str().unwrap()).collect();
    assert_eq!(inputs, second);
    assert!(rows.iter().all(|r| r["from_cache"] == true));
    assert_eq!(json["summary"]["cache_hits"], second.len());
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM job_results"),
        first.len() as i64
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM jobs WHERE spec LIKE '%third.txt%'"
        ),
        0
    );
    assert_eq!(fake.counters().arrivals.len(), first.len() + new.len());
}

fn success_count(out: &std::process::Output, n: usize) {
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_scan_resumes_its_misses_and_writes_every_row() {
    let fake = support::fake(&["k1", "k2"]).await;
    let dir = tempfile::tempdir().unwrap();
    let known = fake.corpus().sha256s(30);
    let scan = |name: &str, hashes: &[String], key: &str, rate: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, hashes.join("\n")).unwrap();
        let mut cmd = vtsum(&fake, dir.path());
        cmd.env("VT_API_KEY", key)
            .env("VT_RATE", rate)
            .args(["scan", "--concurrency", "1", "--format", "json"])
            .arg(&path);
        tokio::task::block_in_place(|| cmd.output()).unwrap()
    };
    success(scan("first.txt", &known[..20], "k1", "100/100ms"));
    let asked = fake.counters().arrivals.len();
    let second = interleave(&known[..20], &known[20..30]);
    // Another key, with 6 a day.
    let out = scan("second.txt", &second, "k2", "100/100ms,6/day");
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["pending"], 4);
    assert_eq!(json["results"].as_array().unwrap().len(), 26);
    assert_eq!(fake.counters().arrivals.len(), asked + 6);

    // Resumed without the daily limit: the 4 left are asked, nothing else.
    let out = success(scan("second.txt", &second, "k2", "100/100ms"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("resuming an interrupted scan: 26 of 30"),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = json["results"].as_array().unwrap();
    let inputs: Vec<&str> = rows.iter().map(|r| r["input"].as_str().unwrap()).collect();
    assert_eq!(inputs, second);
    assert_eq!(json["summary"]["pending"], 0);
    assert_eq!(fake.counters().arrivals.len(), asked + 10);
}
