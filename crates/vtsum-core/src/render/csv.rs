//! CSV (RFC 4180) with spreadsheet formula defusing: a cell that starts with `=`, `+`, `-`,
//! `@`, a tab or a carriage return gets a leading `'`, so Excel, LibreOffice and Google
//! Sheets show it as text instead of running it (OWASP's CSV injection guidance). File names
//! come from VirusTotal, where anyone can upload a file named `=HYPERLINK(...)`.
//!
//! Control characters other than tab, CR and LF (and bidi overrides) become U+FFFD first:
//! a CSV is often read with `cat` or `less`, where `ESC[31m` in a name would be terminal
//! escape injection.

use std::borrow::Cow;
use std::io::{self, Write};

use super::{replace_controls, LineBreaks};
use crate::report::{Row, Status};

/// The header, the same names as the JSON fields (without `engines`); the columns after
/// `error` came with URLs, domains and IP addresses and are empty for files.
pub const COLUMNS: [&str; 37] = [
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
    "kind",
    "written",
    "final_url",
    "title",
    "categories",
    "last_http_response_code",
    "registrar",
    "creation_date",
    "last_dns_records",
    "asn",
    "as_owner",
    "country",
    "network",
];

/// Makes a text cell safe for spreadsheets.
pub fn defuse(cell: &str) -> Cow<'_, str> {
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

/// One cell of a row, typed: CSV writes every cell as text, the workbook writes numbers as
/// numbers. Built once, in [`typed_cells`], so both formats defuse exactly the same text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Text from outside (VirusTotal, the input): control characters replaced, formulas
    /// defused.
    Text(String),
    /// One of vtsum's own words (`found`, `malicious`, `true`): nothing to defuse.
    Word(&'static str),
    /// A whole number (`i128` holds a `u64` size and an `i64` reputation alike).
    Number(i128),
    /// A number the row does not have (an unknown file's size).
    Empty,
}

impl Cell {
    /// The cell as CSV writes it.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Cell::Text(t) => Cow::Borrowed(t),
            Cell::Word(w) => Cow::Borrowed(w),
            Cell::Number(n) => Cow::Owned(n.to_string()),
            Cell::Empty => Cow::Borrowed(""),
        }
    }
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Found => "found",
        Status::Unknown => "unknown",
        Status::Error => "error",
    }
}

/// The typed cells of a row, in [`COLUMNS`] order.
pub fn typed_cells(row: &Row) -> [Cell; 37] {
    let text = |s: Option<&str>| {
        Cell::Text(defuse(&replace_controls(s.unwrap_or(""), LineBreaks::Keep)).into_owned())
    };
    let num = |n: Option<i128>| n.map_or(Cell::Empty, Cell::Number);
    let o = &row.object;
    // Each name is defused on its own too: a spreadsheet user may split the list.
    let names = row
        .names
        .iter()
        .map(|n| defuse(n))
        .collect::<Vec<_>>()
        .join("; ");
    [
        text(Some(&row.input)),
        text(row.md5.as_deref()),
        text(row.sha1.as_deref()),
        text(row.sha256.as_deref()),
        Cell::Word(status_word(row.status)),
        Cell::Word(row.verdict.as_str()),
        Cell::Number(row.malicious.into()),
        Cell::Number(row.suspicious.into()),
        Cell::Number(row.undetected.into()),
        Cell::Number(row.harmless.into()),
        Cell::Number(row.total.into()),
        text(row.threat_label.as_deref()),
        text(row.file_type.as_deref()),
        num(row.size.map(i128::from)),
        text(row.meaningful_name.as_deref()),
        text(Some(&names)),
        text(Some(&row.tags.join("; "))),
        text(row.first_seen.as_deref()),
        text(row.last_seen.as_deref()),
        text(row.last_analysis.as_deref()),
        num(row.reputation.map(i128::from)),
        text(row.permalink.as_deref()),
        Cell::Word(if row.from_cache { "true" } else { "false" }),
        text(row.error.as_deref()),
        Cell::Word(row.kind.as_str()),
        text(row.written.as_deref()),
        text(o.final_url.as_deref()),
        text(o.title.as_deref()),
        text(Some(&o.categories.join("; "))),
        num(o.last_http_response_code.map(i128::from)),
        text(o.registrar.as_deref()),
        text(o.creation_date.as_deref()),
        text(Some(&o.last_dns_records.join("; "))),
        num(o.asn.map(i128::from)),
        text(o.as_owner.as_deref()),
        text(o.country.as_deref()),
        text(o.network.as_deref()),
    ]
}

/// The cells of a row as CSV writes them, text cells cleaned of control characters and
/// defused.
pub fn cells(row: &Row) -> Vec<String> {
    typed_cells(row)
        .iter()
        .map(|c| c.text().into_owned())
        .collect()
}

/// Writes the header line.
pub fn write_csv_header(w: &mut dyn Write) -> io::Result<()> {
    w.write_all(COLUMNS.join(",").as_bytes())?;
    w.write_all(b"\r\n")
}

/// Writes one row.
pub fn write_csv_row(w: &mut dyn Write, row: &Row) -> io::Result<()> {
    // A row's cells go to a buffer kept by the thread, then to `w` in one call (as
    // `write_jsonl_row` does).
    thread_local! {
        static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    LINE.with_borrow_mut(|line| {
        line.clear();
        for (i, cell) in typed_cells(row).iter().enumerate() {
            if i > 0 {
                line.push(b',');
            }
            write_cell(line, &cell.text())?;
        }
        line.extend_from_slice(b"\r\n");
        w.write_all(line)
    })
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
        let mut row = Row::error(crate::Hash::parse(&"a".repeat(32)).unwrap(), "x");
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
