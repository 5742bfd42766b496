//! The `vtsum` binary under hostile input and broken outputs (issue 11): absurd durations
//! and rates, config files with errors next to keys, unwritable reports and stderr, closed
//! pipes, file names that lie about their format. Real processes, the fake VirusTotal over
//! loopback (its counters say whether a request was sent).

use std::path::Path;
use std::process::{Command, Output, Stdio};

use assert_cmd::cargo::CommandCargoExt;

async fn fake() -> fakevt::FakeVt {
    fakevt::spawn(fakevt::Config {
        keys: vec!["k1".into()],
        limits: fakevt::Limits {
            windows: vec![(50, std::time::Duration::from_millis(100))],
            daily: None,
        },
        seed: 11,
        // Hostile names (fakevt::HOSTILE_NAMES) sit at 7, 17, ... 77.
        corpus_size: 80,
        addr: ([127, 0, 0, 1], 0).into(),
    })
    .await
    .unwrap()
}

/// `vtsum` with a clean environment, a store in `dir` and the fake's URL.
fn vtsum(url: &str, dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("vtsum").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("VT_API_URL", url)
        .env("VT_API_KEY", "k1")
        .env("VT_RATE", "50/100ms")
        .env(
            "VTSUM_STORE",
            format!("sqlite:{}", dir.join("vtsum.db").display()),
        );
    cmd
}

