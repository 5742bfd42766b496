//! Reports are written with bounded memory: the process's peak resident size is measured
//! around each render (Linux's `/proc/self/clear_refs` resets the peak), and every format
//! must stay far below what holding the rows takes. Rows come from a source that builds
//! each one as it is asked for, and from a job in a store read through `JobRows`, a page
//! at a time. No timing: a renderer that gathered its rows (or its cells, or a workbook's
//! worth of cells) fails on bytes. (The workspace forbids `unsafe`, so no counting
//! allocator.)
//!
//! The peak is the whole process's, and memory a process freed hides its later peaks, so
//! each measurement runs in a process of its own: the test runs its own binary once per
//! case, with the case in an environment variable.

use std::io;

use vtsum_core::engine::JobRows;
use vtsum_core::render::{render_rows, Format, RenderOptions, RowSource, Visit};
use vtsum_core::report::{FileReport, ItemResult, Lookup, Row, RowOptions, Stats, Summary};
use vtsum_core::store::{JobId, JobSpec, Store};
use vtsum_core::Hash;

/// A line of `/proc/self/status`, in bytes.
fn status_bytes(field: &str) -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    let kb: i64 = line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .expect("a number of kB");
    kb * 1024
}

/// How far the resident size rose above its level before `f`, at `f`'s peak.
fn peak_of(f: impl FnOnce()) -> i64 {
    std::fs::write("/proc/self/clear_refs", "5").expect("the peak can be reset");
    let before = status_bytes("VmRSS:");
    f();
    status_bytes("VmHWM:") - before
}

const ROWS: usize = 50_000;

fn hash(i: usize) -> Hash {
    Hash::parse(&format!("{i:064x}")).unwrap()
}

/// A found file's answer, with names and tags like VirusTotal's.
fn lookup(i: usize) -> Lookup {
    Lookup::Found(Box::new(FileReport {
        sha256: format!("{i:064x}"),
        md5: Some(format!("{i:032x}")),
        sha1: Some(format!("{i:040x}")),
        stats: Stats {
            malicious: (i % 7) as u32,
            undetected: 60,
            ..Stats::default()
        },
        analysed: true,
        threat_label: Some(format!("trojan.family{}", i % 13)),
        type_description: Some("Win32 EXE".into()),
        size: Some(i as u64 * 1000),
        meaningful_name: Some(format!("=setup-{i}.exe")),
        names: (0..5).map(|n| format!("name-{i}-{n}.exe")).collect(),
        tags: vec!["peexe".into(), "signed".into()],
        first_seen: Some(1_600_000_000 + i as i64),
        last_seen: Some(1_700_000_000),
        last_analysis: Some(1_700_000_000),
        reputation: Some(-3),
        ..FileReport::default()
    }))
}

/// Rows made as they are asked for and dropped once visited, as a store's are.
struct Made;

impl RowSource for Made {
    fn each(&self, visit: &mut Visit<'_>) -> vtsum_core::Result<()> {
        for i in 0..ROWS {
            let row = Row::from_lookup(hash(i), &lookup(i), RowOptions::default());
            visit(&row).map_err(|e| vtsum_core::Error::io("writing", e))?;
        }
        Ok(())
    }
}

/// The memory of rendering `rows` in `format` to nowhere.
fn render_peak(rows: &dyn RowSource, format: Format) -> i64 {
    let opts = RenderOptions::default();
    peak_of(|| {
        let mut summary = Summary {
            total: ROWS,
            ..Summary::default()
        };
        render_rows(&mut io::sink(), format, rows, &mut summary, &opts).unwrap();
        assert_eq!(summary.verdicts.values().sum::<usize>(), ROWS, "{format}");
    })
}

/// The environment variable that makes the test measure one case and print it.
const CASE: &str = "VTSUM_MEMORY_CASE";
const TEST: &str = "every_format_renders_in_a_small_fraction_of_the_rows_memory";

/// A job of [`ROWS`] found files in a memory store.
fn stored_job() -> (vtsum_store::memory::MemoryStore, vtsum_core::store::JobInfo) {
    let store = vtsum_store::memory::MemoryStore::new();
    let id = JobId("0".repeat(32));
    let hashes: Vec<Hash> = (0..ROWS).map(hash).collect();
    store
        .job_create(
            &id,
            &JobSpec::default(),
            &vtsum_core::Target::files(&hashes),
            0,
        )
        .unwrap();
    for i in 0..ROWS {
        let result = ItemResult::Lookup {
            lookup: lookup(i),
            from_cache: true,
            fetched_at: 0,
        };
        store.job_record(&id, i as u64, &result, 0).unwrap();
    }
    let job = store.job_get(&id).unwrap().unwrap();
    (store, job)
}

/// Measures one case in this process: `held`, or `FORMAT made` / `FORMAT stored`.
fn measure_here(case: &str) -> i64 {
    if case == "held" {
        // What holding every row takes: the yardstick.
        return peak_of(|| {
            let mut all = Vec::new();
            Made.each(&mut |row| {
                all.push(row.clone());
                Ok(())
            })
            .unwrap();
            assert_eq!(all.len(), ROWS);
        });
    }
    let (format, from) = case.split_once(' ').expect("FORMAT SOURCE");
    let format: Format = format.parse().unwrap();
    if from == "made" {
        return render_peak(&Made, format);
    }
    let (store, job) = stored_job();
    render_peak(&JobRows::new(&store, &job, RowOptions::default()), format)
}

/// Measures one case in a fresh process running this test.
fn measure(case: &str) -> i64 {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(CASE, case)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{case}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("peak "))
        .unwrap_or_else(|| panic!("{case}: no peak in {stdout}"))
        .parse()
        .unwrap()
}

#[test]
fn every_format_renders_in_a_small_fraction_of_the_rows_memory() {
    if let Ok(case) = std::env::var(CASE) {
        // On a line of its own: the harness may have started its own line already.
        println!("\npeak {}", measure_here(&case));
        return;
    }
    let held = measure("held");
    assert!(held > 30_000_000, "the yardstick is {held} bytes");
    for format in Format::ALL {
        for from in ["made", "stored"] {
            let peak = measure(&format!("{format} {from}"));
            assert!(
                peak < held / 8,
                "{format} from {from} rows grew {peak} bytes at once; all the rows take {held}"
            );
        }
    }
}
