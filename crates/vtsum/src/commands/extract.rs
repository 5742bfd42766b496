//! `vtsum extract`: the unique hashes of files or standard input, one per line, or with
//! `--count` only how many of each kind. Offline: no key, no store, no runtime work — the
//! scan runs on plain threads (see `vtsum_core::extract`). With `--kinds` naming URLs,
//! domains or IPs, the input is read once on one thread and fed to both extractors
//! (`vtsum_core::extract::ioc` for the others); the hashes come first, then the rest, each
//! kind in first-seen order. The weaker hashes of a labelled group (`MD5=…,SHA256=…`)
//! follow the lookups, as in a scan's job; non-file hashes (`IMPHASH=…`) are only counted.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result};
use vtsum_core::extract::ioc::{Indicators, IocExtractor, IocOptions, SkipList};
use vtsum_core::extract::{Digests, Extractor};
use vtsum_core::HashKind;

use crate::cli::ExtractArgs;
use crate::exit::{bad_input, Exit};
use crate::output::say;
use crate::settings::{is_stdin, read_at_most};

pub fn run(args: ExtractArgs) -> Result<Exit> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut ex = Extractor::new();
    let mut others = match args.which.kinds.any_other() {
        true => Some(IocExtractor::new(IocOptions {
            kinds: args.which.kinds.other,
            include_private: args.which.include_private,
            skip: skip_list(args.which.skip.as_deref())?,
        })),
        false => None,
    };
    let stdin_only = args.inputs.is_empty();
    if stdin_only && io::stdin().is_terminal() {
        say("vtsum: reading hashes from the terminal; end with Ctrl-D");
    }
    for path in stdin_only
        .then(|| Path::new("-"))
        .into_iter()
        .chain(args.inputs.iter().map(|p| p.as_path()))
    {
        if let Some(others) = others.as_mut() {
            let what = if is_stdin(path) {
                "standard input".to_string()
            } else {
                shown(path)
            };
            let read = if is_stdin(path) {
                feed_both(io::stdin().lock(), &mut ex, others)
            } else {
                File::open(path).and_then(|f| feed_both(f, &mut ex, others))
            };
            read.map_err(|e| bad_input(format!("cannot read {what}: {e}")))?;
        } else if is_stdin(path) {
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
    let mut found = ex.finish_digests();
    let weak = found.weak_digests();
    found.digests.extend(weak);
    let others = others.map(IocExtractor::finish);
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let written = (|| {
        if args.count {
            if args.which.kinds.hashes {
                write_count(&mut out, &found)?;
            }
            others
                .as_ref()
                .map_or(Ok(()), |o| write_other_count(&mut out, o))
        } else {
            if args.which.kinds.hashes {
                write_hashes(&mut out, &found, threads)?;
            }
            others
                .as_ref()
                .map_or(Ok(()), |o| write_others(&mut out, o))
        }
    })();
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

/// Reads one input in fixed chunks into both extractors; files stay separate texts.
pub(crate) fn feed_both(
    mut from: impl io::Read,
    hashes: &mut Extractor,
    others: &mut IocExtractor,
) -> io::Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hashes.feed(&buf[..n]);
                others.feed(&buf[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    others.feed(b"\n");
    Ok(())
}

pub(crate) fn skip_list(path: Option<&Path>) -> Result<SkipList> {
    let Some(path) = path else {
        return Ok(SkipList::default());
    };
    // A skip list is a short file of names; a bound keeps a wrong path (a disk image) out.
    const MAX: u64 = 16 << 20;
    let file = File::open(path)
        .map_err(|e| bad_input(format!("cannot open the skip list {}: {e}", shown(path))))?;
    let text = read_at_most(file, MAX)
        .map_err(|e| bad_input(format!("cannot read the skip list {}: {e}", shown(path))))?
        .ok_or_else(|| {
            bad_input(format!(
                "the skip list {} is over 16 MiB: is it the right file?",
                shown(path)
            ))
        })?;
    SkipList::parse(&text).map_err(|e| bad_input(format!("the skip list {}: {e}", shown(path))))
}

fn write_others(out: &mut impl Write, found: &Indicators) -> io::Result<()> {
    for indicator in &found.found {
        out.write_all(indicator.value.as_bytes())?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn write_other_count(out: &mut impl Write, found: &Indicators) -> io::Result<()> {
    use vtsum_core::extract::ioc::IndicatorKind;
    for kind in [IndicatorKind::Url, IndicatorKind::Domain, IndicatorKind::Ip] {
        writeln!(out, "{}s: {}", kind.as_str(), found.values(kind).count())?;
    }
    writeln!(
        out,
        "private or reserved IPs skipped: {}",
        found.private_ips
    )?;
    let skipped = found.skipped;
    writeln!(out, "skipped by the skip list: {}", skipped.total())?;
    writeln!(out, "indicators seen again: {}", found.duplicates)
}

fn write_count(out: &mut impl Write, found: &Digests) -> io::Result<()> {
    let of = |kind| found.digests.iter().filter(|d| d.kind() == kind).count();
    writeln!(out, "hashes: {}", found.digests.len())?;
    writeln!(out, "md5: {}", of(HashKind::Md5))?;
    writeln!(out, "sha1: {}", of(HashKind::Sha1))?;
    writeln!(out, "sha256: {}", of(HashKind::Sha256))?;
    writeln!(out, "duplicates: {}", found.duplicates)?;
    writeln!(out, "non-file hashes (IMPHASH…): {}", found.non_file_hashes)?;
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
