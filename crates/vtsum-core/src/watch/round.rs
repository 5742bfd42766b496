//! One round of re-checks: how many requests re-checks may still spend today, the due
//! items claimed up to that many, one engine job over them (the same scheduler, quota,
//! cache and claims as any scan), and each answer recorded as history and, when it is
//! one, a change.
//!
//! The budget is `--recheck-share` of the keys' daily allowance, spread over the UTC day:
//! at 06:00 a quarter of it may have been spent, at noon half, so a cron job every few
//! minutes re-checks a few items each time instead of the whole share at midnight. A round
//! reserves its part of the budget in the store before it claims anything (one step for
//! every process, so rounds at once never pass the share together) and gives back what it
//! did not spend; a crashed round's reservation stays spent, which errs on the side of
//! the jobs. An answer the cache already has (another scan asked within the interval)
//! costs nothing.
//!
//! The round's job runs in the re-check lane ([`Lane::Recheck`]): it takes a key only while
//! no job of the process has work left and no lookup waits, so re-checks never delay a job.
//! A round held back for three quarters of its claims' time stops and leaves the rest due.
//! On a store with a work queue (Redis), a round does not start while any job's parts are
//! queued or running, in whichever process: the order holds between processes too, at
//! the start of each round.
//!
//! A crash loses nothing: claims run out, the items are due again, and answers fetched
//! before the crash are in the cache, so they are not asked again.

use std::collections::HashMap;
use std::sync::Arc;

use super::{ChangeRecord, HookId, WatchItem, WatchStore};
use crate::diff::Snapshot;
use crate::engine::{now_unix, Cancel, Engine, Lane, RunOptions};
use crate::error::Result;
use crate::report::{ItemResult, Row, RowOptions};
use crate::store::{off_runtime, JobId, JobSpec};
use crate::target::Target;

/// How a round runs.
#[derive(Debug, Clone)]
pub struct RoundConfig {
    /// The share of each key's day re-checks may take (`--recheck-share`, 0 to 1).
    pub share: f64,
    /// Webhooks each change is queued for.
    pub hooks: Vec<HookId>,
    /// How long claimed items stay ours (a crashed round's items are due again after it).
    pub claim_secs: i64,
    /// At most this many items a round, whatever the budget.
    pub max_items: u64,
}

impl Default for RoundConfig {
    fn default() -> Self {
        RoundConfig {
            share: 0.5,
            hooks: Vec::new(),
            claim_secs: 900,
            max_items: 1000,
        }
    }
}

/// What a round did.
#[derive(Debug, Clone, Default)]
pub struct RoundReport {
    /// Requests re-checks may spend today so far (all processes), and had spent before.
    pub budget: u64,
    pub spent_before: u64,
    pub claimed: u64,
    pub checked: u64,
    /// Requests this round sent.
    pub requests: u64,
    pub changes: Vec<ChangeRecord>,
    /// Job parts on the store's work queue that held the round back (it claimed nothing).
    pub job_parts_waiting: u64,
}

