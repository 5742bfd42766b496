//! The arguments of `vtsum watch` (watchlists, issue 16): a part of `cli` in a file of its
//! own, so each file holds one command family.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{ApiArgs, KindArgs};

#[derive(Debug, Subcommand)]
pub enum WatchCommand {
    /// Put the indicators found in files or standard input on a watchlist (made when new;
    /// its settings changed when given).
    Add(WatchAddArgs),
    /// Every watchlist: items, last check, changes.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A watchlist's items with their last answer (and, with --history, every answer).
    Show {
        name: String,
        /// Every answer of each item, oldest first.
        #[arg(long)]
        history: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a watchlist, or only the given indicators from it.
    Rm {
        name: String,
        /// Hashes, URLs, domains or IP addresses to take off the list.
        #[arg(value_name = "INDICATOR")]
        items: Vec<String>,
    },
    /// Re-check what is due on spare quota, record the changes and send the alerts; with
    /// --once a single round (for cron), else a round every --interval.
    Run(WatchRunArgs),
    /// The changes recorded, oldest first, with their deliveries.
    Changes {
        /// Only changes at or after this time (RFC 3339, or a duration ago: 2h, 7d).
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct WatchAddArgs {
    pub name: String,
    /// Files to read indicators from; `-` or nothing for standard input.
    #[arg(value_name = "FILE")]
    pub inputs: Vec<PathBuf>,
    /// Re-check an item when its answer is older than this [default: 7d].
    #[arg(long, value_name = "DURATION")]
    pub every: Option<String>,
    /// The same for items VirusTotal did not know [default: --every].
    #[arg(long, value_name = "DURATION")]
    pub every_unknown: Option<String>,
    /// Malicious detections for the `malicious` verdict and for threshold crossings
    /// [default: 3].
    #[arg(long, value_name = "N")]
    pub threshold: Option<u32>,
    #[command(flatten)]
    pub which: KindArgs,
}

#[derive(Debug, Args)]
pub struct WatchRunArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// One round, then exit (for cron).
    #[arg(long)]
    pub once: bool,
    #[command(flatten)]
    pub rechecks: RecheckArgs,
    /// The wait between rounds without --once [default: 1min].
    #[arg(long, value_name = "DURATION")]
    pub interval: Option<String>,
    /// Requests in flight at most [default: 8].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
}

/// How re-checks run and where their alerts go: `vtsum watch run` and `vtsum serve`.
/// `Debug` by hand: webhook URLs and the secret are credentials.
#[derive(Args, Clone, Default)]
pub struct RecheckArgs {
    /// The share of each key's day re-checks may take, spread over the day [default: 0.5];
    /// 0 turns re-checks off.
    #[arg(long, value_name = "SHARE")]
    pub recheck_share: Option<f64>,
    /// POST each change as JSON to this URL (Slack and Teams incoming webhooks show its
    /// `text`); repeat for several. Prefer VTSUM_WEBHOOKS=url1,url2: arguments show in `ps`.
    #[arg(
        long = "webhook",
        env = "VTSUM_WEBHOOKS",
        value_delimiter = ',',
        hide_env_values = true,
        value_name = "URL"
    )]
    pub webhooks: Vec<String>,
    /// Sign each body with HMAC-SHA256 under this secret (header X-Vtsum-Signature:
    /// sha256=HEX).
    #[arg(
        long,
        env = "VTSUM_WEBHOOK_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub webhook_secret: Option<String>,
}

impl std::fmt::Debug for RecheckArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecheckArgs")
            .field("recheck_share", &self.recheck_share)
            .field("webhooks", &self.webhooks.len())
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "***"),
            )
            .finish()
    }
}
