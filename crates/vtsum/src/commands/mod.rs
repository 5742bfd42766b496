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
mod scan_cached;
mod scan_input;
mod scan_job;
pub mod serve;
pub mod watch;
pub mod worker;
