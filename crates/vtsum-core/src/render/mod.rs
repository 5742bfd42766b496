//! Renderers: the same rows in every format. `json` and `jsonl` are serde of [`Row`];
//! [`csv`] defuses spreadsheet formulas; [`csv`] and [`table`] replace terminal control
//! characters ([`replace_controls`]); [`html`] escapes everything. All of them write to any
//! [`std::io::Write`].

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use crate::report::{Row, Summary};

pub mod csv;
pub mod html;
pub mod table;

pub use csv::{write_csv_header, write_csv_row};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
    Jsonl,
    Html,
}

impl Format {
    /// Every format, as named on the command line.
    pub const ALL: [Format; 5] = [
        Format::Table,
        Format::Csv,
        Format::Json,
        Format::Jsonl,
        Format::Html,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Html => "html",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown format {s:?}: use table, csv, json, jsonl or html"))
    }
}

/// What [`replace_controls`] does with tab, CR and LF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineBreaks {
    /// Keep them (CSV quotes them).
    Keep,
    /// Turn them into spaces (one table row is one line).
    Space,
}

/// Whether a character can change how a terminal or an editor shows the text around it:
/// C0 and C1 controls and DEL (`ESC[31m`, `CSI`), and the bidirectional overrides and
/// isolates (U+202A–U+202E, U+2066–U+2069) that make text read in another order.
pub fn is_hostile_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Replaces every [hostile control character](is_hostile_control) with U+FFFD, so a file
/// name from VirusTotal cannot colour, clear or reorder the analyst's terminal.
pub fn replace_controls(text: &str, breaks: LineBreaks) -> Cow<'_, str> {
    if !text.chars().any(is_hostile_control) {
        return Cow::Borrowed(text);
    }
    text.chars()
        .map(|c| match c {
            '\t' | '\r' | '\n' if breaks == LineBreaks::Keep => c,
            '\t' | '\r' | '\n' => ' ',
            c if is_hostile_control(c) => '\u{fffd}',
            c => c,
        })
        .collect::<String>()
        .into()
}

/// `1 hash`, `2 hashes`.
pub fn count<N: fmt::Display + PartialEq + From<u8>>(n: N, one: &str, many: &str) -> String {
    let word = if n == N::from(1) { one } else { many };
    format!("{n} {word}")
}

/// Presentation settings.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// ANSI colours in the table.
    pub color: bool,
    /// The HTML page's title.
    pub title: String,
    /// When the report was made (ISO 8601), shown in HTML.
    pub generated_at: String,
}

/// Writes a whole report.
pub fn render(
    w: &mut dyn Write,
    format: Format,
    rows: &[Row],
    summary: &Summary,
    opts: &RenderOptions,
) -> io::Result<()> {
    match format {
        Format::Table => table::write_table(w, rows, opts.color),
        Format::Csv => {
            write_csv_header(w)?;
            rows.iter().try_for_each(|r| write_csv_row(w, r))
        }
        Format::Json => {
            #[derive(serde::Serialize)]
            struct Report<'a> {
                summary: &'a Summary,
                results: &'a [Row],
            }
            serde_json::to_writer_pretty(
                &mut *w,
                &Report {
                    summary,
                    results: rows,
                },
            )?;
            w.write_all(b"\n")
        }
        Format::Jsonl => rows.iter().try_for_each(|r| write_jsonl_row(w, r)),
        Format::Html => html::write_html(w, rows, summary, opts),
    }
}

/// Writes one row as a line of JSON.
pub fn write_jsonl_row(w: &mut dyn Write, row: &Row) -> io::Result<()> {
    serde_json::to_writer(&mut *w, row)?;
    w.write_all(b"\n")
}
