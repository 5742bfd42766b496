//! Where the report goes: standard output or `-o FILE`, and which format and colours.
//!
//! A closed pipe (`vtsum scan x | head`) is not an error: the writer notes it and the scan
//! stops quietly with exit code 0. Any other failed write (a full disk, `> /dev/full`) is
//! remembered too: the scan stops sending requests and exits 1 with one message.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use vtsum_core::render::Format;

use crate::cli::{ColorWhen, FormatArg};
use crate::exit::bad_input;

/// Prints a line on stderr. An unwritable stderr (`2>/dev/full`, a closed terminal) must
/// not stop or crash a scan whose report is fine, so failures are ignored.
pub fn say(text: &str) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{text}");
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

/// The formats `-o`'s extension can choose.
const EXTENSIONS: [(&str, Format); 7] = [
    ("csv", Format::Csv),
    ("json", Format::Json),
    ("jsonl", Format::Jsonl),
    ("ndjson", Format::Jsonl),
    ("html", Format::Html),
    ("htm", Format::Html),
    ("txt", Format::Table),
];

/// The format: `--format`, else from `-o`'s extension, else the table on a terminal, else
/// CSV. An extension vtsum cannot write (`.xlsx`, `.pdf`), or one that names another format
/// than `--format`, is an error: a file's name must not lie about its bytes.
pub fn choose_format(arg: Option<FormatArg>, output: Option<&Path>) -> Result<Format> {
    let chosen = arg.map(|f| match f {
        FormatArg::Table => Format::Table,
        FormatArg::Csv => Format::Csv,
        FormatArg::Json => Format::Json,
        FormatArg::Jsonl => Format::Jsonl,
        FormatArg::Html => Format::Html,
    });
    let Some(path) = output else {
        return Ok(chosen.unwrap_or(if io::stdout().is_terminal() {
            Format::Table
        } else {
            Format::Csv
        }));
    };
    // Only a name like `report.xlsx` counts; `.hidden` or `report` has no extension.
    let Some(ext) = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
    else {
        return Ok(chosen.unwrap_or(Format::Csv));
    };
    let by_ext = EXTENSIONS.iter().find(|(e, _)| *e == ext).map(|(_, f)| *f);
    let names: Vec<String> = EXTENSIONS.iter().map(|(e, _)| format!(".{e}")).collect();
    match (chosen, by_ext) {
        (_, None) => Err(bad_input(format!(
            "-o {}: vtsum cannot write .{ext} files; it writes {} \
             (the web app's report page also offers .xlsx)",
            path.display(),
            names.join(", ")
        ))),
        (None, Some(f)) => Ok(f),
        // Any text format may go to a .txt file.
        (Some(f), Some(_)) if ext == "txt" => Ok(f),
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
