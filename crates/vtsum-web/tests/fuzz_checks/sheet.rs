//! The `xlsx` check: arbitrary rows through the core's workbook writer
//! (`vtsum_core::render::xlsx`, `rust_xlsxwriter` underneath) must give a zip that opens,
//! whose every entry is deflated with a matching CRC, whose every XML part is well-formed,
//! whose sheet holds no formula and exactly the rows' typed cells — numbers as numbers,
//! text as CSV's defused text — and whose text cells are defused as in CSV.

use std::collections::BTreeMap;
use std::io::Read;

use quick_xml::events::{BytesStart, Event};
use vtsum_core::render::csv::{typed_cells, Cell as Typed, COLUMNS};
use vtsum_core::render::xlsx::fit_cell;
use vtsum_core::render::{render, Format, RenderOptions};
use vtsum_core::report::{EngineResult, Row, Status, Summary, Verdict};
use vtsum_core::Hash;
use vtsum_test_utils::xlsx::decode_escapes;

/// Parts every workbook holds (it may hold more: styles, theme, document properties).
const PARTS: [&str; 5] = [
    "[Content_Types].xml",
    "_rels/.rels",
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
    "xl/worksheets/sheet1.xml",
];
const SHEET: &str = PARTS[4];
/// Shared strings: absent from vtsum's constant-memory sheets, which hold theirs inline.
const SHARED: &str = "xl/sharedStrings.xml";

/// A cell as read back: a string (inline or shared, `_xHHHH_` decoded) or a number.
#[derive(Debug, PartialEq)]
enum Cell {
    Text(String),
    Number(f64),
}

/// What one XML part holds, as far as this check cares.
#[derive(Default)]
struct Part {
    /// `<si>` texts (the shared strings part).
    strings: Vec<String>,
    /// Cells by (row, column) from 0, with their `t` and raw value (a sheet).
    cells: BTreeMap<(u32, u32), (String, String)>,
}

/// Up to eight rows (split at 0xFF bytes) of arbitrary text as a workbook.
pub fn xlsx(data: &[u8]) {
    let rows: Vec<Row> = data.split(|b| *b == 0xFF).take(8).map(row_from).collect();
    let mut book = Vec::new();
    render(
        &mut book,
        Format::Xlsx,
        &rows,
        &Summary::default(),
        &RenderOptions::default(),
    )
    .expect("every row fits a workbook");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(book)).expect("opens as a zip");
    let mut parts = BTreeMap::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).expect("a readable entry");
        let name = entry.name().expect("a UTF-8 entry name").into_owned();
        assert_eq!(
            entry.compression(),
            zip::CompressionMethod::Deflated,
            "{name} is stored, not compressed"
        );
        let mut xml = Vec::new();
        // Reading to the end checks the CRC too.
        entry
            .read_to_end(&mut xml)
            .expect("an entry whose CRC matches");
        if name.ends_with(".xml") || name.ends_with(".rels") {
            parts.insert(name.clone(), parse(&xml, &name));
        }
    }
    for want in PARTS {
        assert!(parts.contains_key(want), "no {want}");
    }
    let no_strings = Part::default();
    let strings = &parts.get(SHARED).unwrap_or(&no_strings).strings;
    let sheet: BTreeMap<(u32, u32), Cell> = parts[SHEET]
        .cells
        .iter()
        .map(|(at, (kind, value))| {
            let cell = match kind.as_str() {
                "s" => {
                    let i: usize = value.parse().expect("a shared string index");
                    Cell::Text(decode_escapes(&strings[i]))
                }
                "inlineStr" => Cell::Text(decode_escapes(value)),
                "" => Cell::Number(value.parse().expect("a number")),
                other => panic!("a cell of type {other:?} at {at:?}"),
            };
            (*at, cell)
        })
        .collect();

    for (c, name) in COLUMNS.iter().enumerate() {
        assert_eq!(
            sheet.get(&(0, c as u32)),
            Some(&Cell::Text(name.to_string()))
        );
    }
    let width = COLUMNS.len() as u32;
    assert!(sheet
        .keys()
        .all(|(r, c)| *r <= rows.len() as u32 && *c < width));
    for (r, row) in (1u32..).zip(&rows) {
        for (c, want) in (0u32..).zip(typed_cells(row)) {
            let got = sheet.get(&(r, c));
            let want = match want {
                Typed::Number(n) => Some(Cell::Number(n as f64)),
                Typed::Empty => None,
                Typed::Word(w) => Some(Cell::Text(w.to_string())),
                Typed::Text(t) => {
                    assert!(
                        !t.starts_with(['=', '+', '-', '@', '\t', '\r']),
                        "formula not defused in column {c}: {t:?}"
                    );
                    (!t.is_empty()).then(|| Cell::Text(fit_cell(&t).to_string()))
                }
            };
            assert_eq!(got, want.as_ref(), "row {r} column {c} changed");
        }
    }
}

