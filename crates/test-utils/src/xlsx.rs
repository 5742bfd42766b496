//! Reads an `.xlsx` back the way a spreadsheet would, for tests of vtsum's workbooks: the
//! first sheet's cells by position, shared strings resolved, Excel's `_xHHHH_` escapes
//! decoded, and a count of formulas (which vtsum must never write).
//!
//! `zip` (the version and features `rust_xlsxwriter` itself builds, so it costs no extra
//! compile) and `quick-xml` rather than `calamine`: a spreadsheet reader would hide exactly
//! what these tests look at — whether a cell is a number or a string in the XML, and
//! whether any `<f>` formula slipped in — and brings a second zip and XML stack with it.

use std::collections::BTreeMap;
use std::io::Read;

use quick_xml::events::{BytesStart, Event};

/// The first sheet's part, and the shared strings it points into.
const SHEET: &str = "xl/worksheets/sheet1.xml";
const SHARED: &str = "xl/sharedStrings.xml";

/// One cell as a spreadsheet reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum XCell {
    Text(String),
    Number(f64),
}

/// A sheet read back.
#[derive(Debug, Default)]
pub struct Sheet {
    /// Cells by (row, column), both counted from 0.
    pub cells: BTreeMap<(u32, u32), XCell>,
    /// `<f>` elements and formula-typed (`t="str"`) cells.
    pub formulas: usize,
    /// The sheet's XML, for checks on its layout (frozen panes, autofilter).
    pub xml: String,
    /// Names of the parts whose entries are stored rather than deflated.
    pub stored: Vec<String>,
}

impl Sheet {
    /// A row's cells from column 0 to `width - 1`; `None` where the row has no cell.
    pub fn row(&self, row: u32, width: u32) -> Vec<Option<&XCell>> {
        (0..width).map(|c| self.cells.get(&(row, c))).collect()
    }

    /// The number of rows holding at least one cell.
    pub fn rows(&self) -> usize {
        let mut rows: Vec<u32> = self.cells.keys().map(|(r, _)| *r).collect();
        rows.dedup();
        rows.len()
    }
}

/// Reads `book`; panics (a test failure) when it is not a readable workbook.
pub fn read_sheet(book: &[u8]) -> Sheet {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(book)).expect("opens as a zip");
    let mut stored = Vec::new();
    for i in 0..zip.len() {
        let entry = zip.by_index(i).expect("a readable entry");
        if entry.compression() == zip::CompressionMethod::Stored {
            stored.push(entry.name().expect("a UTF-8 name").into_owned());
        }
    }
    let mut part = |name: &str| {
        let mut text = String::new();
        if let Ok(mut entry) = zip.by_name(name) {
            // Reading to the end checks the CRC too.
            entry.read_to_string(&mut text).expect("UTF-8, CRC ok");
        }
        text
    };
    let shared = shared_strings(&part(SHARED));
    let xml = part(SHEET);
    assert!(!xml.is_empty(), "no {SHEET}");
    let mut sheet = cells(&xml, &shared);
    sheet.xml = xml;
    sheet.stored = stored;
    sheet
}

/// The texts of `<si>` items, in order.
fn shared_strings(xml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut current: Option<String> = None;
    let mut in_t = false;
    loop {
        match reader.read_event().expect("well-formed shared strings") {
            Event::Start(e) => match e.name().as_ref() {
                b"si" => current = Some(String::new()),
                b"t" => in_t = true,
                _ => {}
            },
            Event::End(e) => match e.name().as_ref() {
                b"si" => out.push(decode_escapes(&current.take().unwrap_or_default())),
                b"t" => in_t = false,
                _ => {}
            },
            Event::Text(t) if in_t => {
                if let Some(s) = &mut current {
                    s.push_str(&t.decode().expect("UTF-8"));
                }
            }
            Event::GeneralRef(r) if in_t => {
                if let Some(s) = &mut current {
                    s.push(entity(&r));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// The cells of a sheet's XML.
fn cells(xml: &str, shared: &[String]) -> Sheet {
    let mut sheet = Sheet::default();
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut cell: Option<(u32, u32, String)> = None;
    let mut value: Option<String> = None;
    loop {
        match reader.read_event().expect("a well-formed sheet") {
            Event::Start(e) if e.name().as_ref() == b"c" => cell = Some(cell_start(&e)),
            Event::Start(e) if matches!(e.name().as_ref(), b"v" | b"t") => {
                value = Some(String::new())
            }
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"f" => sheet.formulas += 1,
            Event::Text(t) => {
                if let Some(v) = &mut value {
                    v.push_str(&t.decode().expect("UTF-8"));
                }
            }
            Event::GeneralRef(r) => {
                if let Some(v) = &mut value {
                    v.push(entity(&r));
                }
            }
            Event::End(e) if e.name().as_ref() == b"c" => {
                let (row, col, kind) = cell.take().expect("a cell end after its start");
                let v = value.take().unwrap_or_default();
                let parsed = match kind.as_str() {
                    "s" => XCell::Text(
                        shared
                            .get(v.parse::<usize>().expect("a string index"))
                            .expect("an index into the shared strings")
                            .clone(),
                    ),
                    "inlineStr" => XCell::Text(decode_escapes(&v)),
                    "" | "n" => XCell::Number(v.parse().expect("a number")),
                    other => {
                        if other == "str" {
                            sheet.formulas += 1;
                        }
                        XCell::Text(v)
                    }
                };
                sheet.cells.insert((row, col), parsed);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    sheet
}

/// A `<c>`'s position (from `r="B3"`) and type (`t`, empty when absent).
fn cell_start(e: &BytesStart) -> (u32, u32, String) {
    let (mut at, mut kind) = (String::new(), String::new());
    for attr in e.attributes() {
        let attr = attr.expect("a well-formed attribute");
        let value = String::from_utf8(attr.value.to_vec()).expect("UTF-8");
        match attr.key.as_ref() {
            b"r" => at = value,
            b"t" => kind = value,
            _ => {}
        }
    }
    let letters = at.bytes().take_while(u8::is_ascii_uppercase).count();
    let col = at[..letters]
        .bytes()
        .fold(0u32, |n, b| n * 26 + u32::from(b - b'A') + 1)
        - 1;
    let row: u32 = at[letters..].parse().expect("a row number");
    (row - 1, col, kind)
}

/// The character an entity or character reference stands for.
fn entity(r: &quick_xml::events::BytesRef) -> char {
    if let Some(c) = r.resolve_char_ref().expect("a valid character reference") {
        return c;
    }
    match &*r.decode().expect("UTF-8") {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        other => panic!("undefined entity &{other};"),
    }
}

/// Decodes Excel's `_xHHHH_` escapes (how a workbook holds characters XML cannot, and a
/// literal `_x…_`, whose `_` becomes `_x005F_`).
pub fn decode_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("_x") {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let code = tail
            .get(2..6)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .filter(|_| tail.as_bytes().get(6) == Some(&b'_'))
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32);
        match code {
            Some(c) => {
                out.push(c);
                rest = &tail[7..];
            }
            None => {
                out.push_str("_x");
                rest = &tail[2..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_excel_escapes() {
        assert_eq!(decode_escapes("a_x0001_b"), "a\u{1}b");
        assert_eq!(decode_escapes("_x005F_x0041_"), "_x0041_");
        assert_eq!(decode_escapes("_x12_ _xZZZZ_"), "_x12_ _xZZZZ_");
    }
}
