//! Watchlists (issue 16): indicators kept under watch, re-checked when their answer grows
//! older than the list's interval, every answer kept as history, and a change (by the
//! rules of [`crate::diff`]) recorded once and put in a durable outbox for each webhook.
//!
//! This module is the boundary: the types and the [`WatchStore`] trait, which a store
//! implements in its own transactions (`vtsum-store`'s SQLite file and Redis do; see
//! [`crate::store::Store::watches`]). [`round`] runs one round of re-checks through the
//! engine; [`alert`] shapes and signs what a webhook receives; [`deliver`] empties the
//! outbox.
//!
//! Webhook URLs are secrets (a Slack or Teams incoming webhook's URL is its credential):
//! the store keeps only a [`HookId`] of each, and the process that delivers must be given
//! the URLs again.

pub mod alert;
pub mod deliver;
pub mod round;

use serde::{Deserialize, Serialize};

use crate::diff::{Reason, Snapshot};
use crate::error::Result;
use crate::target::Target;

/// A watchlist's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchList {
    pub name: String,
    /// Seconds after which an answer is old enough to check again.
    pub every: u64,
    /// The same for an answer "unknown to VirusTotal" (often worth asking sooner).
    pub every_unknown: u64,
    /// Malicious detections for `malicious`, for verdicts and threshold crossings.
    pub threshold: u32,
    pub created_at: i64,
}

/// The most characters a list's name has.
pub const MAX_NAME: usize = 64;

/// A list's name, or why it cannot be one: letters, digits, `-`, `_` and `.`, so it is
/// safe in a URL path, a shell and a terminal.
pub fn check_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(format!("a watchlist name has 1 to {MAX_NAME} characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err("a watchlist name has only letters, digits, '-', '_' and '.'".into());
    }
    Ok(())
}

/// A list with its size, as listings show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListInfo {
    #[serde(flatten)]
    pub list: WatchList,
    pub items: u64,
    /// The latest check of any item.
    pub last_check: Option<i64>,
    pub changes: u64,
}

/// An indicator on a list and what was last known of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WatchItem {
    pub list: String,
    #[serde(skip)]
    pub target: Target,
    /// The indicator as reports show it (a hash, a URL, a domain, an IP address).
    pub input: String,
    pub added_at: i64,
    /// When it was last checked, and when VirusTotal's answer it got was fetched.
    pub checked_at: Option<i64>,
    pub answered_at: Option<i64>,
    pub last: Option<Snapshot>,
    pub permalink: Option<String>,
}

/// One answer in an item's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub checked_at: i64,
    pub answered_at: i64,
    #[serde(flatten)]
    pub snapshot: Snapshot,
}

/// A change, as recorded once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRecord {
    pub id: i64,
    pub at: i64,
    pub list: String,
    pub input: String,
    pub before: Snapshot,
    pub after: Snapshot,
    pub reasons: Vec<Reason>,
    pub permalink: Option<String>,
}

/// What the store knows of a webhook: a digest of its URL, never the URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HookId(pub String);

impl HookId {
    /// The id of a webhook URL (the first 16 hex digits of its SHA-1, like a key's id).
    pub fn of(url: &str) -> HookId {
        let digest = sha1_smol::Sha1::from(url.as_bytes()).digest().to_string();
        HookId(format!("hook-{}", &digest[..16]))
    }
}

/// A delivery waiting in the outbox (or failed so far).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub id: i64,
    pub hook: HookId,
    pub change: ChangeRecord,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
}

/// The outbox's state, for `/metrics` and the Changes feed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OutboxStats {
    pub delivered: u64,
    /// Waiting, never tried or tried and failed.
    pub pending: u64,
    /// Pending deliveries that failed at least once.
    pub failing: u64,
}

/// A round's share of the day, reserved ([`WatchStore::recheck_reserve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reserved {
    /// Re-checks' count of the day before this reservation.
    pub before: u64,
    pub granted: u64,
}

