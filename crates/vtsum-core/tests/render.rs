//! Every format carries the same rows, and no format lets a hostile file name act: no
//! markup in HTML, no formula in CSV or the workbook, no escape sequence in the terminal
//! table.

use std::collections::BTreeMap;

use serde_json::Value;
use vtsum_core::render::csv::{typed_cells, Cell, COLUMNS};
use vtsum_core::render::xlsx::fit_cell;
use vtsum_core::render::{render, Format, RenderOptions};
use vtsum_core::report::{EngineResult, FileReport, Lookup, Row, RowOptions, Stats, Summary};
use vtsum_core::Hash;
use vtsum_test_utils::xlsx::{read_sheet, XCell};

const HOSTILE: &[&str] = &[
    "<script>alert(1)</script>.exe",
    "=HYPERLINK(\"http://x\",\"y\")",
    "+cmd|' /C calc'!A0",
    "-1+2",
    "@SUM(1)",
    "quote\" comma, newline\nend",
    "\ttab first",
    "\u{1b}[31mred\u{1b}[0m",
    "naïve-文件.exe",
];

fn rows() -> Vec<Row> {
    let mut rows = Vec::new();
    for (i, name) in HOSTILE.iter().enumerate() {
        let sha = format!("{:064x}", i + 1);
        let mut engines = BTreeMap::new();
        engines.insert(
            "<b>Engine</b>".to_string(),
            EngineResult {
                category: "malicious".into(),
                result: Some("=evil".into()),
                version: None,
                update: None,
            },
        );
        let file = FileReport {
            sha256: sha.clone(),
            md5: Some(format!("{:032x}", i + 1)),
            stats: Stats {
                malicious: i as u32,
                undetected: 10,
                ..Stats::default()
            },
            analysed: true,
            threat_label: Some(format!("<i>label</i>{i}")),
            names: vec![name.to_string(), "A".repeat(5_000)],
            meaningful_name: Some(name.to_string()),
            engines,
            ..FileReport::default()
        };
        let opts = RowOptions {
            threshold: 3,
            engines: true,
        };
        rows.push(Row::from_lookup(
            Hash::parse(&sha).unwrap(),
            &Lookup::Found(Box::new(file)),
            opts,
        ));
    }
    let unknown = Hash::parse(&"e".repeat(40)).unwrap();
    rows.push(Row::from_lookup(
        &unknown,
        &Lookup::Unknown,
        RowOptions::default(),
    ));
    rows.push(Row::error(
        Hash::parse(&"f".repeat(32)).unwrap(),
        "=gave up <b>",
    ));
    rows
}

fn out(format: Format, color: bool) -> String {
    String::from_utf8(bytes(format, &rows(), color)).unwrap()
}

fn bytes(format: Format, rows: &[Row], color: bool) -> Vec<u8> {
    let mut summary = Summary::default();
    summary.count_rows(rows);
    let opts = RenderOptions {
        color,
        title: "<t>".into(),
        generated_at: "now".into(),
    };
    let mut buf = Vec::new();
    render(&mut buf, format, rows, &summary, &opts).unwrap();
    buf
}

/// A small RFC 4180 reader, to prove the CSV round-trips.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut cell) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    rows
}

#[test]
fn json_jsonl_and_csv_carry_the_same_rows() {
    let expected = rows();
    let json: Value = serde_json::from_str(&out(Format::Json, false)).unwrap();
    let results = json["results"].as_array().unwrap();
    let jsonl: Vec<Value> = out(Format::Jsonl, false)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let csv = parse_csv(&out(Format::Csv, false));
    assert_eq!(results.len(), expected.len());
    assert_eq!(jsonl.len(), expected.len());
    assert_eq!(csv.len(), expected.len() + 1, "header + rows");
    let col = |name: &str| csv[0].iter().position(|c| c == name).unwrap();
    for (i, row) in expected.iter().enumerate() {
        for v in [&results[i], &jsonl[i]] {
            assert_eq!(v["input"], row.input.as_str());
            assert_eq!(v["verdict"], row.verdict.as_str());
            assert_eq!(v["malicious"], row.malicious);
            assert_eq!(v["total"], row.total);
            assert_eq!(v["names"].as_array().unwrap().len(), row.names.len());
        }
        let line = &csv[i + 1];
        assert_eq!(line[col("input")], row.input);
        assert_eq!(line[col("verdict")], row.verdict.as_str());
        assert_eq!(line[col("total")], row.total.to_string());
        let name = &line[col("meaningful_name")];
        // Control characters (here `ESC`) are replaced in CSV: terminal escape injection.
        let original = row.meaningful_name.clone().unwrap_or_default();
        let original =
            vtsum_core::render::replace_controls(&original, vtsum_core::render::LineBreaks::Keep);
        let undefused = name
            .strip_prefix('\'')
            .filter(|_| original.starts_with(['=', '+', '-', '@', '\t']))
            .unwrap_or(name);
        assert_eq!(undefused, original);
    }
    assert_eq!(json["summary"]["total"], expected.len());
}

