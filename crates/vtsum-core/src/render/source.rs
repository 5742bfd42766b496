//! Where a report's rows come from: a [`RowSource`] hands them to a renderer one at a time
//! and can be walked again (each walk reads afresh), so no renderer needs the whole result
//! set in memory. A job in a store is one (`engine::JobRows`, a page of the store at a
//! time); a slice of rows is another, for tests and small callers.
//!
//! [`Tally`] completes a report's [`Summary`] from the rows as they pass, so formats that
//! write the summary after the rows need no walk of their own for it.

use std::io;

use crate::error::{Error, Result};
use crate::report::{Row, Summary};

/// What a renderer does with each row: write it, or count it. Its I/O error stops the walk.
pub type Visit<'a> = dyn FnMut(&Row) -> io::Result<()> + 'a;

/// Rows in report order that can be walked more than once.
pub trait RowSource {
    /// Calls `visit` with every row in order, each walk reading the rows afresh. An error
    /// from `visit` comes back as [`Error::Io`] with its kind kept (a broken pipe stays
    /// one); an error reading the rows comes back as itself.
    fn each(&self, visit: &mut Visit<'_>) -> Result<()>;
}

impl RowSource for &[Row] {
    fn each(&self, visit: &mut Visit<'_>) -> Result<()> {
        self.iter().try_for_each(|row| visit(row).map_err(writing))
    }
}

impl RowSource for Vec<Row> {
    fn each(&self, visit: &mut Visit<'_>) -> Result<()> {
        self.as_slice().each(visit)
    }
}

/// The error of a visit that failed, as a walk returns it.
pub fn writing(source: io::Error) -> Error {
    Error::io("writing the report", source)
}

/// An error of a walk as the writer's I/O error: the writer's own error as it was, anything
/// else (a store that failed mid-report) wrapped whole.
pub fn into_io(error: Error) -> io::Error {
    match error {
        Error::Io { source, .. } => source,
        other => io::Error::other(other),
    }
}

/// A report's summary, either given whole or completed from the rows as they are rendered.
pub(crate) struct Tally<'a> {
    summary: &'a mut Summary,
    /// Still counting: the rows' verdicts and cache hits are not in `summary` yet.
    counting: bool,
    seen: usize,
    /// The hashes the report is of, while counting.
    of: usize,
}

impl<'a> Tally<'a> {
    /// A summary already counted over the rows to be written.
    pub(crate) fn given(summary: &'a mut Summary) -> Tally<'a> {
        Tally {
            summary,
            counting: false,
            seen: 0,
            of: 0,
        }
    }

    /// A summary whose own fields are set (requests, lines without a hash, ...) and whose
    /// row counts are to be taken from the rows; any counts it holds are dropped. Its
    /// `total` says how many hashes the report is of (a job's total): `pending` becomes
    /// what the rows leave of it, so a job still running when its report is read is
    /// counted as the rows written show it.
    pub(crate) fn counting(summary: &'a mut Summary) -> Tally<'a> {
        summary.verdicts.clear();
        summary.cache_hits = 0;
        let of = summary.total;
        Tally {
            summary,
            counting: true,
            seen: 0,
            of,
        }
    }

    /// Counts a row on its way to the writer, while counting.
    pub(crate) fn row(&mut self, row: &Row) {
        if self.counting {
            // count_rows adds to the verdicts and cache hits; its total (one row) is
            // replaced by `finish` once every row has been seen.
            self.summary.count_rows(std::slice::from_ref(row));
            self.seen += 1;
        }
    }

    /// The summary once every row has passed through [`Tally::row`].
    pub(crate) fn finish(&mut self) -> &Summary {
        if self.counting {
            self.summary.pending = self.of.saturating_sub(self.seen);
            self.summary.total = self.seen + self.summary.pending;
            self.counting = false;
        }
        self.summary
    }

    /// The summary before any row is written: a walk of its own when still counting, for
    /// formats that show the summary first.
    pub(crate) fn ahead(&mut self, rows: &dyn RowSource) -> Result<&Summary> {
        if self.counting {
            rows.each(&mut |row| {
                self.row(row);
                Ok(())
            })?;
        }
        Ok(self.finish())
    }
}

/// Completes `summary`'s row counts (verdicts, cache hits, pending out of its total; see
/// [`Tally::counting`]) in one walk of `rows`,
/// for callers that need the counts without rendering (JSON Lines written as it came).
pub fn tally(rows: &dyn RowSource, summary: &mut Summary) -> Result<()> {
    Tally::counting(summary).ahead(rows).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Hash;

    #[test]
    fn a_walk_counts_what_count_rows_counts() {
        let mut rows: Vec<Row> = (0..5u8)
            .map(|i| Row::error(Hash::parse(&format!("{i}").repeat(32)).unwrap(), "x"))
            .collect();
        rows[1].from_cache = true;
        let mut expected = Summary {
            pending: 3,
            ..Summary::default()
        };
        expected.count_rows(&rows);
        let mut walked = Summary {
            total: 8,
            pending: 99,
            cache_hits: 99,
            ..Summary::default()
        };
        tally(&rows, &mut walked).unwrap();
        assert_eq!(walked, expected);
        assert_eq!(walked.total, 8);
    }

    #[test]
    fn a_failed_visit_keeps_its_kind() {
        let rows = vec![Row::error(Hash::parse(&"a".repeat(32)).unwrap(), "x")];
        let err = rows
            .each(&mut |_| Err(io::Error::from(io::ErrorKind::BrokenPipe)))
            .unwrap_err();
        assert_eq!(into_io(err).kind(), io::ErrorKind::BrokenPipe);
    }
}