/// The UTC day of a Unix time, as the ledger names days.
fn day_of(unix: i64) -> (String, f64) {
    let day = unix.div_euclid(86_400);
    let into = unix.rem_euclid(86_400) as f64 / 86_400.0;
    let date = chrono::DateTime::from_timestamp(day * 86_400, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    (date, into)
}

/// Requests re-checks may have spent by `now`: `share` of the keys' daily allowance
/// (`daily`), in proportion to how much of the UTC day has gone.
pub fn budget_by(daily: u64, share: f64, now: i64) -> u64 {
    let (_, into) = day_of(now);
    (daily as f64 * share.clamp(0.0, 1.0) * into).floor() as u64
}

/// Runs one round with `engine`, made for this round by [`Engine::beside`]: its freshness
/// should be the shortest interval of the lists (an answer that fresh in the cache stands
/// for a request), and [`Engine::sent_by_runs`] is what the round spent.
pub async fn run_round(
    engine: &Arc<Engine>,
    watches: Arc<dyn WatchStore>,
    cfg: &RoundConfig,
    cancel: &Cancel,
) -> Result<RoundReport> {
    let now = now_unix();
    let (day, _) = day_of(now);
    if let Some(queue) = engine.store().work_queue() {
        let backlog = off_runtime("reading the work queue", move || queue.backlog()).await?;
        if backlog > 0 {
            return Ok(RoundReport {
                job_parts_waiting: backlog,
                ..RoundReport::default()
            });
        }
    }
    let keys = engine.key_status_off_runtime().await?;
    let usable = keys.iter().filter(|k| k.rejected_reason.is_none());
    let daily: u64 = usable
        .clone()
        .map(|k| u64::from(k.daily_limit.unwrap_or(500)))
        .sum();
    let left_today: u64 = usable
        .map(|k| u64::from(k.daily_limit.unwrap_or(500)).saturating_sub(k.used_today))
        .sum();
    let budget = budget_by(daily, cfg.share, now);
    // The round's part of the budget is reserved in the store for every process at once,
    // and what it does not spend is given back at the end.
    let want = left_today.min(cfg.max_items);
    let reserved = {
        let (w, d) = (watches.clone(), day.clone());
        off_runtime("reserving re-checks' share", move || {
            w.recheck_reserve(&d, budget, want)
        })
        .await?
    };
    let mut report = RoundReport {
        budget,
        spent_before: reserved.before,
        ..RoundReport::default()
    };
    let limit = reserved.granted;
    if limit == 0 {
        return Ok(report);
    }
    let items = {
        let (w, until) = (watches.clone(), now + cfg.claim_secs);
        off_runtime("claiming due items", move || {
            w.watch_claim_due(now, until, limit)
        })
        .await?
    };
    report.claimed = items.len() as u64;
    if items.is_empty() {
        refund(&watches, &day, limit).await?;
        return Ok(report);
    }
    // An indicator on several lists is asked once.
    let mut targets: Vec<Target> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for item in &items {
        if seen.insert(item.target.key()) {
            targets.push(item.target.clone());
        }
    }
    let spec = JobSpec {
        label: format!("watch re-check of {} indicators", targets.len()),
        ..JobSpec::default()
    };
    let job = {
        let (engine, targets) = (engine.clone(), targets.clone());
        off_runtime("opening a re-check", move || {
            engine.open_scan(spec, &targets)
        })
        .await?
        .0
    };
    let opts = RunOptions {
        lane: Lane::Recheck,
        ..RunOptions::default()
    };
    let stop = stop_before_claims_end(cancel, cfg.claim_secs);
    let outcome = engine.run_job(&job.id, opts, &|_| {}, &stop).await;
    stop.cancel();
    // The round's engine counts its own runs' requests (`Engine::beside`).
    report.requests = engine.sent_by_runs();
    refund(&watches, &day, limit.saturating_sub(report.requests)).await?;
    outcome?;
    let results = job_results(engine, &job.id, job.total).await?;
    // The threshold of each list the round claimed from, read once (a list deleted
    // meanwhile has none: its items are not recorded). Only the settings: the listing's
    // counts are not needed here.
    let thresholds: HashMap<String, u32> = {
        let w = watches.clone();
        let names: std::collections::BTreeSet<String> =
            items.iter().map(|i| i.list.clone()).collect();
        off_runtime("reading watchlists", move || {
            let mut found = HashMap::new();
            for name in names {
                if let Some(list) = w.watch_get(&name)? {
                    found.insert(name, list.threshold);
                }
            }
            Ok(found)
        })
        .await?
    };
    for item in items {
        let Some(result) = results.get(&item.target.key()) else {
            continue;
        };
        let Some(&threshold) = thresholds.get(&item.list) else {
            continue;
        };
        let row = Row::from_result(
            item.target.clone(),
            result,
            RowOptions {
                threshold,
                engines: false,
            },
        );
        let answered_at = match result {
            ItemResult::Lookup { fetched_at, .. } => *fetched_at,
            // An error says nothing about the indicator: it stays due.
            ItemResult::Error { .. } => continue,
        };
        let recorded = record(&watches, &item, &row, answered_at, &cfg.hooks).await?;
        report.checked += 1;
        report.changes.extend(recorded);
    }
    let (engine, id) = (engine.clone(), job.id.clone());
    off_runtime("removing a re-check's job", move || {
        engine.store().job_delete(&id).map(|_| ())
    })
    .await?;
    Ok(report)
}

/// Gives back `n` reserved requests a round did not spend.
async fn refund(watches: &Arc<dyn WatchStore>, day: &str, n: u64) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let (w, d) = (watches.clone(), day.to_string());
    off_runtime("giving back re-checks' share", move || {
        w.recheck_refund(&d, n)
    })
    .await
}

/// A signal that fires with `outer`, or when three quarters of the claims' time has gone:
/// a round held back by jobs for that long gives its items up before its claims run out,
/// so another round never checks them while this one still might. Cancel it when done.
fn stop_before_claims_end(outer: &Cancel, claim_secs: i64) -> Cancel {
    let stop = Cancel::new();
    let within = std::time::Duration::from_secs(claim_secs.max(1) as u64 * 3 / 4);
    let (inner, outer) = (stop.clone(), outer.clone());
    tokio::spawn(async move {
        tokio::select! {
            _ = outer.cancelled() => {}
            _ = inner.cancelled() => {}
            _ = tokio::time::sleep(within) => {}
        }
        inner.cancel();
    });
    stop
}

async fn record(
    watches: &Arc<dyn WatchStore>,
    item: &WatchItem,
    row: &Row,
    answered_at: i64,
    hooks: &[HookId],
) -> Result<Option<ChangeRecord>> {
    let (w, item, hooks) = (watches.clone(), item.clone(), hooks.to_vec());
    let snapshot = Snapshot::of(row);
    let permalink = row.permalink.clone();
    off_runtime("recording a re-check", move || {
        w.watch_record(
            &item,
            &snapshot,
            answered_at,
            permalink.as_deref(),
            now_unix(),
            &hooks,
        )
        .map(|r| r.change)
    })
    .await
}

/// A finished job's results by the target's key.
async fn job_results(
    engine: &Arc<Engine>,
    id: &JobId,
    total: u64,
) -> Result<HashMap<String, ItemResult>> {
    let (engine, id) = (engine.clone(), id.clone());
    off_runtime("reading a re-check's answers", move || {
        let items = engine.store().job_items(&id, 0, total)?;
        Ok(items
            .into_iter()
            .filter_map(|i| i.result.map(|r| (i.target.key(), r)))
            .collect())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_grows_with_the_day() {
        let midnight = 1_765_065_600; // 2025-12-07T00:00:00Z
        assert_eq!(budget_by(1000, 0.5, midnight), 0);
        assert_eq!(budget_by(1000, 0.5, midnight + 6 * 3600), 125);
        assert_eq!(budget_by(1000, 0.5, midnight + 12 * 3600), 250);
        assert_eq!(budget_by(1000, 0.5, midnight + 86_399), 499);
        assert_eq!(
            budget_by(1000, 2.0, midnight + 12 * 3600),
            500,
            "a share is at most 1"
        );
        assert_eq!(day_of(midnight + 5).0, "2025-12-07");
    }
}
