//! Re-check rounds as `vtsum watch run`, `vtsum serve` and `vtsum worker` run them: the settings of
//! `RecheckArgs` checked once, then each round through `vtsum_core::watch::round` and the
//! outbox through `vtsum_core::watch::deliver`.
//!
//! Each round has an engine of its own beside the process's engine ([`Engine::beside`]):
//! its cache freshness is the shortest interval of the lists at that moment (an answer
//! that fresh in the cache stands for a request; a list made a minute ago counts in the
//! next round), and its runs join the process's lanes, behind every job and lookup.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use vtsum_core::engine::{Cancel, Engine};
use vtsum_core::store::off_runtime;
use vtsum_core::watch::deliver::{Secret, Sender, Sent, Webhook};
use vtsum_core::watch::round::{run_round, RoundConfig, RoundReport};
use vtsum_core::watch::WatchStore;

use crate::cli::watch::RecheckArgs;
use crate::exit::bad_input;

pub struct Rechecks {
    /// The process's engine, whose lanes re-checks join.
    base: Arc<Engine>,
    watches: Arc<dyn WatchStore>,
    sender: Sender,
    cfg: RoundConfig,
}

impl Rechecks {
    /// `max_items`: the most items a round claims.
    pub fn new(
        args: &RecheckArgs,
        base: Arc<Engine>,
        watches: Arc<dyn WatchStore>,
        max_items: u64,
    ) -> Result<Rechecks> {
        let share = args.recheck_share.unwrap_or(0.5);
        if !(0.0..=1.0).contains(&share) {
            return Err(bad_input(format!(
                "recheck-share {share} is out of range: use 0 to 1 (0.5 is half of each key's \
                 day)"
            )));
        }
        let hooks: Vec<Webhook> = args
            .webhooks
            .iter()
            .filter(|u| !u.trim().is_empty())
            .map(|u| Webhook::parse(u.trim()).map_err(bad_input))
            .collect::<Result<_>>()?;
        Ok(Rechecks {
            cfg: RoundConfig {
                share,
                hooks: hooks.iter().map(|h| h.id().clone()).collect(),
                max_items,
                ..RoundConfig::default()
            },
            base,
            watches,
            sender: Sender::new(
                hooks,
                args.webhook_secret
                    .as_ref()
                    .map(|s| Secret(s.as_bytes().to_vec())),
            )?,
        })
    }

    /// Whether rounds may spend anything (`--recheck-share 0` turns them off).
    pub fn enabled(&self) -> bool {
        self.cfg.share > 0.0
    }

    /// One round of re-checks, then the outbox.
    pub async fn round(&self, cancel: &Cancel) -> Result<(RoundReport, Sent)> {
        let w = self.watches.clone();
        let lists = off_runtime("reading watchlists", move || w.watch_lists()).await?;
        let shortest = lists
            .iter()
            .map(|l| l.list.every.min(l.list.every_unknown))
            .min()
            .unwrap_or(7 * 86_400);
        let report = if self.enabled() && !lists.is_empty() {
            let engine = Arc::new(self.base.beside(Duration::from_secs(shortest)));
            run_round(&engine, self.watches.clone(), &self.cfg, cancel).await?
        } else {
            RoundReport::default()
        };
        let sent = self.sender.deliver_due(self.watches.clone()).await?;
        Ok((report, sent))
    }

    /// Rounds every `interval` until `cancel`: a failed round is logged and the next one
    /// tried.
    fn spawn(self, interval: Duration, cancel: Cancel) {
        tokio::spawn(async move {
            while !cancel.is_cancelled() {
                match self.round(&cancel).await {
                    Ok((r, sent)) if r.claimed > 0 || sent.delivered + sent.failed > 0 => {
                        tracing::info!("{}", summary(&r, &sent))
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("watchlist re-checks: {e:#}"),
                }
                tokio::time::sleep(interval).await;
            }
        });
    }
}

/// How often `vtsum serve` and `vtsum worker` run a round of re-checks.
const ROUND_EVERY: Duration = Duration::from_secs(60);

/// Due re-checks of the store's watchlists beside `engine` (`vtsum serve`, `vtsum
/// worker`), a round a minute until `stop`, when the store keeps watchlists and
/// `--recheck-share` is not 0. A round claims at most a minute of the keys' requests at
/// the public rate, and its requests go in the re-check lane, behind every job and lookup
/// of `engine`.
pub fn start_beside(args: &RecheckArgs, engine: &Arc<Engine>, stop: Cancel) -> Result<()> {
    let Some(watches) = engine.store().clone().watches() else {
        return Ok(());
    };
    let per_round = 4 * engine.config().keys.len() as u64;
    let rechecks = Rechecks::new(args, engine.clone(), watches, per_round)?;
    if rechecks.enabled() {
        rechecks.spawn(ROUND_EVERY, stop);
    }
    Ok(())
}

/// One line on what a round did.
pub fn summary(r: &RoundReport, sent: &Sent) -> String {
    if r.job_parts_waiting > 0 {
        return format!(
            "vtsum watch: no re-checks this round: {} job parts are queued or running (jobs \
             go first), {} alerts delivered, {} failed",
            r.job_parts_waiting, sent.delivered, sent.failed
        );
    }
    format!(
        "vtsum watch: {} checked of {} due ({} requests; re-checks may have spent {} by now \
         today, {} before this round), {} changes, {} alerts delivered, {} failed",
        r.checked,
        r.claimed,
        r.requests,
        r.budget,
        r.spent_before,
        r.changes.len(),
        sent.delivered,
        sent.failed
    )
}