/// Whether XML 1.0 can hold the character.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        || c >= '\u{10000}'
}

/// Parses one XML part, panicking unless it is well-formed: one root, tags that match,
/// attributes that parse, only the five predefined entities and legal characters, and in
/// a sheet no formula (`<f>`). Returns the shared strings or cells it holds.
fn parse(xml: &[u8], part: &str) -> Part {
    let text = std::str::from_utf8(xml).expect("UTF-8 XML");
    assert!(
        text.chars().all(xml_char),
        "{part}: a character XML cannot hold"
    );
    let mut reader = quick_xml::Reader::from_str(text);
    let mut open: Vec<String> = Vec::new();
    let mut roots = 0;
    let mut out = Part::default();
    let mut cell: Option<((u32, u32), String)> = None;
    let mut value: Option<String> = None;
    let mut start = |e: &BytesStart, open: &[String]| {
        let mut attrs = BTreeMap::new();
        for attr in e.attributes() {
            let attr = attr.expect("a well-formed attribute");
            let v = attr
                .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                .expect("an attribute value that unescapes");
            attrs.insert(attr.key.as_ref().to_vec(), v.into_owned());
        }
        if open.is_empty() {
            roots += 1;
        }
        let name = String::from_utf8(e.name().as_ref().to_vec()).expect("a UTF-8 name");
        if part == SHEET {
            assert!(name != "f", "a formula in the sheet");
        }
        (name, attrs)
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let (name, attrs) = start(&e, &open);
                match (part, name.as_str()) {
                    (SHARED, "si") => value = Some(String::new()),
                    (SHEET, "c") => cell = Some(cell_at(&attrs)),
                    (SHEET, "v" | "is") => value = Some(String::new()),
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
                match (part, name.as_str()) {
                    (SHARED, "si") => out.strings.push(value.take().unwrap_or_default()),
                    (SHEET, "c") => {
                        let (at, kind) = cell.take().expect("a cell end after its start");
                        let v = value.take().expect("a cell with a value");
                        assert!(out.cells.insert(at, (kind, v)).is_none(), "{at:?} twice");
                    }
                    _ => {}
                }
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
    out
}

/// A `<c>`'s (row, column) from 0, from `r="B3"`, and its type `t` (empty when absent).
fn cell_at(attrs: &BTreeMap<Vec<u8>, String>) -> ((u32, u32), String) {
    let at = attrs.get(b"r".as_slice()).expect("a cell reference");
    let letters = at.bytes().take_while(u8::is_ascii_uppercase).count();
    assert!((1..=3).contains(&letters), "{at:?}");
    let col = at[..letters]
        .bytes()
        .fold(0u32, |n, b| n * 26 + u32::from(b - b'A') + 1);
    let row: u32 = at[letters..].parse().expect("a row number");
    let kind = attrs.get(b"t".as_slice()).cloned().unwrap_or_default();
    ((row - 1, col - 1), kind)
}

/// A row whose every text field is a NUL-separated piece of `data` (as vtsum-core's fuzz
/// checks build theirs).
fn row_from(data: &[u8]) -> Row {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0').map(str::to_string);
    let mut next = || parts.next();
    let mut row = Row::error(Hash::parse(&"4".repeat(32)).unwrap(), "");
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
