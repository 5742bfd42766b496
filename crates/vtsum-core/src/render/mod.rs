//! Renderers: the same rows in every format. `json` and `jsonl` are serde of [`Row`];
//! [`csv`] defuses spreadsheet formulas; [`table`] strips terminal control characters;
//! [`html`] escapes everything. All of them write to any [`std::io::Write`].

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
