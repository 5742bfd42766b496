//! The `vtsum` binary: parses arguments, sets up logging, runs a subcommand and turns its
//! outcome into a documented exit code. `anyhow` lives here and nowhere else.

/// mimalloc rather than glibc's malloc: a cached lookup decodes its answer on a blocking
/// thread and frees it on a runtime thread, and glibc's per-thread arenas made that a fifth
/// of the server's time in the profile (BENCHMARKS.md, "Cached one-hash lookups").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

mod cli;
mod commands;
mod config_error;
mod config_file;
mod demo;
mod exit;
mod output;
mod progress;
mod settings;
mod spill;

use cli::{Cli, Command};
use exit::Exit;
use output::say;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.global.verbose, cli.global.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say(&format!("vtsum: cannot start the async runtime: {e}"));
            return Exit::Error.into();
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code.into(),
        Err(e) => {
            say(&format!("vtsum: {e:#}"));
            exit::code_for(&e).into()
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<Exit> {
    let global = cli.global;
    match cli.command {
        Command::Scan(args) => commands::scan::run(&global, args).await,
        // Pure CPU and file reads on threads of its own: no runtime needed.
        Command::Extract(mut args) => {
            // Only the skip list comes from the config file: extract needs nothing else.
            if args.which.skip.is_none() {
                args.which.skip = crate::settings::FileConfig::load(&global)?.skip;
            }
            tokio::task::spawn_blocking(move || commands::extract::run(args)).await?
        }
        Command::Quota(args) => commands::quota::run(&global, args).await,
        Command::Diff(args) => commands::diff::run(&global, args),
        // Nothing but store I/O: on a blocking thread, like every store call.
        Command::Cache(cmd) => {
            tokio::task::spawn_blocking(move || commands::cache::run(&global, cmd)).await?
        }
        Command::Watch(cmd) => commands::watch::run(&global, cmd).await,
        Command::Serve(args) => commands::serve::run(&global, args).await,
        Command::Worker(args) => commands::worker::run(&global, args).await,
        Command::Fakevt(args) => commands::fake::run(args).await,
        // Both generators panic on a failed write, so they write to memory first.
        Command::Completions { shell } => {
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "vtsum", &mut text);
            output::print_all(&text)
        }
        Command::Man => {
            let mut text = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut text)?;
            output::print_all(&text)
        }
    }
}

/// Logs go to stderr; `-v` raises the level, `RUST_LOG` overrides it. Colours only when
/// stderr is a terminal and `NO_COLOR` is unset: escape codes in a log file are noise.
fn init_tracing(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(stderr_colours())
        // On a failed write it would report with `eprintln!`, which panics on that same
        // unwritable stderr (and took a scan down with it).
        .log_internal_errors(false)
        .with_target(false)
        .init();
}

fn stderr_colours() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
