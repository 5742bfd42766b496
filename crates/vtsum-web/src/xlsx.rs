//! A minimal Excel (.xlsx) writer: an Office Open XML package in a zip archive with stored
//! (uncompressed) entries. Every cell is an inline string or a number, never a formula, and
//! text cells are defused exactly as in CSV, so a file named `=HYPERLINK(...)` stays text
//! even if someone copies it into a formula bar.

use vtsum_core::render::csv::{cells, COLUMNS};
use vtsum_core::render::html::escape;
use vtsum_core::Row;

/// CRC-32 (IEEE), as zip requires.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Builds a zip archive of `files` with stored entries.
fn zip(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let size = data.len() as u32;
        let header = |sig: u32, central: bool| {
            let mut h = Vec::new();
            h.extend_from_slice(&sig.to_le_bytes());
            if central {
                h.extend_from_slice(&20u16.to_le_bytes()); // made by
            }
            h.extend_from_slice(&20u16.to_le_bytes()); // version needed
            h.extend_from_slice(&0u16.to_le_bytes()); // flags
            h.extend_from_slice(&0u16.to_le_bytes()); // stored
            h.extend_from_slice(&0u16.to_le_bytes()); // time
            h.extend_from_slice(&0x21u16.to_le_bytes()); // date 1980-01-01
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&size.to_le_bytes());
            h.extend_from_slice(&size.to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // extra
            if central {
                h.extend_from_slice(&0u16.to_le_bytes()); // comment
                h.extend_from_slice(&0u16.to_le_bytes()); // disk
                h.extend_from_slice(&0u16.to_le_bytes()); // internal attrs
                h.extend_from_slice(&0u32.to_le_bytes()); // external attrs
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        out.extend(header(0x0403_4b50, false));
        out.extend_from_slice(data);
        central.extend(header(0x0201_4b50, true));
    }
    let central_offset = out.len() as u32;
    let central_size = central.len() as u32;
    out.extend(central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // disk numbers
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&central_size.to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// Escapes text for XML (the HTML escape serves: its entities are XML's, `&#39;` included),
/// after replacing the characters XML 1.0 cannot hold with U+FFFD. Replaced, not dropped:
/// dropping the first character of a defused cell could uncover a formula behind it.
fn xml(text: &str) -> String {
    let holdable: String = text
        .chars()
        .map(|c| {
            let unholdable = !matches!(c, '\t' | '\n' | '\r')
                && ((c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}');
            if unholdable {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect();
    escape(&holdable)
}

fn column(i: usize) -> String {
    let mut n = i + 1;
    let mut s = Vec::new();
    while n > 0 {
        s.push(b'A' + ((n - 1) % 26) as u8);
        n = (n - 1) / 26;
    }
    s.reverse();
    String::from_utf8(s).expect("ASCII")
}

/// Numeric columns, written as numbers.
const NUMERIC: [&str; 7] = [
    "malicious",
    "suspicious",
    "undetected",
    "harmless",
    "total",
    "size",
    "reputation",
];

/// The workbook of a report: one sheet, a header row, one row per hash.
pub fn workbook(rows: &[Row]) -> Vec<u8> {
    let mut sheet = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
         <worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>",
    );
    let mut write_row = |r: usize, values: Vec<String>| {
        sheet.push_str(&format!("<row r=\"{r}\">"));
        for (c, v) in values.iter().enumerate() {
            let at = format!("{}{r}", column(c));
            if r > 1 && NUMERIC.contains(&COLUMNS[c]) && !v.is_empty() && v.parse::<i64>().is_ok() {
                sheet.push_str(&format!("<c r=\"{at}\"><v>{v}</v></c>"));
            } else {
                sheet.push_str(&format!(
                    "<c r=\"{at}\" t=\"inlineStr\"><is><t xml:space=\"preserve\">{}</t></is></c>",
                    xml(v)
                ));
            }
        }
        sheet.push_str("</row>");
    };
    write_row(1, COLUMNS.iter().map(|c| c.to_string()).collect());
    for (i, row) in rows.iter().enumerate() {
        // Excel caps a cell at 32,767 characters.
        let values = cells(row)
            .into_iter()
            .map(|v| v.chars().take(32_000).collect())
            .collect();
        write_row(i + 2, values);
    }
    sheet.push_str("</sheetData></worksheet>");
    zip(&[
        (
            "[Content_Types].xml",
            b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
<Default Extension=\"xml\" ContentType=\"application/xml\"/>\
<Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>\
<Override PartName=\"/xl/worksheets/sheet1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>\
</Types>"
                .to_vec(),
        ),
        (
            "_rels/.rels",
            b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/>\
</Relationships>"
                .to_vec(),
        ),
        (
            "xl/workbook.xml",
            b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">\
<sheets><sheet name=\"vtsum\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>"
                .to_vec(),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>\
</Relationships>"
                .to_vec(),
        ),
        ("xl/worksheets/sheet1.xml", sheet.into_bytes()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_and_columns() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(column(0), "A");
        assert_eq!(column(25), "Z");
        assert_eq!(column(26), "AA");
        assert_eq!(xml("a<b\u{1}&"), "a&lt;b\u{FFFD}&amp;");
    }

    /// Found writing the `xlsx` fuzz check: U+FFFE is no formula character, so the cell is not
    /// defused, but XML cannot hold it; dropping it left the formula in front.
    #[test]
    fn a_character_xml_cannot_hold_does_not_uncover_a_formula() {
        let mut row = Row::error(&vtsum_core::Hash::parse(&"4".repeat(32)).unwrap(), "");
        row.input = "\u{FFFE}=1+1".into();
        let book = String::from_utf8_lossy(&workbook(&[row])).into_owned();
        assert!(!book.contains(">=1+1<"), "formula uncovered");
        assert!(!book.contains('\u{FFFE}'));
    }
}
