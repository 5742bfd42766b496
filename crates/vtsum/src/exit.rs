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

/// A mistake in the arguments, the environment or the config file: exit code 2, like
/// clap's own errors. Wrapped in `anyhow` so the message keeps its context.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// An error that exits with code 2.
pub fn bad_input(message: impl Into<String>) -> anyhow::Error {
    BadInput(message.into()).into()
}

/// The exit code of an error: 2 when the user's input was at fault, else 1.
pub fn code_for(e: &anyhow::Error) -> Exit {
    let usage = e.chain().any(|c| {
        c.is::<BadInput>()
            || matches!(
                c.downcast_ref::<vtsum_core::Error>(),
                Some(vtsum_core::Error::Rate { .. } | vtsum_core::Error::StoreUrl { .. })
            )
    });
    if usage {
        Exit::Usage
    } else {
        Exit::Error
    }
}