/// A file of `n` hashes the fake does not know.
fn hashes(dir: &Path, n: u64) -> std::path::PathBuf {
    let text: String = (0..n).map(|i| fakevt::unknown_hash(i) + "\n").collect();
    let path = dir.join("hashes.txt");
    std::fs::write(&path, text).unwrap();
    path
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Extra environment variables of a case.
type Env = Vec<(&'static str, String)>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_values_exit_2_with_a_message_and_never_panic() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let input = hashes(dir.path(), 2);
    let huge = "99999999999999999999d";
    let config = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let cases: Vec<(Vec<String>, Env)> = vec![
        (vec!["--max-age".into(), huge.into()], vec![]),
        (vec!["--max-age-unknown".into(), huge.into()], vec![]),
        (
            vec!["--rate".into(), "4/99999999999999999999d".into()],
            vec![],
        ),
        (
            vec!["--rate".into(), "4/18446744073709551615s".into()],
            vec![],
        ),
        (vec![], vec![("VT_RATE", "4/18446744073709551615s".into())]),
        (
            vec!["--demo".into(), "--rate".into(), format!("4/{huge}")],
            vec![],
        ),
        (
            vec!["--demo".into(), "--rate".into(), "nonsense".into()],
            vec![],
        ),
        (vec!["--threshold".into(), "0".into()], vec![]),
        (vec!["--concurrency".into(), "100000".into()], vec![]),
        (vec!["--api-url".into(), "http://".into()], vec![]),
        (vec!["--store".into(), "bogus:x".into()], vec![]),
        (vec!["-o".into(), "report.pdf".into()], vec![]),
        (
            vec![
                "--config".into(),
                config("t.toml", &format!("timeout = \"{huge}\"\n")),
            ],
            vec![],
        ),
        (
            vec!["--config".into(), config("z.toml", "timeout = \"0s\"\n")],
            vec![],
        ),
        (
            vec![
                "--config".into(),
                config("b.toml", &format!("retry_backoff = \"{huge}\"\n")),
            ],
            vec![],
        ),
        (vec![], vec![("VTSUM_RETRY_BACKOFF", huge.into())]),
        (
            vec![
                "--config".into(),
                config("r.toml", "retries = 4000000000\n"),
            ],
            vec![],
        ),
    ];
    for (args, env) in cases {
        let mut cmd = vtsum(&fake.url(), dir.path());
        cmd.current_dir(dir.path())
            .arg("scan")
            .args(&args)
            .arg(&input);
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {err}");
        assert!(
            err.starts_with("vtsum: ") && !err.contains("panicked"),
            "{err}"
        );
    }
    assert!(!dir.path().join("report.pdf").exists());
    // `serve` checks its own durations the same way, before it listens.
    let out = vtsum(&fake.url(), dir.path())
        .args(["serve", "--bind", "127.0.0.1:0", "--store", "none"])
        .args(["--claim-after", huge])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(fake.counters().arrivals.len(), 0, "nothing was asked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_error_next_to_a_key_never_shows_the_key() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let input = hashes(dir.path(), 1);
    let key = "5f2c8e1d9a7b4c3e6f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6";
    for text in [
        format!("rate = \"4/min\"\napi_keys = [\"{key}\" \"second\"]\n"),
        format!("api_keys = [\"{key}\"\nrate = \"4/min\"\n"),
        format!("api_keys = \"{key}\"\n"),
    ] {
        let path = dir.path().join("config.toml");
        std::fs::write(&path, &text).unwrap();
        let out = vtsum(&fake.url(), dir.path())
            .arg("--config")
            .arg(&path)
            .arg("scan")
            .arg(&input)
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("line "), "the line is named: {err}");
        assert!(!err.contains(&key[..16]), "the key leaked: {err}");
    }
    // An ordinary mistake still shows its line.
    std::fs::write(dir.path().join("c.toml"), "rate = 4/min\n").unwrap();
    let out = vtsum(&fake.url(), dir.path())
        .args(["--config", "c.toml", "scan"])
        .current_dir(dir.path())
        .arg(&input)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(
        err.contains("rate = 4/min") && err.contains("line 1"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_that_cannot_be_written_stops_the_scan_at_once() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let input = hashes(dir.path(), 40);
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = vtsum(&fake.url(), dir.path())
        .args(["scan", "--format", "jsonl", "--concurrency", "1"])
        .arg(&input)
        .stdout(full)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.matches("cannot write the report").count(), 1, "{err}");
    let asked = fake.counters().arrivals.len();
    assert!(
        (1..=2).contains(&asked),
        "{asked} requests after the failed write"
    );
    // What was answered is in the store: the next run asks only for the rest.
    let again = vtsum(&fake.url(), dir.path())
        .args(["scan", "--format", "jsonl"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(String::from_utf8_lossy(&again.stdout).lines().count(), 40);
    assert_eq!(fake.counters().arrivals.len(), 40, "no hash asked twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_stderr_is_no_reason_to_panic() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let input = hashes(dir.path(), 3);
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    let out = vtsum(&fake.url(), dir.path())
        .args(["-vv", "scan", "--format", "json"])
        .arg(&input)
        .stderr(full())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["results"].as_array().unwrap().len(), 3);
    let bad = vtsum(&fake.url(), dir.path())
        .args(["scan", "--max-age", "x"])
        .arg(&input)
        .stderr(full())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn a_closed_pipe_ends_listing_and_printing_quietly() {
    for args in [
        vec!["fakevt", "--list", "--corpus-size", "5000"],
        vec!["man"],
        vec!["completions", "bash"],
    ] {
        let mut child = Command::cargo_bin("vtsum")
            .unwrap()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read nothing: the reader is gone before vtsum writes (like `| head -0`).
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_to_a_file_have_no_colour_codes_and_counts_read_well() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let input = hashes(dir.path(), 1);
    let out = vtsum(&fake.url(), dir.path())
        .args(["-vvv", "scan", "--format", "csv"])
        .arg(&input)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("DEBUG") || err.contains("TRACE"),
        "some log lines: {err}"
    );
    assert!(
        !err.contains('\u{1b}'),
        "colour codes in a log file: {err:?}"
    );
    assert!(err.contains("1 hash: 1 unknown"), "{err}");
}

#[test]
fn store_help_names_every_kind_of_store_on_every_command() {
    for sub in [
        &["scan"][..],
        &["quota"],
        &["cache", "stats"],
        &["serve"],
        &["worker"],
    ] {
        let out = Command::cargo_bin("vtsum")
            .unwrap()
            .args(sub)
            .arg("--help")
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        for kind in ["sqlite:", "redis://", "rediss://", "none"] {
            assert!(help.contains(kind), "{sub:?} --help lacks {kind}: {help}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_carries_no_terminal_escapes_from_virustotal_names() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let text: String = fake
        .corpus()
        .files()
        .iter()
        .skip(7)
        .step_by(10)
        .map(|f| f.sha256.clone() + "\n")
        .collect();
    let input = dir.path().join("known.txt");
    std::fs::write(&input, text).unwrap();
    let out = vtsum(&fake.url(), dir.path())
        .args(["scan", "--format", "csv"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(
        csv.contains("\u{fffd}[31mred"),
        "the hostile name is there: {csv}"
    );
    assert!(
        !csv.chars().any(|c| c.is_control() && !"\t\r\n".contains(c)),
        "a control character reached the CSV: {csv:?}"
    );
    assert!(csv.contains("'=HYPERLINK"), "formulas stay defused");
}

/// A file name is the user's, but it may come from an attacker (an attachment's name): the
/// message naming a file that cannot be opened carries no terminal escape of it.
#[test]
fn a_file_name_with_terminal_escapes_is_shown_without_them() {
    let dir = tempfile::tempdir().unwrap();
    let name = dir
        .path()
        .join("evil\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m.txt");
    let out = vtsum("http://127.0.0.1:9", dir.path())
        .arg("scan")
        .arg(&name)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("evil"), "the file is still named: {err}");
    assert!(
        !err.contains(['\u{1b}', '\u{7}', '\u{9b}']),
        "escapes reached the terminal: {err:?}"
    );
}