impl Reserved {
    /// The reservation of `want` under `cap` when `before` are spent.
    pub fn of(before: u64, cap: u64, want: u64) -> Reserved {
        Reserved {
            before,
            granted: want.min(cap.saturating_sub(before)),
        }
    }
}

/// What an answer did to an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The change it made, if it made one (the first answer of an item is its baseline).
    pub change: Option<ChangeRecord>,
}

/// Watchlists' persistence. Every method is one transaction; several processes may share
/// the store.
pub trait WatchStore: Send + Sync {
    /// Creates a list, or updates its settings (items and history stay).
    fn watch_put(&self, list: &WatchList) -> Result<()>;
    fn watch_get(&self, name: &str) -> Result<Option<WatchList>>;
    fn watch_lists(&self) -> Result<Vec<ListInfo>>;
    /// Deletes a list with its items, history and changes; whether it existed.
    fn watch_delete(&self, name: &str) -> Result<bool>;
    /// Adds indicators to a list; how many were new to it.
    fn watch_add(&self, name: &str, targets: &[Target], now: i64) -> Result<u64>;
    /// Removes indicators (by [`Target::key`]) from a list; how many were on it.
    fn watch_remove(&self, name: &str, keys: &[String]) -> Result<u64>;
    /// A list's items in the order they were added.
    fn watch_items(&self, name: &str) -> Result<Vec<WatchItem>>;
    /// An item's answers, oldest first.
    fn watch_history(&self, name: &str, key: &str) -> Result<Vec<HistoryEntry>>;
    /// Claims up to `limit` items due at `now` (never answered, or answered longer ago
    /// than their list's interval) that no other claim holds, until `until`: two
    /// processes never get the same item while a claim lasts. Most overdue first.
    fn watch_claim_due(&self, now: i64, until: i64, limit: u64) -> Result<Vec<WatchItem>>;
    /// Records an answer for an item: history, the item's last state, its claim released,
    /// and, when it is a change, the change and one outbox delivery per hook in `hooks`,
    /// all in one transaction.
    fn watch_record(
        &self,
        item: &WatchItem,
        after: &Snapshot,
        answered_at: i64,
        permalink: Option<&str>,
        now: i64,
        hooks: &[HookId],
    ) -> Result<Recorded>;
    /// Changes recorded at or after `since`, oldest first, at most `limit`.
    fn watch_changes(&self, since: i64, limit: u64) -> Result<Vec<ChangeRecord>>;
    /// Claims up to `limit` deliveries for `hooks` due at `now` until `until` (a crashed
    /// sender's claim runs out and another sends it).
    fn outbox_claim(
        &self,
        hooks: &[HookId],
        now: i64,
        until: i64,
        limit: u64,
    ) -> Result<Vec<Delivery>>;
    /// A delivery the receiver accepted.
    fn outbox_delivered(&self, id: i64, now: i64) -> Result<()>;
    /// A delivery that failed: tried again from `retry_at`.
    fn outbox_failed(&self, id: i64, retry_at: i64, error: &str) -> Result<()>;
    /// Every delivery of a change (the Changes feed shows them).
    fn outbox_of(&self, change: i64) -> Result<Vec<Delivery>>;
    fn outbox_stats(&self) -> Result<OutboxStats>;
    /// Requests re-checks spent on UTC day `day` (`YYYY-MM-DD`), all processes together.
    fn recheck_spent(&self, day: &str) -> Result<u64>;
    /// Reserves up to `want` requests of day `day` for a round, never taking the day's
    /// count past `cap`, in one step for every process: what the count was before, and
    /// how many were granted (added to it).
    fn recheck_reserve(&self, day: &str, cap: u64, want: u64) -> Result<Reserved>;
    /// Gives back `n` reserved requests a round did not spend (never below 0).
    fn recheck_refund(&self, day: &str, n: u64) -> Result<()>;
}
