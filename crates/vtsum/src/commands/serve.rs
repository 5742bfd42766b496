//! `vtsum serve`: the web app.

use anyhow::{bail, Result};

use crate::cli::{GlobalArgs, ServeArgs};
use crate::exit::Exit;
use crate::settings::FileConfig;

/// Runs the web server.
pub async fn run(global: &GlobalArgs, args: ServeArgs) -> Result<Exit> {
    let file = FileConfig::load(global)?;
    let bind = args
        .bind
        .or(file.serve.bind)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let limit = args
        .upload_limit
        .or(file.serve.upload_limit)
        .unwrap_or(10 << 20);
    bail!("the web app is not part of this build yet (would listen on {bind}, uploads up to {limit} bytes); use `vtsum scan`")
}
