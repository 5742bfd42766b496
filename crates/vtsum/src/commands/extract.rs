//! `vtsum extract`: the unique hashes of files or standard input, one per line, or with
//! `--count` only how many of each kind. Offline: no key, no store, no runtime work — the
//! scan runs on plain threads (see `vtsum_core::extract`).

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result};
use vtsum_core::extract::{Digests, Extractor};
use vtsum_core::HashKind;

use crate::cli::ExtractArgs;
use crate::exit::{bad_input, Exit};
use crate::output::say;
use crate::settings::is_stdin;

pub fn run(args: ExtractArgs) -> Result<Exit> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut ex = Extractor::new();
    let stdin_only = args.inputs.is_empty();
    if stdin_only && io::stdin().is_terminal() {
        say("vtsum: reading hashes from the terminal; end with Ctrl-D");
    }
    for path in stdin_only
        .then(|| Path::new("-"))
        .into_iter()
        .chain(args.inputs.iter().map(|p| p.as_path()))
    {
        if is_stdin(path) {
            ex.read_all(io::stdin().lock(), threads)
                .map_err(|e| bad_input(format!("cannot read standard input: {e}")))?;
        } else {
            let file = File::open(path)
                .map_err(|e| bad_input(format!("cannot open {}: {e}", shown(path))))?;
            if let Ok(meta) = file.metadata() {
                ex.expect_bytes(meta.len());
            }
            ex.read_all(file, threads)
                .map_err(|e| bad_input(format!("cannot read {}: {e}", shown(path))))?;
        }
        // Files are separate texts: a hash must not run from one file's end into the next.
        ex.end_input();
    }
    let found = ex.finish_digests();
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let written = if args.count {
        write_count(&mut out, &found)
    } else {
        write_hashes(&mut out, &found, threads)
    };
    match written.and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to standard output")
        }
        // A reader that went away (`| head`) is not an error.
        _ => Ok(Exit::Ok),
    }
}

/// Hashes per batch of output: each batch is turned into text on all threads, then
/// written, so memory stays a few megabytes whatever the count.
const BATCH: usize = 1 << 16;

fn write_hashes(out: &mut impl Write, found: &Digests, threads: usize) -> io::Result<()> {
    let threads = threads.max(1);
    let mut texts = vec![Vec::new(); threads];
    for batch in found.digests.chunks(BATCH * threads) {
        let share = batch.len().div_ceil(threads);
        std::thread::scope(|s| {
            for (text, digests) in texts.iter_mut().zip(batch.chunks(share)) {
                s.spawn(move || {
                    text.clear();
                    let mut buf = [0u8; 64];
                    for d in digests {
                        text.extend_from_slice(d.hex(&mut buf));
                        text.push(b'\n');
                    }
                });
            }
        });
        for (text, _) in texts.iter().zip(batch.chunks(share)) {
            out.write_all(text)?;
        }
    }
    Ok(())
}

fn write_count(out: &mut impl Write, found: &Digests) -> io::Result<()> {
    let of = |kind| found.digests.iter().filter(|d| d.kind() == kind).count();
    writeln!(out, "hashes: {}", found.digests.len())?;
    writeln!(out, "md5: {}", of(HashKind::Md5))?;
    writeln!(out, "sha1: {}", of(HashKind::Sha1))?;
    writeln!(out, "sha256: {}", of(HashKind::Sha256))?;
    writeln!(out, "duplicates: {}", found.duplicates)?;
    writeln!(out, "lines without a hash: {}", found.lines_without_hash)
}

/// A file name as it may be shown on a terminal: control characters (escape sequences
/// included) become `?`.
fn shown(path: &Path) -> String {
    path.display()
        .to_string()
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_their_control_characters() {
        assert_eq!(shown(Path::new("a\u{1b}[31mb\n\u{9b}c")), "a?[31mb??c");
    }
}
