//! Where the report goes: standard output or `-o FILE`, and which format and colours.
//!
//! A closed pipe (`vtsum scan x | head`) is not an error: the writer notes it and the scan
//! stops quietly with exit code 0. Any other failed write (a full disk, `> /dev/full`) is
//! remembered too: the scan stops sending requests and exits 1 with one message.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use vtsum_core::render::{is_hostile_control, Format};

use crate::cli::ColorWhen;
use crate::exit::bad_input;

/// Prints a line on stderr. An unwritable stderr (`2>/dev/full`, a closed terminal) must
/// not stop or crash a scan whose report is fine, so failures are ignored. Messages carry
/// file names and other outside text: every control character but the line break becomes
/// U+FFFD, so none of them can colour, retitle or clear the terminal.
pub fn say(text: &str) {
    let shown: String = text
        .chars()
        .map(|c| match c {
            '\n' => c,
            c if is_hostile_control(c) => '\u{fffd}',
            c => c,
        })
        .collect();
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{shown}");
    let _ = err.flush();
}

/// Writes to standard output; a reader that went away (`| head`) is not an error.
pub fn print_all(bytes: &[u8]) -> Result<crate::exit::Exit> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("cannot write to standard output"))
        }
        _ => Ok(crate::exit::Exit::Ok),
    }
}

/// The report's destination.
pub struct Output {
    inner: Box<dyn Write + Send>,
    /// Set once the reader went away.
    pub broken_pipe: bool,
    /// The first failed write, once one failed; nothing is written after it.
    pub failed: Option<String>,
}

impl Output {
    /// Opens `-o FILE` (created or truncated) or standard output.
    pub fn open(path: Option<&Path>) -> Result<Output> {
        let inner: Box<dyn Write + Send> = match path {
            Some(p) => {
                Box::new(BufWriter::new(File::create(p).with_context(|| {
                    format!("cannot write the report to {}", p.display())
                })?))
            }
            None => Box::new(BufWriter::new(io::stdout())),
        };
        Ok(Output {
            inner,
            broken_pipe: false,
            failed: None,
        })
    }

    /// Runs `f` on the writer; a broken pipe is remembered, not returned. Another failure is
    /// returned the first time and remembered; later writes do nothing.
    pub fn write_with(&mut self, f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
        if self.broken_pipe || self.failed.is_some() {
            return Ok(());
        }
        match f(&mut self.inner).and_then(|()| self.inner.flush()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.broken_pipe = true;
                Ok(())
            }
            Err(e) => {
                let message = format!("cannot write the report: {e}");
                self.failed = Some(message.clone());
                Err(anyhow!(message))
            }
        }
    }

    /// Whether writing is over: the reader left or a write failed.
    pub fn stopped(&self) -> bool {
        self.broken_pipe || self.failed.is_some()
    }
}

/// The format: `--format`, else from `-o`'s extension, else the table on a terminal, else
/// CSV. An extension vtsum cannot write (`.pdf`), or one that names another format than
/// `--format`, is an error: a file's name must not lie about its bytes. So is a workbook
/// on a terminal: its bytes are useless there (a pipe or a file is fine).
pub fn choose_format(chosen: Option<Format>, output: Option<&Path>) -> Result<Format> {
    choose(chosen, output, io::stdout().is_terminal())
}

fn choose(chosen: Option<Format>, output: Option<&Path>, terminal: bool) -> Result<Format> {
    let Some(path) = output else {
        return match chosen {
            Some(f) if f.is_binary() && terminal => Err(bad_input(format!(
                "--format {f} writes an Excel workbook, which a terminal cannot show: \
                 add -o report.{} or redirect standard output to a file",
                f.extension()
            ))),
            Some(f) => Ok(f),
            None if terminal => Ok(Format::Table),
            None => Ok(Format::Csv),
        };
    };
    // Only a name like `report.xlsx` counts; `.hidden` or `report` has no extension.
    let Some(ext) = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
    else {
        return Ok(chosen.unwrap_or(Format::Csv));
    };
    let by_ext = Format::from_extension(&ext);
    let names: Vec<String> = Format::ALL
        .iter()
        .flat_map(|f| f.extensions())
        .map(|e| format!(".{e}"))
        .collect();
    match (chosen, by_ext) {
        (_, None) => Err(bad_input(format!(
            "-o {}: vtsum cannot write .{ext} files; it writes {}",
            path.display(),
            names.join(", ")
        ))),
        (None, Some(f)) => Ok(f),
        // Any text format may go to a .txt file; a workbook is no text.
        (Some(f), Some(Format::Table)) if !f.is_binary() => Ok(f),
        // A STIX bundle and a MISP event are JSON documents: `-o bundle.json` is honest.
        (Some(f @ (Format::Stix | Format::Misp)), Some(Format::Json)) => Ok(f),
        (Some(f), Some(e)) if f == e => Ok(f),
        (Some(f), Some(e)) => Err(bad_input(format!(
            "--format {f} does not match -o {} (a .{ext} name is for {e}); \
             rename the file or drop --format",
            path.display()
        ))),
    }
}

/// Colours only for the table on a terminal, and never with `NO_COLOR` set (no-color.org).
pub fn use_color(when: ColorWhen, to_file: bool) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            !to_file
                && io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(chosen: Option<Format>, output: Option<&str>, terminal: bool) -> Result<Format> {
        choose(chosen, output.map(Path::new), terminal)
    }

    #[test]
    fn a_workbook_goes_to_a_file_or_a_pipe_never_to_a_terminal() {
        assert_eq!(pick(None, Some("r.xlsx"), true).unwrap(), Format::Xlsx);
        assert_eq!(pick(None, Some("R.XLSX"), false).unwrap(), Format::Xlsx);
        let xlsx = Some(Format::Xlsx);
        assert_eq!(pick(xlsx, None, false).unwrap(), Format::Xlsx);
        assert_eq!(pick(xlsx, Some("r.xlsx"), true).unwrap(), Format::Xlsx);
        let refused = pick(xlsx, None, true).unwrap_err();
        assert!(refused.is::<crate::exit::BadInput>());
        assert!(refused.to_string().contains("-o report.xlsx"), "{refused}");
        assert!(
            pick(xlsx, Some("r.txt"), false).is_err(),
            "a workbook is no text"
        );
        assert!(pick(xlsx, Some("r.csv"), false).is_err());
        assert!(pick(Some(Format::Csv), Some("r.xlsx"), false).is_err());
    }

    #[test]
    fn other_formats_follow_the_flag_the_extension_or_the_terminal() {
        assert_eq!(pick(None, None, true).unwrap(), Format::Table);
        assert_eq!(pick(None, None, false).unwrap(), Format::Csv);
        assert_eq!(pick(None, Some("r.ndjson"), true).unwrap(), Format::Jsonl);
        assert_eq!(
            pick(Some(Format::Json), Some("r.txt"), false).unwrap(),
            Format::Json
        );
        assert_eq!(pick(None, Some("report"), true).unwrap(), Format::Csv);
        let err = pick(None, Some("r.pdf"), false).unwrap_err().to_string();
        assert!(err.contains(".xlsx") && err.contains(".ndjson"), "{err}");
        for f in [Format::Stix, Format::Misp] {
            assert_eq!(pick(Some(f), Some("bundle.json"), false).unwrap(), f);
        }
        assert!(pick(Some(Format::Csv), Some("r.json"), false).is_err());
        assert_eq!(pick(None, Some("r.stix"), false).unwrap(), Format::Stix);
    }
}
