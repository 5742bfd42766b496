//! `vtsum cache stats|clear|export|import` (import in `cache_import`).

use std::io::Write;

use anyhow::{Context, Result};
use vtsum_store as store;

use crate::cli::{CacheCommand, GlobalArgs};
use crate::exit::Exit;
use crate::settings::{default_db_path, store_url, FileConfig};

/// Runs a cache subcommand.
pub fn run(global: &GlobalArgs, command: CacheCommand) -> Result<Exit> {
    let file = FileConfig::load(global)?;
    let url = store_url(global, &file);
    let store = store::open(&url, &default_db_path("vtsum.db"))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match command {
        CacheCommand::Import { inputs } => {
            return super::cache_import::run(store.as_ref(), &inputs);
        }
        CacheCommand::Stats => {
            let s = store.cache_stats()?;
            writeln!(out, "store:   {}", store.describe())?;
            writeln!(out, "found:   {}", s.found)?;
            writeln!(out, "unknown: {}", s.unknown)?;
            writeln!(out, "bytes:   {}", s.bytes)?;
        }
        CacheCommand::Clear => {
            let n = store.cache_clear()?;
            writeln!(out, "removed {n} cached answers from {}", store.describe())?;
        }
        CacheCommand::Export => {
            let mut result = Ok(());
            store.cache_export(&mut |entry| {
                let line = serde_json::to_string(&entry).expect("cache entries serialise");
                if let Err(e) = writeln!(out, "{line}") {
                    result = Err(e);
                }
                Ok(())
            })?;
            match result {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(Exit::Ok),
                other => other.context("cannot write the export")?,
            }
        }
    }
    match out.flush() {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Exit::Ok),
        other => other
            .map(|()| Exit::Ok)
            .context("cannot write to standard output"),
    }
}
