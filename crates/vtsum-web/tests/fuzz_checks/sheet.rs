//! The `xlsx` check: arbitrary rows through the XLSX writer must give a zip that opens,
//! whose every XML part is well-formed, whose sheet holds the rows' cells, and whose text
//! cells are defused as in CSV.

use std::collections::BTreeMap;
use std::io::Read;

use quick_xml::events::{BytesStart, Event};
use vtsum_core::render::csv::{cells, COLUMNS};
use vtsum_core::report::{EngineResult, Row, Status, Verdict};
use vtsum_core::Hash;

/// Columns whose cells are numbers or vtsum's own words, not text from outside.
const NOT_TEXT: [usize; 10] = [4, 5, 6, 7, 8, 9, 10, 13, 20, 22];

/// The parts every workbook holds.
const PARTS: [&str; 5] = [
    "[Content_Types].xml",
    "_rels/.rels",
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
    "xl/worksheets/sheet1.xml",
];

/// Elements a sheet may hold: no formula (`f`), nothing else.
const SHEET_ELEMENTS: [&str; 7] = ["worksheet", "sheetData", "row", "c", "is", "t", "v"];

/// A cell as read back: an inline string or a number.
#[derive(Debug, PartialEq)]
enum Cell {
    Text(String),
    Number(String),
}

/// Up to eight rows (split at 0xFF bytes) of arbitrary text as a workbook.
pub fn xlsx(data: &[u8]) {
    let rows: Vec<Row> = data.split(|b| *b == 0xFF).take(8).map(row_from).collect();
    let book = vtsum_web::xlsx::workbook(&rows);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(book)).expect("opens as a zip");
    let mut names = Vec::new();
    let mut sheet = Vec::new();
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).expect("a readable entry");
        let name = part.name().to_string();
        let mut xml = Vec::new();
        // Reading to the end checks the CRC too.
        part.read_to_end(&mut xml)
            .expect("an entry whose CRC matches");
        let parsed = parse(&xml, &name);
        if name == PARTS[4] {
            sheet = parsed;
        }
        names.push(name);
    }
    names.sort();
    let mut want = PARTS.to_vec();
    want.sort();
    assert_eq!(names, want);

    assert_eq!(
        sheet.len(),
        rows.len() + 1,
        "a header row and one row per row"
    );
    let header: Vec<Cell> = COLUMNS.iter().map(|c| Cell::Text(c.to_string())).collect();
    assert_eq!(sheet[0], header);
    for (row, got) in rows.iter().zip(&sheet[1..]) {
        let want = cells(row);
        assert_eq!(got.len(), want.len());
        for (i, (cell, want)) in got.iter().zip(&want).enumerate() {
            let want: String = want.chars().take(32_000).collect();
            match cell {
                Cell::Number(n) => {
                    assert!(NOT_TEXT.contains(&i), "a number in text column {i}: {n:?}");
                    assert!(n.parse::<i64>().is_ok(), "{n:?}");
                    assert_eq!(n, &want);
                }
                Cell::Text(text) => {
                    if !NOT_TEXT.contains(&i) {
                        assert!(
                            !text.starts_with(['=', '+', '-', '@', '\t', '\r']),
                            "formula not defused in column {i}: {text:?}"
                        );
                    }
                    if want.chars().all(xml_char) {
                        assert_eq!(text, &want, "column {i} changed");
                    }
                }
            }
        }
    }
}

/// Whether XML 1.0 can hold the character.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        || c >= '\u{10000}'
}

/// Parses one XML part, panicking unless it is well-formed: one root, tags that match,
/// attributes that parse, only the five predefined entities and legal characters. Returns
/// the rows of cells it holds (a sheet's; none for the other parts).
fn parse(xml: &[u8], part: &str) -> Vec<Vec<Cell>> {
    let text = std::str::from_utf8(xml).expect("UTF-8 XML");
    assert!(
        text.chars().all(xml_char),
        "{part}: a character XML cannot hold"
    );
    let mut reader = quick_xml::Reader::from_str(text);
    let mut open: Vec<String> = Vec::new();
    let mut roots = 0;
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    let mut value: Option<String> = None;
    let mut start = |e: &BytesStart, open: &[String]| {
        for attr in e.attributes() {
            let attr = attr.expect("a well-formed attribute");
            attr.normalized_value(quick_xml::XmlVersion::Explicit1_0)
                .expect("an attribute value that unescapes");
        }
        if open.is_empty() {
            roots += 1;
        }
        let name = String::from_utf8(e.name().as_ref().to_vec()).expect("a UTF-8 name");
        if part == PARTS[4] {
            assert!(
                SHEET_ELEMENTS.contains(&name.as_str()),
                "<{name}> in a sheet"
            );
        }
        name
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let name = start(&e, &open);
                match name.as_str() {
                    "row" => rows.push(Vec::new()),
                    "t" | "v" => value = Some(String::new()),
                    _ => {}
                }
                open.push(name);
            }
            Event::Empty(e) => {
                start(&e, &open);
            }
            Event::End(e) => {
                let name = open.pop().expect("an end tag without a start");
                assert_eq!(name.as_bytes(), e.name().as_ref());
                let cell = match name.as_str() {
                    "t" => Cell::Text(value.take().unwrap_or_default()),
                    "v" => Cell::Number(value.take().unwrap_or_default()),
                    _ => continue,
                };
                rows.last_mut().expect("a cell outside a row").push(cell);
            }
            Event::Text(e) => {
                let text = e.decode().expect("UTF-8 text");
                assert!(
                    !open.is_empty() || text.trim().is_empty(),
                    "{part}: text outside the root"
                );
                if let Some(v) = &mut value {
                    v.push_str(&text);
                }
            }
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().expect("a valid character reference") {
                    Some(c) => c,
                    None => match &*r.decode().unwrap() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => panic!("{part}: undefined entity &{other};"),
                    },
                };
                assert!(xml_char(c), "{part}: a reference to {c:?}");
                if let Some(v) = &mut value {
                    v.push(c);
                }
            }
            Event::Decl(_) | Event::Comment(_) => {}
            Event::CData(_) | Event::PI(_) | Event::DocType(_) => {
                panic!("{part}: unexpected markup")
            }
            Event::Eof => break,
        }
    }
    assert!(open.is_empty(), "{part}: unclosed {open:?}");
    assert_eq!(roots, 1, "{part}: one root element");
    rows
}

/// A row whose every text field is a NUL-separated piece of `data` (as vtsum-core's fuzz
/// checks build theirs).
fn row_from(data: &[u8]) -> Row {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0').map(str::to_string);
    let mut next = || parts.next();
    let mut row = Row::error(&Hash::parse(&"4".repeat(32)).unwrap(), "");
    row.input = next().unwrap_or_default();
    row.md5 = next();
    row.sha1 = next();
    row.sha256 = next();
    row.threat_label = next();
    row.file_type = next();
    row.meaningful_name = next();
    let list = |n: Option<String>| {
        n.map(|n| n.split(';').map(str::to_string).collect())
            .unwrap_or_default()
    };
    row.names = list(next());
    row.tags = list(next());
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
            let result = EngineResult {
                category: next().unwrap_or_default(),
                result: next(),
                version: next(),
                update: next(),
            };
            Some((format!("{i}:{name}"), result))
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
