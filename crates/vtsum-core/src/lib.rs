//! vtsum's engine: everything between a text full of hashes and a report, with no web
//! server and no terminal in it. The CLI (`vtsum scan`) and the web app are two front doors
//! onto the same [`engine`].
//!
//! The flow: [`extract`] finds hashes in text; the [`engine`] answers what it can from the
//! [`store`] cache and sends the rest through the [`quota`]-exact scheduler to the
//! VirusTotal client ([`vt`]); results become [`report::Row`]s that [`render`] writes out.

pub mod diff;
pub mod engine;
pub mod error;
pub mod extract;
pub mod hash;
pub mod import;
pub mod job;
pub mod jobs;
pub mod key;
pub mod queue;
pub mod quota;
pub mod rate;
pub mod render;
pub mod report;
pub mod results;
pub mod store;
pub mod stored;
pub mod target;
pub mod vt;
pub mod watch;

pub use error::{Error, Result};
pub use hash::{Hash, HashKind};
pub use key::{ApiKey, KeyId};
pub use report::{Row, RowOptions, Summary, Verdict};
pub use target::{Kind, Target};
