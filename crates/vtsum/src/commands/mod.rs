//! One module per subcommand.

pub mod cache;
pub mod cache_import;
pub mod diff;
pub mod extract;
pub mod fake;
mod handover;
pub mod quota;
mod recheck;
pub mod scan;
mod scan_input;
pub mod serve;
pub mod watch;
pub mod worker;
