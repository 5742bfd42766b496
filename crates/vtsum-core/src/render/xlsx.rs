//! The Excel workbook (`.xlsx`), written by `rust_xlsxwriter`: one sheet, a bold frozen
//! header row with an autofilter, one row per hash, and the same columns as CSV. The sheet
//! is in `rust_xlsxwriter`'s constant-memory mode (rows to a temporary file as written,
//! strings inline in the sheet rather than in `sharedStrings.xml`), so a workbook of a
//! million rows costs no more memory than one of ten.
//!
//! The cells are CSV's typed cells ([`typed_cells`]): numbers go in as numbers straight
//! from the [`Row`] (nothing is parsed back out of text), and every text cell is the CSV's,
//! defused exactly the same way. Text is written with `write_string`, so it is a string
//! cell and never a formula; the defusing still matters because people copy cells into
//! formula bars and re-save sheets as CSV.

use std::io::{self, Seek, SeekFrom, Write};

use rust_xlsxwriter::{Format as CellFormat, Workbook, Worksheet, XlsxError};

use super::csv::{typed_cells, Cell, COLUMNS};
use super::source::{into_io, writing, RowSource, Tally};
use crate::error::Result;
use crate::report::Row;

/// The sheet's name.
pub const SHEET: &str = "vtsum";

/// Excel's cap on one cell's text, in UTF-16 code units (not characters: an emoji is two).
pub const MAX_CELL_UTF16: usize = 32_767;

/// Excel's rows per sheet, the header row included.
pub const MAX_ROWS: usize = 1_048_576;

/// Column widths in characters where the default (8.43) would hide what matters: the hashes
/// and the names.
const WIDTHS: [(&str, f64); 8] = [
    ("input", 40.0),
    ("md5", 34.0),
    ("sha1", 42.0),
    ("sha256", 66.0),
    ("threat_label", 24.0),
    ("type", 16.0),
    ("meaningful_name", 32.0),
    ("names", 40.0),
];

/// The longest start of `text` that fits in one cell. Cut, not refused: one absurd file
/// name must not cost the analyst the whole workbook. The cut keeps the start, so a
/// defusing `'` stays in front.
pub fn fit_cell(text: &str) -> &str {
    let mut units = 0;
    for (i, c) in text.char_indices() {
        units += c.len_utf16();
        if units > MAX_CELL_UTF16 {
            return &text[..i];
        }
    }
    text
}

/// Writes the workbook of `rows` to `w`.
pub fn write_xlsx(w: &mut dyn Write, rows: &[Row]) -> io::Result<()> {
    let mut summary = crate::report::Summary::default();
    write_xlsx_rows(w, &rows, &mut Tally::given(&mut summary)).map_err(into_io)
}

/// Writes the workbook in two walks: the row count (a sheet's limit is checked before
/// anything is written), then the rows.
pub(crate) fn write_xlsx_rows(
    w: &mut dyn Write,
    rows: &dyn RowSource,
    tally: &mut Tally<'_>,
) -> Result<()> {
    let mut count = 0usize;
    rows.each(&mut |_| {
        count += 1;
        Ok(())
    })?;
    if count >= MAX_ROWS {
        return Err(writing(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "an Excel sheet holds at most {} rows and this report has {count}: \
                 choose csv or jsonl instead",
                MAX_ROWS - 1,
            ),
        )));
    }
    workbook(w, rows, count, tally)
}

/// An error of the workbook writer, as an I/O error of the report.
fn xlsx_error(e: XlsxError) -> io::Error {
    io::Error::other(e)
}

/// Writes the workbook to `w`. The sheet is in constant-memory mode: each row goes to a
/// temporary file as it is written (its strings inline, no shared-string table to grow),
/// and the finished zip is built in another temporary file and copied out, so neither the
/// cells nor the compressed bytes are held.
fn workbook(
    w: &mut dyn Write,
    rows: &dyn RowSource,
    count: usize,
    tally: &mut Tally<'_>,
) -> Result<()> {
    let fail = |e: XlsxError| writing(xlsx_error(e));
    let mut book = Workbook::new();
    let sheet = book.add_worksheet_with_constant_memory().map_err(fail)?;
    header(sheet, count).map_err(fail)?;
    let mut row_number = 0u32;
    rows.each(&mut |row| {
        tally.row(row);
        row_number += 1;
        write_row(sheet, row_number, row).map_err(xlsx_error)
    })?;
    let mut zip = tempfile::tempfile().map_err(writing)?;
    book.save_to_writer(&mut zip).map_err(fail)?;
    zip.seek(SeekFrom::Start(0)).map_err(writing)?;
    io::copy(&mut zip, w).map_err(writing)?;
    Ok(())
}

