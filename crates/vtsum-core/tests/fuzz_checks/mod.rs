//! The checks behind vtsum's fuzz targets, one function per target, each taking the raw
//! bytes the fuzzer made. `fuzz/fuzz_targets/*.rs` include this file, and
//! `tests/fuzz_corpus.rs` replays every checked-in corpus and crash file through it on
//! stable Rust, so CI needs no nightly. A check fails by panicking, as libFuzzer expects.
#![allow(dead_code)] // each includer uses its share

use std::collections::{BTreeMap, HashSet};

use vtsum_core::extract::{extract_bytes, Extractor};
use vtsum_core::rate::{parse_duration, RateSpec, MAX_DURATION};
use vtsum_core::render::{self, csv, Format, RenderOptions};
use vtsum_core::report::{EngineResult, Lookup, Row, RowOptions, Status, Summary, Verdict};
use vtsum_core::vt::{v2, v3};
use vtsum_core::Hash;

/// The extractor agrees with an obvious (slow) reference, however the input is chunked.
pub fn extract(data: &[u8]) {
    let whole = extract_bytes(data);
    let chunk = 1 + data.len() % 7;
    let mut ex = Extractor::new();
    for part in data.chunks(chunk) {
        ex.feed(part);
    }
    let chunked = ex.finish();
    assert_eq!(whole, chunked, "chunks of {chunk} changed the result");
    // The threaded reader, with rounds small enough to cut lines and hashes anywhere.
    let part = 2 + data.len() % 97;
    let mut ex = Extractor::new();
    ex.read_all_in(data, 2, part).expect("reading a slice");
    assert_eq!(whole, ex.finish(), "two threads, {part}-byte parts");

    let mut seen = HashSet::new();
    let mut expected = Vec::new();
    let mut total = 0u64;
    for run in data.split(|b| !(b.is_ascii_alphanumeric() || *b == b'_')) {
        if matches!(run.len(), 32 | 40 | 64) && run.iter().all(u8::is_ascii_hexdigit) {
            total += 1;
            let h = String::from_utf8_lossy(run).to_ascii_lowercase();
            if seen.insert(h.clone()) {
                expected.push(h);
            }
        }
    }
    let got: Vec<&str> = whole.hashes.iter().map(Hash::as_str).collect();
    assert_eq!(got, expected);
    assert_eq!(whole.duplicates, total - expected.len() as u64);
    assert!(whole.lines_without_hash <= whole.lines);
}

const ASKED: [&str; 4] = [
    "44d88612fea8a8f36de82e1278abb02f",
    "3395856ce81f2b7382dee72602f798b642f14140",
    "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
    "0000000000000000000000000000000000000000000000000000000000000000",
];

/// Any v3 answer body parses or is refused; what parses is bounded and renders.
pub fn v3(data: &[u8]) {
    let _ = v3::parse_error(data);
    if let Ok(report) = v3::parse_file(data) {
        assert_eq!(report.sha256.len(), 64);
        assert!(report.names.len() <= v3::MAX_NAMES && report.tags.len() <= v3::MAX_NAMES);
        let strings = report
            .names
            .iter()
            .chain(&report.tags)
            .chain(report.meaningful_name.iter())
            .chain(report.threat_label.iter());
        for s in strings {
            assert!(s.len() <= v3::MAX_STRING);
        }
        let lookup = Lookup::Found(Box::new(report));
        render_all(&Hash::parse(ASKED[2]).unwrap(), &lookup);
    }
}

/// Any v2 answer body, for one to four asked hashes: answers in order, or an error.
pub fn v2(data: &[u8]) {
    let n = 1 + data.first().map_or(0, |b| usize::from(*b % 4));
    let asked: Vec<Hash> = ASKED[..n].iter().map(|h| Hash::parse(h).unwrap()).collect();
    if let Ok(answers) = v2::parse_reports(data, &asked) {
        assert_eq!(answers.len(), asked.len());
        for ((hash, lookup), want) in answers.iter().zip(&asked) {
            assert_eq!(hash, want);
            render_all(hash, lookup);
        }
    }
}

fn render_all(hash: &Hash, lookup: &Lookup) {
    for threshold in [1, 3] {
        let row = Row::from_lookup(
            hash,
            lookup,
            RowOptions {
                threshold,
                engines: true,
            },
        );
        check_rows(&[row], "fuzz");
    }
}

/// A rate or a duration: parsed, or refused with a reason; never a panic. A parsed rate
/// prints back as the same limits; a parsed duration is at most [`MAX_DURATION`].
pub fn rate(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match text.parse::<RateSpec>() {
        Ok(spec) => assert_eq!(spec.to_string().parse::<RateSpec>().ok(), Some(spec)),
        Err(e) => assert!(e.to_string().starts_with("invalid rate")),
    }
    match parse_duration(&text) {
        Ok(d) => assert!(d <= MAX_DURATION),
        Err(why) => assert!(!why.is_empty()),
    }
}

/// A row made of arbitrary text (fields split at NUL bytes) through every renderer.
pub fn csv(data: &[u8]) {
    let row = row_from(data);
    check_csv(&row);
}

/// A report of arbitrary rows and title as HTML: nothing from the data opens a tag, closes
/// one or leaves an attribute.
pub fn html(data: &[u8]) {
    let (left, right) = data.split_at(data.len() / 2);
    let rows = [row_from(left), row_from(right)];
    check_html(
        &rows,
        &String::from_utf8_lossy(data.get(..8).unwrap_or(data)),
    );
}

