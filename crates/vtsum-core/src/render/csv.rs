//! CSV (RFC 4180) with spreadsheet formula defusing: a cell that starts with `=`, `+`, `-`,
//! `@`, a tab or a carriage return gets a leading `'`, so Excel, LibreOffice and Google
//! Sheets show it as text instead of running it (OWASP's CSV injection guidance). File names
//! come from VirusTotal, where anyone can upload a file named `=HYPERLINK(...)`.
//!
//! Control characters other than tab, CR and LF (and bidi overrides) become U+FFFD first:
//! a CSV is often read with `cat` or `less`, where `ESC[31m` in a name would be terminal
//! escape injection.

use std::io::{self, Write};

use super::{replace_controls, LineBreaks};
use crate::report::Row;

/// The header, the same names as the JSON fields (without `engines`).
pub const COLUMNS: [&str; 24] = [
    "input",
    "md5",
    "sha1",
    "sha256",
    "status",
    "verdict",
    "malicious",
    "suspicious",
    "undetected",
    "harmless",
    "total",
    "threat_label",
    "type",
    "size",
    "meaningful_name",
    "names",
    "tags",
    "first_seen",
    "last_seen",
    "last_analysis",
    "reputation",
    "permalink",
    "from_cache",
    "error",
];

/// Makes a text cell safe for spreadsheets.
pub fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// Quotes a cell when it holds a comma, quote, CR or LF.
fn write_cell(w: &mut dyn Write, cell: &str) -> io::Result<()> {
    if cell.contains([',', '"', '\r', '\n']) {
        write!(w, "\"{}\"", cell.replace('"', "\"\""))
    } else {
        w.write_all(cell.as_bytes())
    }
}

/// The cells of a row, text cells cleaned of control characters and defused.
pub fn cells(row: &Row) -> Vec<String> {
    let text =
        |s: Option<&str>| defuse(&replace_controls(s.unwrap_or(""), LineBreaks::Keep)).into_owned();
    let num = |n: Option<String>| n.unwrap_or_default();
    vec![
        text(Some(&row.input)),
        text(row.md5.as_deref()),
        text(row.sha1.as_deref()),
        text(row.sha256.as_deref()),
        format!("{:?}", row.status).to_lowercase(),
        row.verdict.as_str().to_string(),
        row.malicious.to_string(),
        row.suspicious.to_string(),
        row.undetected.to_string(),
        row.harmless.to_string(),
        row.total.to_string(),
        text(row.threat_label.as_deref()),
        text(row.file_type.as_deref()),
        num(row.size.map(|s| s.to_string())),
        text(row.meaningful_name.as_deref()),
        text(Some(
            &row.names
                .iter()
                .map(|n| defuse(n))
                .collect::<Vec<_>>()
                .join("; "),
        )),
        text(Some(&row.tags.join("; "))),
        text(row.first_seen.as_deref()),
        text(row.last_seen.as_deref()),
        text(row.last_analysis.as_deref()),
        num(row.reputation.map(|r| r.to_string())),
        text(row.permalink.as_deref()),
        row.from_cache.to_string(),
        text(row.error.as_deref()),
    ]
}

/// Writes the header line.
pub fn write_csv_header(w: &mut dyn Write) -> io::Result<()> {
    w.write_all(COLUMNS.join(",").as_bytes())?;
    w.write_all(b"\r\n")
}

/// Writes one row.
pub fn write_csv_row(w: &mut dyn Write, row: &Row) -> io::Result<()> {
    for (i, cell) in cells(row).iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        write_cell(w, cell)?;
    }
    w.write_all(b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defuses_formula_starts_only() {
        for bad in ["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(defuse(bad).starts_with('\''), "{bad}");
        }
        assert_eq!(defuse("a=1"), "a=1");
        assert_eq!(defuse(""), "");
    }

    #[test]
    fn replaces_terminal_escapes_but_keeps_line_breaks() {
        let mut row = Row::error(&crate::Hash::parse(&"a".repeat(32)).unwrap(), "x");
        row.meaningful_name = Some("\u{1b}[31mred\u{7}\u{9b}2J\tb\r\nc\u{202e}d".into());
        row.names = vec!["=\u{1b}]0;title\u{7}".into()];
        let cells = cells(&row);
        assert_eq!(
            cells[14],
            "\u{fffd}[31mred\u{fffd}\u{fffd}2J\tb\r\nc\u{fffd}d"
        );
        assert_eq!(cells[15], "'=\u{fffd}]0;title\u{fffd}");
        let mut out = Vec::new();
        write_csv_row(&mut out, &row).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text
                .chars()
                .any(|c| c.is_control() && !"\t\r\n".contains(c)),
            "{text:?}"
        );
    }

    #[test]
    fn quotes_as_rfc_4180_says() {
        let mut out = Vec::new();
        write_cell(&mut out, "a \"b\", c\nd").unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "\"a \"\"b\"\", c\nd\"");
    }
}
