//! One module per subcommand.

pub mod cache;
pub mod cache_import;
pub mod extract;
pub mod fake;
pub mod quota;
pub mod scan;
pub mod serve;
pub mod worker;
