//! End-to-end tests of the `vtsum` binary: real processes, a real SQLite file, and the fake
//! VirusTotal over loopback (run inside the test, so its counters can be read).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;
use vtsum_test_utils::report_inputs;

/// A fake VirusTotal in this test process.
async fn fake(
    keys: &[&str],
    windows: Vec<(u32, std::time::Duration)>,
    daily: Option<u32>,
) -> fakevt::FakeVt {
    fakevt::spawn(fakevt::Config {
        keys: keys.iter().map(|k| k.to_string()).collect(),
        limits: fakevt::Limits { windows, daily },
        seed: 11,
        corpus_size: 120,
        addr: ([127, 0, 0, 1], 0).into(),
    })
    .await
    .unwrap()
}

fn fast() -> Vec<(u32, std::time::Duration)> {
    vec![(50, std::time::Duration::from_millis(100))]
}

/// `vtsum` with a clean environment pointing at `fake` and a store in `dir`.
fn vtsum(fake: &fakevt::FakeVt, keys: &str, rate: &str, dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("vtsum").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("VT_API_URL", fake.url())
        .env("VT_API_KEY", keys)
        .env("VT_RATE", rate)
        .env("VTSUM_RETRY_BACKOFF", "10ms")
        .env(
            "VTSUM_STORE",
            format!("sqlite:{}", dir.join("vtsum.db").display()),
        );
    cmd
}

/// Writes a text with `known` corpus files (by sha256, some upper case), `unknown` unknown
/// hashes and noise lines.
fn input_file(
    fake: &fakevt::FakeVt,
    dir: &Path,
    known: usize,
    unknown: u64,
) -> (PathBuf, Vec<String>) {
    let mut text = String::from("\u{feff}report from the EDR\r\n\r\n");
    let mut hashes = Vec::new();
    for (i, f) in fake.corpus().files().iter().take(known).enumerate() {
        let h = if i % 3 == 0 {
            f.sha256.to_uppercase()
        } else {
            f.sha256.clone()
        };
        text.push_str(&format!("2024-01-01 alert file={h} host=pc{i}\r\n"));
        hashes.push(f.sha256.clone());
    }
    for i in 0..unknown {
        let h = fakevt::unknown_hash(i);
        text.push_str(&format!("{h},seen\n"));
        hashes.push(h);
    }
    text.push_str("no hash on this line\nnor here\n");
    let path = dir.join("hashes.txt");
    std::fs::write(&path, text).unwrap();
    (path, hashes)
}