#[test]
fn csv_cells_never_start_a_formula() {
    for row in parse_csv(&out(Format::Csv, false)) {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?}"
            );
        }
    }
}

#[test]
fn html_escapes_everything_and_runs_nothing() {
    let html = out(Format::Html, false);
    assert!(!html.contains("<script>"), "no raw script");
    assert!(!html.contains("<i>label") && !html.contains("<b>Engine"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;.exe"));
    assert!(html.contains("&lt;b&gt;Engine&lt;/b&gt;"));
    assert!(html.contains("<title>&lt;t&gt;</title>"));
    assert!(html.contains("Content-Security-Policy"));
    assert!(html.contains(&"0".repeat(63)), "hashes are shown");
    assert!(html.contains("href=\"https://www.virustotal.com/gui/file/"));
}

#[test]
fn the_table_strips_terminal_escapes_and_colours_only_when_asked() {
    let plain = out(Format::Table, false);
    assert!(!plain.contains('\u{1b}'));
    let coloured = out(Format::Table, true);
    let escapes = coloured.matches('\u{1b}').count();
    // Exactly one colour on and one reset per row: nothing from the data.
    assert_eq!(escapes, 2 * rows().len(), "{coloured}");
    assert!(plain.lines().count() == rows().len() + 1);
    assert!(plain.contains("naïve-文件.exe"));
}

/// The workbook read back as a spreadsheet would (`vtsum_test_utils::xlsx`, whose doc says
/// why `zip` and `quick-xml` rather than `calamine`): every number is a number cell holding
/// the row's value, every text cell is exactly CSV's defused cell, nothing is a formula,
/// and the parts are compressed.
#[test]
fn xlsx_holds_typed_numbers_and_the_csvs_defused_text() {
    let mut rows = rows();
    rows[0].size = Some(123_456_789_012);
    rows[0].reputation = Some(-42);
    let sheet = read_sheet(&bytes(Format::Xlsx, &rows, false));
    assert_eq!(sheet.formulas, 0, "no formula anywhere");
    assert!(sheet.stored.is_empty(), "stored parts: {:?}", sheet.stored);
    assert_eq!(sheet.rows(), rows.len() + 1, "a header and one row per row");
    let width = COLUMNS.len() as u32;
    let header: Vec<Option<&XCell>> = sheet.row(0, width);
    for (got, name) in header.iter().zip(COLUMNS) {
        assert_eq!(*got, Some(&XCell::Text(name.to_string())));
    }
    let col = |name: &str| COLUMNS.iter().position(|c| *c == name).unwrap() as u32;
    assert_eq!(
        sheet.cells.get(&(1, col("size"))),
        Some(&XCell::Number(123_456_789_012.0))
    );
    assert_eq!(
        sheet.cells.get(&(1, col("reputation"))),
        Some(&XCell::Number(-42.0))
    );
    for (i, row) in rows.iter().enumerate() {
        let got = sheet.row(i as u32 + 1, width);
        for (c, (want, got)) in typed_cells(row).iter().zip(got).enumerate() {
            let want = match want {
                Cell::Number(n) => Some(XCell::Number(*n as f64)),
                Cell::Empty => None,
                Cell::Word(w) => Some(XCell::Text(w.to_string())),
                Cell::Text(t) if t.is_empty() => None,
                Cell::Text(t) => {
                    assert!(!t.starts_with(['=', '+', '-', '@', '\t', '\r']), "{t:?}");
                    Some(XCell::Text(fit_cell(t).to_string()))
                }
            };
            assert_eq!(got, want.as_ref(), "row {i}, column {}", COLUMNS[c]);
        }
    }
    let hyperlink = sheet
        .cells
        .values()
        .filter(|c| matches!(c, XCell::Text(t) if t.starts_with("'=HYPERLINK(")))
        .count();
    assert!(
        hyperlink >= 2,
        "the hostile name, defused, as name and names"
    );
    // The last column's letters: A…Z, then AA…
    let n = COLUMNS.len();
    let letters = if n <= 26 {
        char::from(b'A' + (n - 1) as u8).to_string()
    } else {
        format!(
            "{}{}",
            char::from(b'A' + ((n - 1) / 26 - 1) as u8),
            char::from(b'A' + ((n - 1) % 26) as u8)
        )
    };
    let last = format!("{letters}{}", rows.len() + 1);
    assert!(sheet
        .xml
        .contains(&format!("<autoFilter ref=\"A1:{last}\"")));
    assert!(
        sheet.xml.contains("ySplit=\"1\""),
        "the header row is frozen"
    );
}
