//! `vtsum scan --store none` keeps no answer in memory: its peak resident size must grow
//! by far less per row than an answer takes (the memory store held each twice, about
//! 40 KB a row), measured on real processes scanning 3,000 and then 30,000 hashes the fake
//! VirusTotal answers. No timing. The report is the one a SQLite store gives, in input
//! order although the answers arrive in any order.

mod support;

use std::process::Stdio;
use std::time::Duration;

use support::{peak_rss_kib, success, vtsum};

const SMALL: usize = 3_000;
const LARGE: usize = 30_000;

/// The first field of each CSV record (the input hash): line breaks inside a quoted
/// field (a hostile file name) do not start a record.
fn inputs(csv: &[u8]) -> Vec<String> {
    let (mut quoted, mut starts) = (false, vec![0]);
    for (i, &b) in csv.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted && i + 1 < csv.len() => starts.push(i + 1),
            _ => {}
        }
    }
    starts
        .into_iter()
        .skip(1)
        .map(|s| {
            let field = &csv[s..];
            let end = field.iter().position(|&b| b == b',').unwrap_or(field.len());
            String::from_utf8_lossy(&field[..end]).into_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_without_a_store_holds_no_answers() {
    let windows = [(1_000_000, Duration::from_secs(1))];
    let fake = fakevt::spawn(fakevt::Config {
        corpus_size: LARGE,
        ..vtsum_test_utils::fake_config(&["k1"], &windows, None)
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let scan = |n: usize, store: &str| {
        let input = dir.path().join(format!("in-{n}.txt"));
        let hashes = fake.corpus().sha256s(n);
        std::fs::write(&input, hashes.join("\n")).unwrap();
        let out = dir.path().join(format!("out-{n}-{}.csv", store.len()));
        let mut cmd = vtsum(&fake, dir.path());
        cmd.env("VT_RATE", "1000000/1s")
            .env("VTSUM_STORE", store)
            .args(["scan", "-q", "--concurrency", "16", "--format", "csv", "-o"])
            .arg(&out)
            .arg(&input)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let before = fake.counters().arrivals.len();
        let mut child = cmd.spawn().unwrap();
        let peak = peak_rss_kib(&mut child);
        success(child.wait_with_output().unwrap());
        assert_eq!(
            fake.counters().arrivals.len() - before,
            n,
            "each hash asked once"
        );
        let csv = std::fs::read(&out).unwrap();
        assert!(inputs(&csv) == hashes, "a row per hash, in input order");
        (peak, csv)
    };
    let (small, none_csv) = tokio::task::block_in_place(|| scan(SMALL, "none"));
    let sqlite = format!("sqlite:{}", dir.path().join("vtsum.db").display());
    let (_, sqlite_csv) = tokio::task::block_in_place(|| scan(SMALL, &sqlite));
    assert!(
        none_csv == sqlite_csv,
        "--store none wrote another report than a SQLite store"
    );
    let (large, _) = tokio::task::block_in_place(|| scan(LARGE, "none"));
    assert!(small > 0 && large > 0, "the peaks were read");
    let per_row = large.saturating_sub(small) as f64 / (LARGE - SMALL) as f64;
    eprintln!("peak {small} KiB at {SMALL} rows, {large} KiB at {LARGE}: {per_row:.2} KiB a row");
    assert!(
        per_row < 4.0,
        "--store none grows {per_row:.2} KiB a row ({small} KiB at {SMALL} rows, {large} KiB at {LARGE})"
    );
}
