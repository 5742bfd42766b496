//! Where the report goes: standard output or `-o FILE`, and which format and colours.
//!
//! A closed pipe (`vtsum scan x | head`) is not an error: the writer notes it and the scan
//! stops quietly with exit code 0.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result};
use vtsum_core::render::Format;

use crate::cli::{ColorWhen, FormatArg};

/// The report's destination.
pub struct Output {
    inner: Box<dyn Write + Send>,
    /// Set once the reader went away.
    pub broken_pipe: bool,
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
        })
    }

    /// Runs `f` on the writer; a broken pipe is remembered, not returned.
    pub fn write_with(&mut self, f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
        if self.broken_pipe {
            return Ok(());
        }
        match f(&mut self.inner).and_then(|()| self.inner.flush()) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.broken_pipe = true;
                Ok(())
            }
            other => other.context("cannot write the report"),
        }
    }
}

/// The format: `--format`, else the table on a terminal, else from `-o`'s extension, else CSV.
pub fn choose_format(arg: Option<FormatArg>, output: Option<&Path>) -> Format {
    if let Some(f) = arg {
        return match f {
            FormatArg::Table => Format::Table,
            FormatArg::Csv => Format::Csv,
            FormatArg::Json => Format::Json,
            FormatArg::Jsonl => Format::Jsonl,
            FormatArg::Html => Format::Html,
        };
    }
    match output {
        None if io::stdout().is_terminal() => Format::Table,
        None => Format::Csv,
        Some(p) => match p
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
        {
            Some(e) if e == "json" => Format::Json,
            Some(e) if e == "jsonl" || e == "ndjson" => Format::Jsonl,
            Some(e) if e == "html" || e == "htm" => Format::Html,
            Some(e) if e == "txt" => Format::Table,
            _ => Format::Csv,
        },
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
