//! Renderers, and the one registry of output formats: the same typed [`Row`]s in every
//! format. `json` and `jsonl` are serde of [`Row`]; [`csv`] defuses spreadsheet formulas
//! and [`xlsx`] writes the same defused cells, with numbers as numbers; [`csv`] and
//! [`table`] replace terminal control characters ([`replace_controls`]); [`html`] escapes
//! everything; [`stix`] (a STIX 2.1 bundle) and [`misp`] (a MISP event) carry the rows to
//! threat-intelligence platforms. All of them write to any [`std::io::Write`].
//!
//! Rows come from a [`RowSource`] (a job in a store, a page at a time, or a slice), so a
//! report of a million rows is written without holding them: CSV, JSON Lines, JSON, STIX
//! and MISP in one walk, the table, HTML and the workbook in two (column widths, the summary shown
//! first, the row count). [`source`] says how the summary is completed on the way.
//!
//! [`Format`] is the registry: its name, a label for people, its content type, file
//! extensions and whether the web app offers it as a download live here and nowhere else,
//! so the CLI's `--format`/`-o` and the web's `?format=` cannot drift apart.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use crate::error::Result;
use crate::report::{Row, Summary};

pub mod csv;
pub mod html;
pub mod json;
pub mod misp;
pub mod source;
pub mod stix;
pub mod table;
pub mod xlsx;

pub use csv::{write_csv_header, write_csv_row};
pub use json::write_jsonl_row;
pub use source::{into_io, tally, RowSource, Visit};
use source::{writing, Tally};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Table,
    Csv,
    Json,
    Jsonl,
    Html,
    Xlsx,
    Stix,
    Misp,
}

impl Format {
    /// Every format, as listed on the command line.
    pub const ALL: [Format; 8] = [
        Format::Table,
        Format::Csv,
        Format::Json,
        Format::Jsonl,
        Format::Html,
        Format::Xlsx,
        Format::Stix,
        Format::Misp,
    ];

    /// The formats the web app offers as downloads, in the order it lists them (JSON, the
    /// API's default, first). `openapi.json` names the same (a test compares them).
    pub const DOWNLOADS: [Format; 7] = [
        Format::Json,
        Format::Jsonl,
        Format::Csv,
        Format::Xlsx,
        Format::Html,
        Format::Stix,
        Format::Misp,
    ];

