//! `vtsum scan` renders straight from the store, a page at a time: a scan of a few
//! thousand cached hashes must give, in every format, what the renderers make of the same
//! rows held in memory (the slice path, as before streaming). Real processes against the
//! fake VirusTotal.

mod support;

use support::{success, vtsum};

use std::time::Duration;

use vtsum_core::render::{render, Format, RenderOptions};
use vtsum_core::report::{Row, Summary};

/// Known files (the fake's corpus may hold fewer) and unknown hashes: several of the
/// store's pages of rows together.
const KNOWN: usize = 2_500;
const UNKNOWN: u64 = 2_800;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_scan_renders_every_format_as_the_rows_in_memory_do() {
    let windows = [(100_000, Duration::from_secs(1))];
    let fake = fakevt::spawn(vtsum_test_utils::fake_config(&["k1"], &windows, None))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut hashes = fake.corpus().sha256s(KNOWN);
    hashes.extend((0..UNKNOWN).map(fakevt::unknown_hash));
    let input = dir.path().join("in.txt");
    std::fs::write(&input, hashes.join("\n")).unwrap();
    let scan = |format: Format| {
        let mut cmd = vtsum(&fake, dir.path());
        cmd.env("VT_RATE", "100000/1s");
        cmd.args(["scan", "--format", format.name()]).arg(&input);
        cmd
    };
    // Fill the cache; every later scan is answered from it, so its rows are the same.
    success(tokio::task::block_in_place(|| scan(Format::Jsonl).output()).unwrap());
    let asked = fake.counters().arrivals.len();

    let json: serde_json::Value = serde_json::from_slice(
        &success(tokio::task::block_in_place(|| scan(Format::Json).output()).unwrap()).stdout,
    )
    .unwrap();
    let rows: Vec<Row> = serde_json::from_value(json["results"].clone()).unwrap();
    let summary: Summary = serde_json::from_value(json["summary"].clone()).unwrap();
    assert_eq!(rows.len(), hashes.len());
    assert!(rows.len() > 2 * vtsum_core::engine::JobRows::PAGE as usize);
    assert!(rows.iter().all(|r| r.from_cache));
    let inputs: Vec<&str> = rows.iter().map(|r| r.input.as_str()).collect();
    assert_eq!(inputs, hashes, "input order kept across pages");

    for format in Format::ALL {
        let got = success(tokio::task::block_in_place(|| scan(format).output()).unwrap()).stdout;
        let mut opts = RenderOptions {
            title: format!("vtsum report: {}", input.display()),
            ..RenderOptions::default()
        };
        if format == Format::Html {
            // The one thing that differs between two runs: when the report was made.
            let text = String::from_utf8_lossy(&got);
            let at = text.split("<p>Generated ").nth(1).unwrap();
            opts.generated_at = at[..at.find("</p>").unwrap()].to_string();
        }
        if matches!(format, Format::Stix | Format::Misp) {
            // The same for a bundle (its objects' `created`) and an event (its `date`).
            let doc: serde_json::Value = serde_json::from_slice(&got).unwrap();
            opts.generated_at = match format {
                Format::Stix => doc["objects"][0]["created"].as_str().unwrap().to_string(),
                _ => format!("{}T00:00:00Z", doc["Event"]["date"].as_str().unwrap()),
            };
        }
        let mut want = Vec::new();
        render(&mut want, format, &rows, &summary, &opts).unwrap();
        if format == Format::Xlsx {
            // A workbook's zip carries its creation time: compare what a spreadsheet reads.
            let (got, want) = (
                vtsum_test_utils::xlsx::read_sheet(&got),
                vtsum_test_utils::xlsx::read_sheet(&want),
            );
            assert_eq!(got.rows(), hashes.len() + 1);
            assert_eq!(got.cells, want.cells, "xlsx");
        } else {
            assert!(
                got == want,
                "{format} differs from the rows rendered in memory:\n{}",
                String::from_utf8_lossy(&got)
                    .chars()
                    .take(600)
                    .collect::<String>()
            );
        }
    }
    assert_eq!(fake.counters().arrivals.len(), asked, "all from the cache");
}