/// The sheet's name, column widths, autofilter over `count` rows, frozen bold header row:
/// everything but the rows, set before them as constant-memory mode wants.
fn header(sheet: &mut Worksheet, count: usize) -> Result<(), XlsxError> {
    sheet.set_name(SHEET)?;
    let last_row = u32::try_from(count).unwrap_or(u32::MAX);
    let last_col = u16::try_from(COLUMNS.len() - 1).unwrap_or(u16::MAX);
    sheet.autofilter(0, 0, last_row, last_col)?;
    sheet.set_freeze_panes(1, 0)?;
    let bold = CellFormat::new().set_bold();
    for (col, name) in (0u16..).zip(COLUMNS) {
        sheet.write_string_with_format(0, col, name, &bold)?;
    }
    for (col, name) in (0u16..).zip(COLUMNS) {
        if let Some((_, width)) = WIDTHS.iter().find(|(n, _)| *n == name) {
            sheet.set_column_width(col, *width)?;
        }
    }
    Ok(())
}

/// One report row's cells.
fn write_row(sheet: &mut Worksheet, row_number: u32, row: &Row) -> Result<(), XlsxError> {
    for (col, cell) in (0u16..).zip(typed_cells(row)) {
        match cell {
            Cell::Text(text) => {
                sheet.write_string(row_number, col, fit_cell(&text))?;
            }
            Cell::Word(word) => {
                sheet.write_string(row_number, col, word)?;
            }
            // Excel's numbers are doubles: exact to 2^53, far beyond a file size.
            Cell::Number(n) => {
                sheet.write_number(row_number, col, n as f64)?;
            }
            Cell::Empty => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_cut_at_excels_limit_in_utf16_units() {
        let short = "a".repeat(MAX_CELL_UTF16);
        assert_eq!(fit_cell(&short), short);
        let long = format!("'={}", "b".repeat(MAX_CELL_UTF16));
        let cut = fit_cell(&long);
        assert_eq!(cut.len(), MAX_CELL_UTF16);
        assert!(cut.starts_with("'="), "the defusing quote stays");
        // 😀 is two UTF-16 units: 16,384 of them would be 32,768.
        let emoji = "😀".repeat(16_384);
        assert_eq!(fit_cell(&emoji).chars().count(), 16_383);
    }

    /// Found by the `xlsx` fuzz target (fuzz/artifacts/xlsx/fffe-before-formula): U+FFFE
    /// is no formula character, so the cell is not defused, but XML cannot hold it; a
    /// writer that dropped it would uncover the formula behind it. It is kept, escaped.
    #[test]
    fn a_character_xml_cannot_hold_does_not_uncover_a_formula() {
        use std::io::Read;
        let mut row = Row::error(crate::Hash::parse(&"4".repeat(32)).unwrap(), "");
        row.input = "\u{FFFE}=1+1".into();
        let mut out = Vec::new();
        write_xlsx(&mut out, &[row]).unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(out)).unwrap();
        // The sheet holds its strings inline (constant-memory mode).
        let mut strings = String::new();
        zip.by_name("xl/worksheets/sheet1.xml")
            .unwrap()
            .read_to_string(&mut strings)
            .unwrap();
        assert!(!strings.contains(">=1+1<"), "formula uncovered");
        assert!(!strings.contains('\u{FFFE}'));
        assert!(strings.contains(">_xFFFE_=1+1<"), "{strings}");
    }

    #[test]
    fn a_cell_over_the_limit_still_makes_a_workbook() {
        let mut row = Row::error(crate::Hash::parse(&"a".repeat(32)).unwrap(), "");
        row.meaningful_name = Some("😀".repeat(40_000));
        let mut out = Vec::new();
        write_xlsx(&mut out, &[row]).unwrap();
        assert_eq!(&out[..2], b"PK");
    }
}