    /// The name on the command line and in `?format=`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Html => "html",
            Format::Xlsx => "xlsx",
            Format::Stix => "stix",
            Format::Misp => "misp",
        }
    }

    /// What people call it, for buttons and help.
    pub fn label(self) -> &'static str {
        match self {
            Format::Table => "Table",
            Format::Csv => "CSV",
            Format::Json => "JSON",
            Format::Jsonl => "JSON Lines",
            Format::Html => "HTML report",
            Format::Xlsx => "Excel",
            Format::Stix => "STIX 2.1",
            Format::Misp => "MISP event",
        }
    }

    /// One line on what it is, for `--help`.
    pub fn about(self) -> &'static str {
        match self {
            Format::Table => "aligned columns for a terminal, coloured there",
            Format::Csv => "RFC 4180, cells that could run as formulas defused",
            Format::Json => "one document: {\"results\": […], \"summary\": …}",
            Format::Jsonl => "one row a line, written as each answer arrives",
            Format::Html => "one self-contained page, everything escaped",
            Format::Xlsx => "an Excel workbook, cells defused as in CSV (to -o or a pipe)",
            Format::Stix => "a STIX 2.1 bundle: an indicator per malicious or suspicious file",
            Format::Misp => "a MISP event: an attribute per hash of each file",
        }
    }

    /// The HTTP content type of a download.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Table => "text/plain; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
            Format::Jsonl => "application/x-ndjson",
            Format::Html => "text/html; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Stix => "application/stix+json;version=2.1",
            Format::Misp => "application/json",
        }
    }

    /// The file extensions (lower case, no dot) that name this format; the first is the one
    /// vtsum gives its own files.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Format::Table => &["txt"],
            Format::Csv => &["csv"],
            Format::Json => &["json"],
            Format::Jsonl => &["jsonl", "ndjson"],
            Format::Html => &["html", "htm"],
            Format::Xlsx => &["xlsx"],
            // Their own names: `.json` stays plain JSON's.
            Format::Stix => &["stix"],
            Format::Misp => &["misp"],
        }
    }

    /// The extension of a file vtsum names itself, e.g. a download's.
    pub fn extension(self) -> &'static str {
        self.extensions()[0]
    }

    /// The format a file extension names (any case), if any.
    pub fn from_extension(ext: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.extensions().iter().any(|e| e.eq_ignore_ascii_case(ext)))
    }

    /// Whether the web app offers it as a download.
    pub fn is_download(self) -> bool {
        Format::DOWNLOADS.contains(&self)
    }

    /// Whether its bytes are not text: useless on a terminal, and no `.txt` file.
    pub fn is_binary(self) -> bool {
        self == Format::Xlsx
    }

    /// `a, b or c`, for messages that list formats.
    pub fn list(formats: &[Format]) -> String {
        let names: Vec<&str> = formats.iter().map(|f| f.name()).collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.join(""),
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
            .ok_or_else(|| {
                format!(
                    "unknown format {:?}: use {}",
                    s.chars().take(20).collect::<String>(),
                    Format::list(&Format::ALL)
                )
            })
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
    // Printable ASCII, most of every report, is seen byte by byte; anything else is
    // decoded and checked.
    let printable = |b: &u8| (0x20..0x7f).contains(b);
    if text.as_bytes().iter().all(printable) || !text.chars().any(is_hostile_control) {
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

/// Writes a whole report in `format` from rows already in memory, with their summary
/// already counted.
pub fn render(
    mut w: impl Write,
    format: Format,
    rows: &[Row],
    summary: &Summary,
    opts: &RenderOptions,
) -> io::Result<()> {
    let mut summary = summary.clone();
    write_report(&mut w, format, &rows, &mut Tally::given(&mut summary), opts).map_err(into_io)
}

/// Writes a whole report in `format`, walking `rows` as the format needs (see the module
/// docs) and never holding more than one row. `summary` comes with its own fields set
/// (`requests`, `lines_without_hash`, ...) and `total` the number of hashes the report is
/// of; its row counts (verdicts, cache hits, and `pending`, what the rows leave of the
/// total) are taken from the rows written, and are there when this returns.
///
/// A failed write comes back as [`Error::Io`](crate::Error::Io) with the writer's error
/// kind kept; a failure reading the rows as itself.
pub fn render_rows(
    w: &mut dyn Write,
    format: Format,
    rows: &dyn RowSource,
    summary: &mut Summary,
    opts: &RenderOptions,
) -> Result<()> {
    let mut tally = Tally::counting(summary);
    write_report(w, format, rows, &mut tally, opts)?;
    tally.finish();
    Ok(())
}

fn write_report(
    w: &mut dyn Write,
    format: Format,
    rows: &dyn RowSource,
    tally: &mut Tally<'_>,
    opts: &RenderOptions,
) -> Result<()> {
    match format {
        Format::Table => table::write_table_rows(w, rows, tally, opts.color),
        Format::Csv => {
            write_csv_header(w).map_err(writing)?;
            rows.each(&mut |r| {
                tally.row(r);
                write_csv_row(w, r)
            })
        }
        Format::Json => json::write_json(w, rows, tally),
        Format::Jsonl => rows.each(&mut |r| {
            tally.row(r);
            write_jsonl_row(w, r)
        }),
        Format::Html => html::write_html(w, rows, tally.ahead(rows)?, opts),
        Format::Xlsx => xlsx::write_xlsx_rows(w, rows, tally),
        Format::Stix => stix::write_stix(w, rows, tally, opts),
        Format::Misp => misp::write_misp(w, rows, tally, opts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_is_found_by_its_name_and_each_extension() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>(), Ok(f));
            assert_eq!(f.name().to_uppercase().parse::<Format>(), Ok(f));
            for ext in f.extensions() {
                assert_eq!(Format::from_extension(ext), Some(f), "{ext}");
            }
        }
        assert_eq!(Format::from_extension("XLSX"), Some(Format::Xlsx));
        assert_eq!(Format::from_extension("pdf"), None);
        let err = "pdf".parse::<Format>().unwrap_err();
        assert!(
            err.ends_with("table, csv, json, jsonl, html, xlsx, stix or misp"),
            "{err}"
        );
    }

    #[test]
    fn the_web_offers_its_downloads_and_never_the_table() {
        let offered: Vec<Format> = Format::ALL
            .into_iter()
            .filter(|f| f.is_download())
            .collect();
        assert_eq!(offered.len(), Format::DOWNLOADS.len());
        assert!(!Format::Table.is_download());
        assert_eq!(Format::Xlsx.label(), "Excel");
        assert!(Format::ALL.iter().all(|f| !f.content_type().is_empty()));
    }
}
