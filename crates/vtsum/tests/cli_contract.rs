//! What README promises about `vtsum scan`'s flags and output, one test a promise: the
//! API version, cache freshness flags and the expiry of "unknown" answers, the verdict
//! threshold and per-engine results, the format chosen from `-o` or the terminal, colours
//! and `NO_COLOR`, standard input, and where each setting comes from (flag > environment >
//! config file). Real processes against the fake VirusTotal; counts from its counters.

mod support;

use support::{bare, fake, input, json, ok, vtsum};

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

fn verdicts(report: &Value, verdict: &str) -> usize {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verdict"] == verdict)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_version_v2_sends_four_hashes_a_request() {
    let fake = fake(&["k1"]).await;
    let dir = tempfile::tempdir().unwrap();
    let (path, hashes) = input(&fake, dir.path(), 6, 2);
    let report = json(
        &vtsum(&fake, dir.path())
            .args(["scan", "--api-version", "v2", "--format", "json"])
            .arg(&path)
            .output()
            .unwrap(),
    );
    assert_eq!(report["results"].as_array().unwrap().len(), 8);
    let c = fake.counters();
    assert_eq!(c.arrivals.len(), 2, "two requests of four");
    assert!(c.arrivals.iter().all(|a| a.hashes.len() == 4));
    assert_eq!(
        c.requests_by_key["k1"], 8,
        "each hash costs one unit of quota"
    );
    assert_eq!(verdicts(&report, "unknown"), 2);
    assert_eq!(c.requests_by_hash.len(), hashes.len());
}