fn stdout_json(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_report_has_one_row_per_hash_and_a_summary() {
    let fake = fake(&["k1"], fast(), None).await;
    let dir = tempfile::tempdir().unwrap();
    let (path, hashes) = input_file(&fake, dir.path(), 8, 2);
    let out = vtsum(&fake, "k1", "50/100ms", dir.path())
        .args(["scan", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    let v = stdout_json(&out);
    assert_eq!(report_inputs(&v), hashes, "input order kept");
    assert_eq!(v["summary"]["lines_without_hash"], 3);
    assert_eq!(v["summary"]["verdicts"]["unknown"], 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("10 hashes"), "{stderr}");
    assert!(stderr.contains("3 lines without a hash"), "{stderr}");
    // The second run answers everything from the cache.
    let again = vtsum(&fake, "k1", "50/100ms", dir.path())
        .args(["scan", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    let v2 = stdout_json(&again);
    assert!(v2["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["from_cache"] == true));
    assert_eq!(fake.counters().arrivals.len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_carries_the_same_rows() {
    let fake = fake(&["k1"], fast(), None).await;
    let dir = tempfile::tempdir().unwrap();
    let (path, hashes) = input_file(&fake, dir.path(), 12, 2);
    let run = |format: &str| {
        let out = vtsum(&fake, "k1", "50/100ms", dir.path())
            .args(["scan", "--color", "never", "--format", format])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let json: Value = serde_json::from_str(&run("json")).unwrap();
    let verdicts: Vec<String> = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["verdict"].as_str().unwrap().to_string())
        .collect();
    let jsonl: Vec<Value> = run("jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut jsonl_pairs: Vec<(String, String)> = jsonl
        .iter()
        .map(|r| {
            (
                r["input"].as_str().unwrap().to_string(),
                r["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut json_pairs: Vec<(String, String)> = hashes
        .iter()
        .cloned()
        .zip(verdicts.iter().cloned())
        .collect();
    jsonl_pairs.sort();
    json_pairs.sort();
    assert_eq!(jsonl_pairs, json_pairs);
    let csv = run("csv");
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(
        lines[0].starts_with("input,md5,sha1,sha256,status,verdict"),
        "{}",
        lines[0]
    );
    for (h, v) in &json_pairs {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("{h},")) && l.contains(&format!(",{v},"))),
            "csv row for {h} {v}"
        );
    }
    let html = run("html");
    let table = run("table");
    for h in &hashes {
        assert!(html.contains(h.as_str()), "html has {h}");
        assert!(table.contains(&h[..16]), "table has {h}");
    }
    assert!(!table.contains('\u{1b}'), "no colour with --color never");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_for_fail_on_and_rejected_keys() {
    let fake = fake(&["k1"], fast(), None).await;
    let dir = tempfile::tempdir().unwrap();
    let malicious = fake
        .corpus()
        .files()
        .iter()
        .find(|f| f.kind == fakevt::FileKind::Malicious)
        .unwrap()
        .sha256
        .clone();
    let path = dir.path().join("one.txt");
    std::fs::write(&path, &malicious).unwrap();
    let out = vtsum(&fake, "k1", "50/100ms", dir.path())
        .args(["scan", "-q", "--format", "csv", "--fail-on", "malicious"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty(), "-q is quiet");

    let out = vtsum(&fake, "not-a-valid-key", "50/100ms", dir.path())
        .args(["scan", "--format", "csv", "--refresh"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let id = vtsum_core::ApiKey::new("not-a-valid-key").id().to_string();
    assert!(stderr.contains(&id), "{stderr}");
    assert!(
        !stderr.contains("not-a-valid-key"),
        "the key itself is never printed: {stderr}"
    );

    let out = vtsum(&fake, "", "50/100ms", dir.path())
        .args(["scan", "--format", "csv"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("VT_API_KEY"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_day_exits_3_keeps_results_and_says_when() {
    let fake = fake(&["k1"], fast(), Some(4)).await;
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = input_file(&fake, dir.path(), 6, 0);
    let out = vtsum(&fake, "k1", "50/100ms,4/day", dir.path())
        .args(["scan", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("UTC") && stderr.contains("local"),
        "{stderr}"
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["results"].as_array().unwrap().len(), 4);
    assert_eq!(v["summary"]["pending"], 2);
    assert!(v["summary"]["resumes_at"]
        .as_str()
        .unwrap()
        .ends_with("T00:00:00Z"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_into_a_closed_pipe_exits_quietly() {
    // A slow fake (4 a second, 20 hashes: 5 s of work), so the writer meets the closed
    // pipe mid-run rather than filling the pipe's buffer and finishing.
    let fake = fake(&["k1"], vec![(4, std::time::Duration::from_secs(1))], None).await;
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = input_file(&fake, dir.path(), 20, 0);
    let mut child = vtsum(&fake, "k1", "4/1s", dir.path())
        .args(["scan", "--format", "jsonl"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    // Rows are written as answers arrive, not at the end.
    let asked = fake.counters().arrivals.len();
    assert!(first.starts_with("{\"input\""), "{first}");
    assert!(
        asked < 20,
        "the first row came before the last answer ({asked} asked)"
    );
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        fake.counters().arrivals.len() < 20,
        "the closed pipe stopped the scan: {}",
        fake.counters().arrivals.len()
    );
}

#[test]
fn help_never_shows_key_values_and_completions_and_man_work() {
    let out = Command::cargo_bin("vtsum")
        .unwrap()
        .env("VT_API_KEY", "sekrit-value-123")
        .args(["scan", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("--api-key") && help.contains("Examples"),
        "{help}"
    );
    assert!(!help.contains("sekrit-value-123"));
    let bash = Command::cargo_bin("vtsum")
        .unwrap()
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bash.stdout).contains("vtsum"));
    let man = Command::cargo_bin("vtsum")
        .unwrap()
        .arg("man")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&man.stdout).contains(".TH"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_commands_and_quota_show_ids_not_keys() {
    let fake = fake(&["the-key"], fast(), Some(500)).await;
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = input_file(&fake, dir.path(), 3, 1);
    let out = vtsum(&fake, "the-key", "50/100ms,500/day", dir.path())
        .args(["scan", "-q", "--format", "csv"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stats = vtsum(&fake, "the-key", "50/100ms,500/day", dir.path())
        .args(["cache", "stats"])
        .output()
        .unwrap();
    let stats = String::from_utf8_lossy(&stats.stdout);
    assert!(
        stats.contains("found:   3") && stats.contains("unknown: 1"),
        "{stats}"
    );
    let export = vtsum(&fake, "the-key", "50/100ms,500/day", dir.path())
        .args(["cache", "export"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&export.stdout).lines().count(), 4);
    let quota = vtsum(&fake, "the-key", "50/100ms,500/day", dir.path())
        .args(["quota", "--json"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&quota.stdout);
    assert!(!text.contains("the-key"), "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v[0]["ledger_today"], 4);
    assert_eq!(v[0]["daily"][0], 4, "VirusTotal's own count: {text}");
    let clear = vtsum(&fake, "the-key", "50/100ms,500/day", dir.path())
        .args(["cache", "clear"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&clear.stdout).contains("removed 4"));
}

/// `--store redis://…`: a second process (on another host, as far as vtsum knows) finds
/// every answer of the first in the shared cache and spends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_on_one_redis_share_the_cache() {
    let fake = fake(&["rk1"], fast(), None).await;
    let dir = tempfile::tempdir().unwrap();
    let (input, hashes) = input_file(&fake, dir.path(), 6, 2);
    let base =
        std::env::var("VTSUM_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let store = format!(
        "{base}?prefix=vtsum-cli-test:{}:{nanos}:",
        std::process::id()
    );
    let scan = || {
        let mut cmd = vtsum(&fake, "rk1", "50/100ms", dir.path());
        cmd.env("VTSUM_STORE", &store)
            .args(["scan", "--format", "json"])
            .arg(&input);
        cmd.output().unwrap()
    };
    let first = scan();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let asked = fake.counters().arrivals.len();
    assert_eq!(asked, hashes.len());
    let second = scan();
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let v: Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(
        v["summary"]["cache_hits"].as_u64(),
        Some(hashes.len() as u64)
    );
    assert_eq!(fake.counters().arrivals.len(), asked, "nothing asked twice");
    assert!(
        !String::from_utf8_lossy(&second.stderr).contains("rk1"),
        "the key is never printed"
    );
}
