//! `vtsum cache import FILE|DIR|-…`: cached answers from another store's export or from
//! VirusTotal's own JSON (see `vtsum_core::import`), written into this store.
//!
//! A file whose first line is a whole JSON document is read as JSON lines (an export, or
//! VirusTotal objects one a line), a line at a time; any other file is one document (a
//! pretty-printed VirusTotal answer); a directory is every regular file in it, in name
//! order. Bad documents are counted and the first few named, never fatal to the rest.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::Result;
use vtsum_core::import::{read_document, MAX_DOCUMENT};
use vtsum_core::report::CacheEntry;
use vtsum_core::store::Store;

use crate::exit::{bad_input, Exit};
use crate::output::say;

/// How many bad documents are named; the rest are only counted.
const NAMED: usize = 5;

/// Answers written to the store at once: one transaction (SQLite) or script (Redis) each.
const BATCH: usize = 500;

#[derive(Default)]
struct Tally {
    imported: u64,
    bad: u64,
    named: Vec<String>,
    /// Read but not yet written.
    pending: Vec<CacheEntry>,
}

impl Tally {
    fn bad(&mut self, place: String, why: &str) {
        self.bad += 1;
        if self.named.len() < NAMED {
            self.named.push(format!("{place}: {why}"));
        }
    }

    fn put(&mut self, store: &dyn Store, entries: Vec<CacheEntry>) -> Result<()> {
        self.pending.extend(entries);
        if self.pending.len() >= BATCH {
            self.flush(store)?;
        }
        Ok(())
    }

    fn flush(&mut self, store: &dyn Store) -> Result<()> {
        store.cache_put_many(&self.pending)?;
        self.imported += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// Reads one document and stores what it holds.
    fn document(&mut self, store: &dyn Store, place: String, text: &[u8]) -> Result<()> {
        match read_document(text, vtsum_core::engine::now_unix()) {
            Ok(entries) => self.put(store, entries),
            Err(why) => {
                self.bad(place, &why);
                Ok(())
            }
        }
    }
}

/// Imports every input into `store` (runs on a blocking thread: it is all store I/O).
pub fn run(store: &dyn Store, inputs: &[PathBuf]) -> Result<Exit> {
    let mut tally = Tally::default();
    let stdin = [PathBuf::from("-")];
    for input in if inputs.is_empty() {
        &stdin[..]
    } else {
        inputs
    } {
        if input.as_os_str() == "-" {
            lines(store, &mut tally, "stdin", std::io::stdin().lock())?;
        } else if input.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(input)
                .map_err(|e| bad_input(format!("cannot read {}: {e}", input.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            for path in files {
                file(store, &mut tally, &path)?;
            }
        } else {
            file(store, &mut tally, input)?;
        }
    }
    tally.flush(store)?;
    say(&format!(
        "vtsum: imported {} cached answer(s) into {}; {} bad document(s) skipped",
        tally.imported,
        store.describe(),
        tally.bad
    ));
    for line in &tally.named {
        say(&format!("  {line}"));
    }
    Ok(Exit::Ok)
}

/// One file: JSON lines if its first line is a document, else one document.
fn file(store: &dyn Store, tally: &mut Tally, path: &Path) -> Result<()> {
    let shown = path.display().to_string();
    let open = || File::open(path).map_err(|e| bad_input(format!("cannot read {shown}: {e}")));
    let mut first = Vec::new();
    BufReader::new(open()?)
        .take(MAX_DOCUMENT as u64)
        .read_until(b'\n', &mut first)
        .map_err(|e| bad_input(format!("cannot read {shown}: {e}")))?;
    if serde_json::from_slice::<serde_json::Value>(&first).is_ok() {
        return lines(store, tally, &shown, BufReader::new(open()?));
    }
    let mut text = Vec::new();
    open()?
        .take(MAX_DOCUMENT as u64 + 1)
        .read_to_end(&mut text)
        .map_err(|e| bad_input(format!("cannot read {shown}: {e}")))?;
    if text.len() > MAX_DOCUMENT {
        tally.bad(shown, "larger than 64 MiB and not JSON lines");
        return Ok(());
    }
    tally.document(store, shown, &text)
}

/// JSON lines, a line at a time; blank lines are skipped, an over-long line is bad.
fn lines(store: &dyn Store, tally: &mut Tally, shown: &str, mut input: impl BufRead) -> Result<()> {
    let mut line = Vec::new();
    for number in 1.. {
        line.clear();
        let read = (&mut input)
            .take(MAX_DOCUMENT as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| bad_input(format!("cannot read {shown}: {e}")))?;
        if read == 0 {
            break;
        }
        if line.len() > MAX_DOCUMENT {
            tally.bad(format!("{shown} line {number}"), "longer than 64 MiB");
            // Skip the rest of the line.
            let mut rest = Vec::new();
            input
                .read_until(b'\n', &mut rest)
                .map_err(|e| bad_input(format!("cannot read {shown}: {e}")))?;
            continue;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        tally.document(store, format!("{shown} line {number}"), &line)?;
    }
    Ok(())
}
