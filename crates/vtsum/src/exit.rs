//! The documented exit codes of `vtsum`.

/// Why vtsum exits; the numbers are part of the interface (see the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every hash answered; nothing tripped `--fail-on`.
    Ok = 0,
    /// A runtime error: store, network set-up, every key rejected, I/O.
    Error = 1,
    /// Bad arguments or config (clap's own code).
    Usage = 2,
    /// Every key is out of daily quota; results so far are kept, run again to resume.
    QuotaExhausted = 3,
    /// `--fail-on` matched a row.
    FailOn = 4,
    /// Some hashes ended with an `error` row after retries.
    LookupErrors = 5,
    /// Interrupted (Ctrl-C); results so far are kept, run again to resume.
    Interrupted = 130,
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e as u8)
    }
}