/// Makes every cached answer in the SQLite store `days` days older.
fn age_cache(db: &Path, days: i64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let secs = days * 86_400;
    conn.execute("UPDATE answers SET fetched_at = fetched_at - ?1", [secs])
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_age_flags_decide_what_is_asked_again_and_unknown_answers_expire_first() {
    let fake = fake(&["k1"]).await;
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = input(&fake, dir.path(), 3, 2);
    let scan = |extra: &[&str]| {
        let out = vtsum(&fake, dir.path())
            .args(["scan", "-q", "--format", "json"])
            .args(extra)
            .arg(&path)
            .output()
            .unwrap();
        json(&out)
    };
    scan(&[]);
    assert_eq!(fake.counters().arrivals.len(), 5);
    // Two days old: past the 1-day default for unknown hashes, within 7 days for files.
    age_cache(&dir.path().join("vtsum.db"), 2);
    let report = scan(&[]);
    assert_eq!(
        fake.counters().arrivals.len(),
        7,
        "only the 2 unknown asked again"
    );
    let cached = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["from_cache"] == true)
        .count();
    assert_eq!(cached, 3);
    // --max-age-unknown 3d keeps the (now fresh) unknowns; --max-age 1d asks the 3 again.
    age_cache(&dir.path().join("vtsum.db"), 2);
    scan(&["--max-age", "1d", "--max-age-unknown", "3d"]);
    assert_eq!(
        fake.counters().arrivals.len(),
        10,
        "the 3 files asked again"
    );
    // --max-age 30d --max-age-unknown 30d: nothing asked.
    age_cache(&dir.path().join("vtsum.db"), 10);
    scan(&["--max-age", "30d", "--max-age-unknown", "30d"]);
    assert_eq!(fake.counters().arrivals.len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threshold_moves_the_malicious_line_and_engines_adds_per_engine_results() {
    let fake = fake(&["k1"]).await;
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = input(&fake, dir.path(), 40, 0);
    let run = |extra: &[&str]| {
        json(
            &vtsum(&fake, dir.path())
                .args(["scan", "-q", "--format", "json"])
                .args(extra)
                .arg(&path)
                .output()
                .unwrap(),
        )
    };
    let default = run(&[]);
    let strict = run(&["--threshold", "1000"]);
    let loose = run(&["--threshold", "1"]);
    let malicious = |r: &Value| verdicts(r, "malicious");
    assert!(malicious(&default) > 0, "the corpus has malicious files");
    assert_eq!(malicious(&strict), 0, "nothing reaches 1000 engines");
    assert!(malicious(&loose) >= malicious(&default));
    assert!(
        verdicts(&strict, "suspicious") >= malicious(&default),
        "below the threshold, detections are suspicious"
    );
    assert!(default["results"][0].get("engines").is_none());
    let engines = run(&["--engines"]);
    let with = engines["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["engines"].as_object().is_some_and(|e| !e.is_empty()))
        .count();
    assert!(with > 0, "per-engine results for scanned files");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_format_follows_o_s_extension_else_csv_when_not_a_terminal_and_stdin_works() {
    let fake = fake(&["k1"]).await;
    let dir = tempfile::tempdir().unwrap();
    let (path, hashes) = input(&fake, dir.path(), 4, 1);
    for (ext, check) in [
        ("json", "{"),
        ("jsonl", "{\"input\""),
        ("html", "<!DOCTYPE html>"),
        ("csv", "input,"),
    ] {
        let out_path = dir.path().join(format!("report.{ext}"));
        ok(&vtsum(&fake, dir.path())
            .args(["scan", "-q", "-o"])
            .arg(&out_path)
            .arg(&path)
            .output()
            .unwrap());
        let text = std::fs::read_to_string(&out_path).unwrap();
        assert!(text.trim_start().starts_with(check), "{ext}: {text:.80}");
    }
    // Standard output is a pipe here: CSV, read from standard input with `-`.
    let mut child = vtsum(&fake, dir.path())
        .args(["scan", "-q", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let text = format!("from stdin: {}\n{}", hashes[0], hashes[1..].join(" "));
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let csv = ok(&child.wait_with_output().unwrap());
    assert!(csv.starts_with("input,"), "{csv:.80}");
    assert_eq!(csv.lines().count(), 1 + hashes.len(), "{csv}");
}

/// Runs a command in a pseudo-terminal (`script`), so vtsum sees a terminal on stdout.
fn in_terminal(cmd: &Command) -> String {
    let mut line = cmd.get_program().to_string_lossy().to_string();
    for a in cmd.get_args() {
        line.push_str(&format!(" '{}'", a.to_string_lossy()));
    }
    let mut script = Command::new("script");
    script.args(["-qec", &line, "/dev/null"]).env_clear();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            script.env(k, v);
        }
    }
    let out = script.output().expect("`script` (util-linux) runs");
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_gets_a_coloured_table_unless_no_color_is_set() {
    let fake = fake(&["k1"]).await;
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = input(&fake, dir.path(), 6, 1);
    let mut cmd = vtsum(&fake, dir.path());
    cmd.args(["scan", "-q"]).arg(&path);
    let coloured = in_terminal(&cmd);
    assert!(
        coloured.contains("VERDICT") || coloured.contains("verdict"),
        "a table: {coloured:.300}"
    );
    assert!(
        coloured.contains("\u{1b}["),
        "coloured on a terminal: {coloured:.300}"
    );
    cmd.env("NO_COLOR", "1");
    let plain = in_terminal(&cmd);
    assert!(
        plain.contains("VERDICT") || plain.contains("verdict"),
        "{plain:.300}"
    );
    assert!(
        !plain.contains("\u{1b}[3"),
        "no colour with NO_COLOR: {plain:.300}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_setting_comes_from_the_flag_else_the_environment_else_the_config_file() {
    let fake = fake(&["flag-key", "env-key", "file-key"]).await;
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = input(&fake, dir.path(), 6, 0);
    let db = |name: &str| dir.path().join(name);
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "api_keys = [\"file-key\"]\napi_url = \"{}\"\nrate = \"100/100ms\"\nstore = \"sqlite:{}\"\nthreshold = 1000\n",
            fake.url(),
            db("file.db").display()
        ),
    )
    .unwrap();
    let run = |cmd: &mut Command, flags: &[&str]| {
        let out = cmd
            .args(["--config"])
            .arg(&config)
            .args(["scan", "-q", "--refresh", "--format", "json"])
            .args(flags)
            .arg(&path)
            .output()
            .unwrap();
        json(&out)
    };
    // The file alone: its key, URL, rate, store and threshold.
    let report = run(&mut bare(dir.path()), &[]);
    assert_eq!(
        verdicts(&report, "malicious"),
        0,
        "threshold 1000 from the file"
    );
    assert_eq!(fake.counters().requests_by_key.get("file-key"), Some(&6));
    assert!(db("file.db").exists());
    // The environment wins over the file, field by field.
    let env_store = format!("sqlite:{}", db("env.db").display());
    let report = run(
        bare(dir.path())
            .env("VT_API_KEY", "env-key")
            .env("VTSUM_STORE", &env_store),
        &[],
    );
    assert_eq!(fake.counters().requests_by_key.get("env-key"), Some(&6));
    assert!(db("env.db").exists());
    assert_eq!(
        verdicts(&report, "malicious"),
        0,
        "threshold still from the file"
    );
    // Flags win over both.
    let flag_store = format!("sqlite:{}", db("flag.db").display());
    let report = run(
        bare(dir.path())
            .env("VT_API_KEY", "env-key")
            .env("VTSUM_STORE", &env_store)
            .args(["--store", &flag_store]),
        &["--api-key", "flag-key", "--threshold", "1"],
    );
    let c = fake.counters();
    assert_eq!(c.requests_by_key.get("flag-key"), Some(&6));
    assert_eq!(
        c.requests_by_key.get("env-key"),
        Some(&6),
        "env key unused this time"
    );
    assert!(db("flag.db").exists());
    assert!(
        verdicts(&report, "malicious") > 0,
        "threshold 1 from the flag"
    );
}
