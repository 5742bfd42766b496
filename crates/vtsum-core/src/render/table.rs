//! The terminal table. Every cell is cleaned of control characters first: a file named
//! `\x1b[2J...` must not be able to clear the analyst's screen or fake a verdict colour.
//!
//! The column widths come from a first walk of the rows (each cut to its cap), the lines
//! from a second, so no row is kept between them.

use std::io::{self, Write};

use super::source::{into_io, writing, RowSource, Tally};
use crate::error::Result;
use crate::report::{Row, Verdict};

/// Replaces control characters and bidi overrides with U+FFFD, and line breaks with spaces.
pub fn clean(text: &str) -> String {
    super::replace_controls(text, super::LineBreaks::Space).into_owned()
}

/// Cuts a cleaned cell to `max` characters, ending in `…` when cut.
fn fit(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn colour(v: Verdict) -> &'static str {
    match v {
        Verdict::Malicious => "\x1b[1;31m",
        Verdict::Suspicious => "\x1b[33m",
        Verdict::Clean => "\x1b[32m",
        Verdict::Unanalysed => "\x1b[34m",
        Verdict::Unknown => "\x1b[2m",
        Verdict::Error => "\x1b[35m",
    }
}

const HEADERS: [&str; 6] = ["VERDICT", "DETECTIONS", "THREAT", "TYPE", "NAME", "HASH"];
const CAPS: [usize; 6] = [10, 10, 30, 18, 36, 64];

fn cells(row: &Row) -> [String; 6] {
    let detections = if row.total > 0 || row.malicious > 0 {
        format!("{}/{}", row.malicious, row.total)
    } else {
        "-".to_string()
    };
    let name = match &row.error {
        Some(e) => e.clone(),
        None => row
            .object_summary()
            .or_else(|| row.meaningful_name.clone())
            .or_else(|| row.names.first().cloned())
            .unwrap_or_default(),
    };
    [
        row.verdict.as_str().to_string(),
        detections,
        clean(row.threat_label.as_deref().unwrap_or("")),
        clean(row.type_or_kind().unwrap_or("")),
        clean(&name),
        clean(&row.input),
    ]
}

/// Writes the rows as an aligned table.
pub fn write_table(w: &mut dyn Write, rows: &[Row], color: bool) -> io::Result<()> {
    let mut summary = crate::report::Summary::default();
    write_table_rows(w, &rows, &mut Tally::given(&mut summary), color).map_err(into_io)
}

/// Writes the rows as an aligned table in two walks: the column widths, then the lines.
pub(crate) fn write_table_rows(
    w: &mut dyn Write,
    rows: &dyn RowSource,
    tally: &mut Tally<'_>,
    color: bool,
) -> Result<()> {
    let mut widths = HEADERS.map(str::len);
    rows.each(&mut |row| {
        for (i, c) in cells(row).iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count().min(CAPS[i]));
        }
        Ok(())
    })?;
    let line =
        |w: &mut dyn Write, cells: [String; 6], verdict: Option<Verdict>| -> io::Result<()> {
            let mut out = String::new();
            for (i, cell) in cells.iter().enumerate() {
                let cell = fit(cell, CAPS[i]);
                let pad = widths[i].saturating_sub(cell.chars().count());
                match (i, verdict) {
                    (0, Some(v)) if color => {
                        out.push_str(colour(v));
                        out.push_str(&cell);
                        out.push_str("\x1b[0m");
                    }
                    _ => out.push_str(&cell),
                }
                if i + 1 < cells.len() {
                    out.push_str(&" ".repeat(pad + 2));
                }
            }
            writeln!(w, "{}", out.trim_end())
        };
    line(w, HEADERS.map(String::from), None).map_err(writing)?;
    rows.each(&mut |row| {
        tally.row(row);
        line(w, cells(row), Some(row.verdict))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_controls_and_fits() {
        assert_eq!(
            clean("a\u{1b}[31mb\u{9b}c\nd\u{202e}e"),
            "a\u{fffd}[31mb\u{fffd}c d\u{fffd}e"
        );
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
    }
}
