//! The text a job's rows are searched by, kept narrow and apart: `job_text` holds, per
//! result that has any, its threat label, file type, meaningful name, names and tags
//! (JSON lists as stored) and a URL's, domain's or IP address's value and written form,
//! one line each. A free-text page scans this table instead of `job_results`, whose rows
//! are four to five times wider, and reads the full rows of the matches only: a
//! million-row job's `q=family7` page went from 0.95 s (CI, 2 cores) to about a quarter.
//!
//! It is a prefilter, never the answer: a row whose text holds the query may still fail
//! the exact test (`sqlite_page` keeps it, e.g. a match across two names or inside a JSON
//! escape), and it only applies when every row the exact test passes has the query in its
//! text. That holds for a query without `"` and `\` (which JSON escapes) that is not all
//! hex digits (hex queries also match the hashes, which are not here): such queries still
//! read every row, as before.
//!
//! A trigger writes the text in the same statement as the result, whichever way it is
//! recorded (a lookup, or the cache pass inside SQLite), so the two can never disagree;
//! schema 4 fills it for the results of older files.

use rusqlite::Transaction;

/// The text of a result, over the columns of `row` (`new` in the trigger, `job_results`
/// when older files are filled). Lines, so a query (which holds no control characters)
/// never matches across two fields.
fn text_of(row: &str) -> String {
    let fields: Vec<String> = [
        "threat_label",
        "type_description",
        "meaningful_name",
        "names",
        "tags",
    ]
    .iter()
    .map(|c| format!("ifnull({row}.{c}, '')"))
    .collect();
    format!(
        "{} || CASE WHEN instr({row}.input, ':') > 0 \
             THEN char(10) || substr({row}.input, instr({row}.input, ':') + 1) ELSE '' END",
        fields.join(" || char(10) || ")
    )
}

/// Whether a result has any searchable text (unknown files and errors have none).
fn has_text(row: &str) -> String {
    format!(
        "(coalesce({row}.threat_label, {row}.type_description, {row}.meaningful_name, \
          {row}.names, {row}.tags) IS NOT NULL OR instr({row}.input, ':') > 0)"
    )
}

/// The table and the trigger that fills it.
pub(crate) fn schema() -> String {
    format!(
        "
CREATE TABLE IF NOT EXISTS job_text (
    job_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (job_id, idx)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS job_results_text AFTER INSERT ON job_results
WHEN {}
BEGIN
    INSERT OR REPLACE INTO job_text (job_id, idx, text) VALUES (new.job_id, new.idx, {});
END;
",
        has_text("new"),
        text_of("new")
    )
}

/// Schema 4: the text of the results older files already hold, in the caller's
/// transaction.
pub(crate) fn migrate_v3(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(&format!(
        "INSERT OR IGNORE INTO job_text (job_id, idx, text)
         SELECT job_id, idx, {} FROM job_results WHERE {};",
        text_of("job_results"),
        has_text("job_results")
    ))
}

/// Whether a free text may be looked for in `job_text` first (see the module doc).
pub(crate) fn prefilters(text: &str) -> bool {
    !text.contains(['"', '\\']) && !text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::prefilters;

    #[test]
    fn hex_and_escaped_texts_read_every_row() {
        assert!(prefilters("family7"));
        assert!(prefilters("evil.example"));
        assert!(!prefilters("deadbeef"));
        assert!(!prefilters("2024"));
        assert!(!prefilters("a\"b"));
        assert!(!prefilters("c:\\temp"));
    }
}
