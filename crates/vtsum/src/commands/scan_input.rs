//! What `vtsum scan` and `vtsum watch add` read: every input (files, or standard input for `-` or none), once,
//! into the hash extractor and, when `--kinds` names them, the extractor of URLs, domains
//! and IP addresses.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result};
use vtsum_core::extract::ioc::{Indicators, IocExtractor, IocOptions};
use vtsum_core::extract::{extract_reader, Extracted, Extractor};

use crate::cli::KindArgs;
use crate::output::say;
use crate::settings::is_stdin;

/// The hashes of the inputs and, when `--kinds` names them, their URLs, domains and IP
/// addresses (the input read once, fed to both extractors).
pub(super) fn read_inputs(
    inputs: &[PathBuf],
    which: &KindArgs,
) -> Result<(Extracted, Option<Indicators>)> {
    if !which.kinds.any_other() {
        return Ok((read_hashes(inputs)?, None));
    }
    let mut hashes = Extractor::new();
    let mut others = IocExtractor::new(IocOptions {
        kinds: which.kinds.other,
        include_private: which.include_private,
        skip: super::extract::skip_list(which.skip.as_deref())?,
    });
    let stdin_only = inputs.is_empty();
    if stdin_only && std::io::stdin().is_terminal() {
        say("vtsum: reading text from the terminal; end with Ctrl-D");
    }
    let stdin = [std::path::PathBuf::from("-")];
    let paths = if stdin_only { &stdin[..] } else { inputs };
    for path in paths {
        let read = if is_stdin(path) {
            super::extract::feed_both(std::io::stdin().lock(), &mut hashes, &mut others)
        } else {
            std::fs::File::open(path)
                .and_then(|f| super::extract::feed_both(f, &mut hashes, &mut others))
        };
        read.with_context(|| format!("cannot read {}", path.display()))?;
        hashes.feed(b"\n");
    }
    let mut extracted = hashes.finish();
    if !which.kinds.hashes {
        // Only the other kinds were asked for: the hashes are not looked up.
        extracted.drop_hashes();
    }
    Ok((extracted, Some(others.finish())))
}

/// Reads every input (files, or standard input for `-` or none) through one extractor,
/// scanning on every core as `vtsum extract` does.
fn read_hashes(inputs: &[PathBuf]) -> Result<Extracted> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if inputs.is_empty() || (inputs.len() == 1 && is_stdin(&inputs[0])) {
        if std::io::stdin().is_terminal() {
            say("vtsum: reading hashes from the terminal; end with Ctrl-D");
        }
        return extract_reader(std::io::stdin().lock()).context("cannot read standard input");
    }
    let mut extractor = Extractor::new();
    for path in inputs {
        if is_stdin(path) {
            extractor
                .read_all(std::io::stdin().lock(), threads)
                .context("cannot read standard input")?;
        } else {
            // No `expect_bytes` here: sized for a hash-dense log, it would reserve a set for
            // millions of hashes in a 500 MB log holding twenty.
            let file = std::fs::File::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            extractor
                .read_all(file, threads)
                .with_context(|| format!("cannot read {}", path.display()))?;
        }
        // Files are separate texts: a hash must not run from one file's end into the next.
        extractor.end_input();
    }
    Ok(extractor.finish())
}
