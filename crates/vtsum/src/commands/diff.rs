//! `vtsum diff OLD NEW`: what changed between two reports vtsum wrote (JSON or JSON
//! Lines) or two jobs in the store (their ids, as the web app shows them), by the rules of
//! `vtsum_core::diff`: verdict transitions, detection counts crossing the threshold, new
//! threat labels, hashes that appeared or went. Offline: the store is opened only for a
//! job id. Labels come from VirusTotal, so they are printed with terminal controls
//! replaced.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use vtsum_core::diff::{compare, Change, Snapshot};
use vtsum_core::engine::job_rows;
use vtsum_core::render::{replace_controls, LineBreaks};
use vtsum_core::report::Row;
use vtsum_core::store::{JobId, Store};
use vtsum_store as store;

use crate::cli::{DiffArgs, GlobalArgs};
use crate::exit::{bad_input, Exit};
use crate::settings::{default_db_path, read_at_most, store_url, FileConfig};

/// The largest report read (both are held as rows while compared).
const MAX_REPORT: u64 = 1 << 30;

pub fn run(global: &GlobalArgs, args: DiffArgs) -> Result<Exit> {
    let mut opened = None;
    let before = read_side(global, &args.old, &mut opened)?;
    let after = read_side(global, &args.new, &mut opened)?;
    let changes = compare(before, after, args.threshold.unwrap_or(3));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&changes)?);
    } else {
        for change in &changes {
            println!("{}", line(change));
        }
        eprintln!("vtsum: {} change(s)", changes.len());
    }
    Ok(Exit::Ok)
}

fn line(c: &Change) -> String {
    let side = |s: &Option<Snapshot>| match s {
        None => "-".to_string(),
        Some(s) => {
            let label = s.threat_label.as_deref().unwrap_or("");
            let label = replace_controls(label, LineBreaks::Space);
            format!("{} {}/{} {label}", s.verdict.as_str(), s.malicious, s.total)
                .trim_end()
                .to_string()
        }
    };
    let why: Vec<&str> = c.reasons.iter().map(|r| r.as_str()).collect();
    format!(
        "{}\t{} -> {}\t({})",
        c.input,
        side(&c.before),
        side(&c.after),
        why.join(", ")
    )
}

/// A report file, or else a job of the store by its id.
fn read_side(
    global: &GlobalArgs,
    side: &Path,
    opened: &mut Option<Arc<dyn Store>>,
) -> Result<Vec<Row>> {
    let id = side.to_str().and_then(JobId::parse);
    let Some(id) = id.filter(|_| !side.exists()) else {
        return read_report(side);
    };
    let store = match opened {
        Some(s) => s.clone(),
        None => {
            let file = FileConfig::load(global)?;
            let s = store::open(&store_url(global, &file), &default_db_path("vtsum.db"))?;
            opened.insert(s).clone()
        }
    };
    let job = store.job_get(&id)?.ok_or_else(|| {
        bad_input(format!(
            "{id} is neither a report file nor a job of {}",
            store.describe()
        ))
    })?;
    Ok(job_rows(store.as_ref(), &job, job.spec.row_options)?)
}

/// A report as `vtsum scan --format json` (`{"results": […]}`) or `jsonl` wrote it.
fn read_report(path: &Path) -> Result<Vec<Row>> {
    let shown = replace_controls(&path.display().to_string(), LineBreaks::Space).into_owned();
    let file =
        std::fs::File::open(path).map_err(|e| bad_input(format!("cannot open {shown}: {e}")))?;
    let text = read_at_most(file, MAX_REPORT)
        .map_err(|e| bad_input(format!("cannot read {shown}: {e}")))?
        .ok_or_else(|| bad_input(format!("{shown} is over 1 GiB")))?;
    #[derive(serde::Deserialize)]
    struct Report {
        results: Vec<Row>,
    }
    if let Ok(report) = serde_json::from_slice::<Report>(&text) {
        return Ok(report.results);
    }
    let mut rows = Vec::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let row = serde_json::from_slice::<Row>(line).map_err(|e| {
            bad_input(format!(
                "{shown}, line {}: not a vtsum report row ({e}); write reports with \
                 --format json or jsonl",
                i + 1
            ))
        })?;
        rows.push(row);
    }
    Ok(rows)
}