fn check_rows(rows: &[Row], title: &str) {
    for row in rows {
        check_csv(row);
        let line = serde_json::to_string(row).unwrap();
        let back: Row = serde_json::from_str(&line).unwrap();
        assert_eq!(&back, row);
    }
    check_html(rows, title);
    let mut table = Vec::new();
    render::table::write_table(&mut table, rows, false).unwrap();
    let table = String::from_utf8(table).unwrap();
    assert!(
        !table
            .chars()
            .any(|c| c != '\n' && render::is_hostile_control(c)),
        "control character in the table: {table:?}"
    );
}

/// Columns whose cells are numbers or vtsum's own words, not text from outside.
const NOT_TEXT: [usize; 10] = [4, 5, 6, 7, 8, 9, 10, 13, 20, 22];

fn check_csv(row: &Row) {
    let mut out = Vec::new();
    csv::write_csv_header(&mut out).unwrap();
    csv::write_csv_row(&mut out, row).unwrap();
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(out.as_slice());
    let records: Vec<::csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), 1, "one row re-parses as one record");
    let cells = csv::cells(row);
    let parsed: Vec<&str> = records[0].iter().collect();
    assert_eq!(parsed, cells, "CSV re-parses to the same cells");
    for (i, cell) in cells.iter().enumerate() {
        assert!(
            !cell
                .chars()
                .any(|c| !"\t\r\n".contains(c) && render::is_hostile_control(c)),
            "control character in cell {i}: {cell:?}"
        );
        if !NOT_TEXT.contains(&i) {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "formula not defused in cell {i}: {cell:?}"
            );
        }
    }
}

/// Characters that would let data change the page's structure.
const MARKUP: [char; 4] = ['<', '>', '"', '\''];

fn check_html(rows: &[Row], title: &str) {
    let page = |rows: &[Row], title: &str| {
        let opts = RenderOptions {
            color: false,
            title: title.to_string(),
            generated_at: "2024-01-01T00:00:00Z".into(),
        };
        let mut summary = Summary::default();
        summary.count_rows(rows);
        let mut out = Vec::new();
        render::render(&mut out, Format::Html, rows, &summary, &opts).unwrap();
        String::from_utf8(out).unwrap()
    };
    let real = page(rows, title);
    // The same report with every markup character of the data swapped for a harmless one:
    // any markup character more in the real page came from the data, unescaped.
    let inert: Vec<Row> = rows.iter().map(|r| map_text(r, defang)).collect();
    let skeleton = page(&inert, &defang(title));
    for c in MARKUP {
        assert_eq!(
            real.matches(c).count(),
            skeleton.matches(c).count(),
            "unescaped {c:?} from the data"
        );
    }
}

fn defang(text: &str) -> String {
    text.chars()
        .map(|c| if MARKUP.contains(&c) { '\u{1}' } else { c })
        .collect()
}

/// The row with `f` applied to every text it holds.
fn map_text(row: &Row, f: fn(&str) -> String) -> Row {
    let opt = |s: &Option<String>| s.as_deref().map(f);
    Row {
        input: f(&row.input),
        md5: opt(&row.md5),
        sha1: opt(&row.sha1),
        sha256: opt(&row.sha256),
        threat_label: opt(&row.threat_label),
        file_type: opt(&row.file_type),
        meaningful_name: opt(&row.meaningful_name),
        names: row.names.iter().map(|s| f(s)).collect(),
        tags: row.tags.iter().map(|s| f(s)).collect(),
        first_seen: opt(&row.first_seen),
        last_seen: opt(&row.last_seen),
        last_analysis: opt(&row.last_analysis),
        permalink: opt(&row.permalink),
        error: opt(&row.error),
        engines: row.engines.as_ref().map(|e| {
            e.iter()
                .map(|(k, v)| {
                    let r = EngineResult {
                        category: f(&v.category),
                        result: opt(&v.result),
                        version: opt(&v.version),
                        update: opt(&v.update),
                    };
                    (f(k), r)
                })
                .collect()
        }),
        ..row.clone()
    }
}

/// A row whose every text field is a NUL-separated piece of `data`.
fn row_from(data: &[u8]) -> Row {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0').map(str::to_string);
    let mut next = || parts.next();
    let mut row = Row::error(Hash::parse(ASKED[0]).unwrap(), "");
    row.input = next().unwrap_or_default();
    row.md5 = next();
    row.sha1 = next();
    row.sha256 = next();
    row.threat_label = next();
    row.file_type = next();
    row.meaningful_name = next();
    row.names = next()
        .map(|n| n.split(';').map(str::to_string).collect())
        .unwrap_or_default();
    row.tags = next()
        .map(|n| n.split(';').map(str::to_string).collect())
        .unwrap_or_default();
    row.first_seen = next();
    row.last_seen = next();
    row.last_analysis = next();
    row.permalink = next();
    row.error = next();
    row.reputation = next().and_then(|r| r.trim().parse().ok());
    row.size = next().and_then(|r| r.trim().parse().ok());
    let engines: BTreeMap<String, EngineResult> = (0..)
        .map_while(|i| {
            let name = next()?;
            Some((
                format!("{i}:{name}"),
                EngineResult {
                    category: next().unwrap_or_default(),
                    result: next(),
                    version: next(),
                    update: next(),
                },
            ))
        })
        .collect();
    row.engines = (!engines.is_empty()).then_some(engines);
    let pick = data.len() % Verdict::ALL.len();
    row.verdict = Verdict::ALL[pick];
    row.status = [Status::Found, Status::Unknown, Status::Error][pick % 3];
    row.malicious = data.len() as u32;
    row.total = data.len() as u32 * 2;
    row
}
