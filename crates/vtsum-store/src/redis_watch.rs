//! Watchlists on Redis (`vtsum_core::watch::WatchStore`), so that `vtsum worker`s and web
//! servers on several machines share lists, claims, history, changes and the outbox.
//!
//! Keys under the store's prefix: `w:lists` (a hash of list name → settings JSON),
//! `w:i:<list>` (key → [`ItemState`] JSON), `w:n:<list>` (the items in the order they were
//! added, scored by `w:seq`), `w:due` (a sorted set of `<list>|<key>` scored by when each is
//! due, or by the end of its claim while one holds it: "due and unclaimed" is one range
//! query), `w:cl:<list>` (claims' ends, so a new interval never shortens a claim),
//! `w:h:<list>|<key>` (history, a list of JSON), `w:last` (a list's latest check),
//! `w:c` / `w:c:at` / `w:c:l:<list>` (changes by id, by time, by list; ids from `w:cseq`),
//! `w:d` / `w:d:due` / `w:d:c:<change>` / `w:d:stats` (the outbox: deliveries' state, when
//! each is next due, a change's deliveries, the counts for `/metrics`) and `w:spent` (the
//! re-checks' spending by day). The scripts are in `redis_watch_scripts`.
//!
//! Whether an answer is a change is `vtsum_core::diff`'s rule, in Rust: an answer is
//! recorded by reading the item, deciding, and applying it in a script that checks the
//! item's version (`v`) is still the one read, trying again when another process got there
//! first.

use serde::{Deserialize, Serialize};

use super::redis::RedisStore;
use super::redis_watch_scripts as lua;
use crate::{decode, encode};
use vtsum_core::diff::{reasons, Snapshot};
use vtsum_core::error::{Error, Result};
use vtsum_core::target::Target;
use vtsum_core::watch::{
    ChangeRecord, Delivery, HistoryEntry, HookId, ListInfo, OutboxStats, Recorded, Reserved,
    WatchItem, WatchList, WatchStore,
};
use vtsum_core::Verdict;

/// An item as `w:i:<list>` keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ItemState {
    stored: String,
    added_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checked_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    answered_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last: Option<Snapshot>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    permalink: Option<String>,
    /// Bumped by every recorded answer.
    #[serde(default)]
    v: u64,
}

/// A delivery as `w:d` keeps it (written by the scripts with `cjson`).
#[derive(Debug, Deserialize)]
struct DeliveryState {
    hook: String,
    attempts: u32,
    #[serde(default)]
    last_error: Option<String>,
    #[serde(default)]
    delivered_at: Option<i64>,
}

/// How often a recorded answer is tried again when another process recorded the same item
/// between the read and the write (only a claim that ran out allows that).
const RECORD_TRIES: usize = 5;

fn item(list: &str, state: &str) -> Result<WatchItem> {
    let s: ItemState = decode(state)?;
    let target = Target::parse_stored(&s.stored)
        .ok_or_else(|| Error::Corrupt(format!("a watched item: {:?}", s.stored)))?;
    Ok(WatchItem {
        list: list.to_string(),
        input: target.value().to_string(),
        target,
        added_at: s.added_at,
        checked_at: s.checked_at,
        answered_at: s.answered_at,
        last: s.last,
        permalink: s.permalink,
    })
}

fn delivery(id: &str, state: &str, change: &str) -> Result<Delivery> {
    let s: DeliveryState = decode(state)?;
    Ok(Delivery {
        id: id
            .parse()
            .map_err(|_| Error::Corrupt(format!("a delivery id: {id:?}")))?,
        hook: HookId(s.hook),
        change: decode(change)?,
        attempts: s.attempts,
        last_error: s.last_error,
        delivered_at: s.delivered_at,
    })
}

impl RedisStore {
    fn list_info(&self, list: WatchList) -> Result<ListInfo> {
        let (items, last, changes): (u64, Option<i64>, u64) = self.run(|c| {
            redis::pipe()
                .cmd("HLEN")
                .arg(self.key(&format!("w:i:{}", list.name)))
                .cmd("HGET")
                .arg(self.key("w:last"))
                .arg(&list.name)
                .cmd("SCARD")
                .arg(self.key(&format!("w:c:l:{}", list.name)))
                .query(c)
        })?;
        Ok(ListInfo {
            list,
            items,
            last_check: last,
            changes,
        })
    }

    /// One try at recording; `None` when another process recorded the item meanwhile.
    fn record_once(
        &self,
        item: &WatchItem,
        after: &Snapshot,
        answered_at: i64,
        permalink: Option<&str>,
        now: i64,
        hooks: &[HookId],
    ) -> Result<Option<Recorded>> {
        let key = item.target.key();
        let (list, state): (Option<String>, Option<String>) = self.run(|c| {
            redis::pipe()
                .cmd("HGET")
                .arg(self.key("w:lists"))
                .arg(&item.list)
                .cmd("HGET")
                .arg(self.key(&format!("w:i:{}", item.list)))
                .arg(&key)
                .query(c)
        })?;
        let (Some(list), Some(state)) = (list, state) else {
            // Removed from its list (or the list deleted) while it was being checked.
            return Ok(Some(Recorded { change: None }));
        };
        let list: WatchList = decode(&list)?;
        let mut state: ItemState = decode(&state)?;
        let (before, read) = (state.last.take(), state.v);
        state.checked_at = Some(now);
        state.answered_at = Some(answered_at);
        state.last = Some(after.clone());
        state.permalink = permalink.map(String::from);
        state.v += 1;
        let every = if after.verdict == Verdict::Unknown {
            list.every_unknown
        } else {
            list.every
        };
        let due = answered_at.saturating_add(every as i64);
        let history = HistoryEntry {
            checked_at: now,
            answered_at,
            snapshot: after.clone(),
        };
        let change = match before {
            Some(before) if after.verdict != Verdict::Error => {
                let why = reasons(&before, after, list.threshold);
                if why.is_empty() {
                    None
                } else {
                    let id: i64 =
                        self.run(|c| redis::cmd("INCR").arg(self.key("w:cseq")).query(c))?;
                    Some(ChangeRecord {
                        id,
                        at: now,
                        list: item.list.clone(),
                        input: item.input.clone(),
                        before,
                        after: after.clone(),
                        reasons: why,
                        permalink: permalink.map(String::from),
                    })
                }
            }
            _ => None,
        };
        let mut args = vec![
            item.list.clone(),
            key,
            read.to_string(),
            encode(&state),
            encode(&history),
            due.to_string(),
            now.to_string(),
            change
                .as_ref()
                .map(|c| c.id.to_string())
                .unwrap_or_default(),
            change.as_ref().map(encode).unwrap_or_default(),
        ];
        if change.is_some() {
            args.extend(hooks.iter().map(|h| h.0.clone()));
        }
        match self.script::<i64>(lua::RECORD, &args)? {
            -1 => Ok(None),
            0 => Ok(Some(Recorded { change: None })),
            _ => Ok(Some(Recorded { change })),
        }
    }
}

impl WatchStore for RedisStore {
    fn watch_put(&self, list: &WatchList) -> Result<()> {
        let mut list = list.clone();
        if let Some(old) = self.watch_get(&list.name)? {
            list.created_at = old.created_at;
        }
        let args = [
            encode(&list),
            list.name.clone(),
            list.every.to_string(),
            list.every_unknown.to_string(),
        ];
        self.script::<i64>(lua::PUT, &args).map(drop)
    }

    fn watch_get(&self, name: &str) -> Result<Option<WatchList>> {
        let got: Option<String> = self.run(|c| {
            redis::cmd("HGET")
                .arg(self.key("w:lists"))
                .arg(name)
                .query(c)
        })?;
        got.map(|t| decode(&t)).transpose()
    }

    fn watch_lists(&self) -> Result<Vec<ListInfo>> {
        let all: Vec<(String, String)> =
            self.run(|c| redis::cmd("HGETALL").arg(self.key("w:lists")).query(c))?;
        let mut lists = all
            .iter()
            .map(|(_, json)| decode::<WatchList>(json))
            .collect::<Result<Vec<_>>>()?;
        lists.sort_by(|a, b| a.name.cmp(&b.name));
        lists.into_iter().map(|l| self.list_info(l)).collect()
    }

    fn watch_delete(&self, name: &str) -> Result<bool> {
        Ok(self.script::<i64>(lua::DELETE, &[name])? == 1)
    }

    fn watch_add(&self, name: &str, targets: &[Target], now: i64) -> Result<u64> {
        let mut args = vec![name.to_string(), now.to_string()];
        for t in targets {
            let state = ItemState {
                stored: t.stored(),
                added_at: now,
                checked_at: None,
                answered_at: None,
                last: None,
                permalink: None,
                v: 0,
            };
            args.push(t.key());
            args.push(encode(&state));
        }
        match self.script::<i64>(lua::ADD, &args)? {
            -1 => Err(Error::Watch(format!(
                "no watchlist named {name:?}: `vtsum watch add {name} FILE` makes it"
            ))),
            n => Ok(n.max(0) as u64),
        }
    }

    fn watch_remove(&self, name: &str, keys: &[String]) -> Result<u64> {
        let mut args = vec![name.to_string()];
        args.extend(keys.iter().cloned());
        Ok(self.script::<i64>(lua::REMOVE, &args)?.max(0) as u64)
    }

    fn watch_items(&self, name: &str) -> Result<Vec<WatchItem>> {
        let flat: Vec<String> = self.script(lua::ITEMS, &[name])?;
        flat.chunks_exact(2).map(|kv| item(name, &kv[1])).collect()
    }

    fn watch_history(&self, name: &str, key: &str) -> Result<Vec<HistoryEntry>> {
        let all: Vec<String> = self.run(|c| {
            redis::cmd("LRANGE")
                .arg(self.key(&format!("w:h:{name}|{key}")))
                .arg(0)
                .arg(-1)
                .query(c)
        })?;
        all.iter().map(|t| decode(t)).collect()
    }

    fn watch_claim_due(&self, now: i64, until: i64, limit: u64) -> Result<Vec<WatchItem>> {
        let args = [now.to_string(), until.to_string(), limit.to_string()];
        let flat: Vec<String> = self.script(lua::CLAIM, &args)?;
        flat.chunks_exact(3).map(|c| item(&c[0], &c[2])).collect()
    }

    fn watch_record(
        &self,
        item: &WatchItem,
        after: &Snapshot,
        answered_at: i64,
        permalink: Option<&str>,
        now: i64,
        hooks: &[HookId],
    ) -> Result<Recorded> {
        for _ in 0..RECORD_TRIES {
            if let Some(done) = self.record_once(item, after, answered_at, permalink, now, hooks)? {
                return Ok(done);
            }
        }
        Err(Error::Watch(format!(
            "{} on {:?} was recorded by other processes {RECORD_TRIES} times while this one \
             tried: check that rounds on this store use claims longer than a round",
            item.input, item.list
        )))
    }

    fn watch_changes(&self, since: i64, limit: u64) -> Result<Vec<ChangeRecord>> {
        let args = [since.to_string(), limit.to_string()];
        let all: Vec<String> = self.script(lua::CHANGES, &args)?;
        let mut changes = all
            .iter()
            .map(|t| decode::<ChangeRecord>(t))
            .collect::<Result<Vec<_>>>()?;
        changes.sort_by_key(|c| c.id);
        Ok(changes)
    }

    fn outbox_claim(
        &self,
        hooks: &[HookId],
        now: i64,
        until: i64,
        limit: u64,
    ) -> Result<Vec<Delivery>> {
        let mut args = vec![now.to_string(), until.to_string(), limit.to_string()];
        args.extend(hooks.iter().map(|h| h.0.clone()));
        let flat: Vec<String> = self.script(lua::OUTBOX_CLAIM, &args)?;
        let mut found = flat
            .chunks_exact(3)
            .map(|d| delivery(&d[0], &d[1], &d[2]))
            .collect::<Result<Vec<_>>>()?;
        found.sort_by_key(|d| (d.change.id, d.id));
        Ok(found)
    }

    fn outbox_delivered(&self, id: i64, now: i64) -> Result<()> {
        let args = [
            id.to_string(),
            now.to_string(),
            String::new(),
            String::new(),
        ];
        self.script::<i64>(lua::OUTBOX_SETTLE, &args).map(drop)
    }

    fn outbox_failed(&self, id: i64, retry_at: i64, error: &str) -> Result<()> {
        // A message from the receiver's side is bounded before it is kept.
        let error: String = error.chars().take(300).collect();
        let args = [id.to_string(), "0".into(), retry_at.to_string(), error];
        self.script::<i64>(lua::OUTBOX_SETTLE, &args).map(drop)
    }

    fn outbox_of(&self, change: i64) -> Result<Vec<Delivery>> {
        let flat: Vec<String> = self.script(lua::OUTBOX_OF, &[change.to_string()])?;
        let record: Option<String> =
            self.run(|c| redis::cmd("HGET").arg(self.key("w:c")).arg(change).query(c))?;
        let Some(record) = record else {
            return Ok(Vec::new());
        };
        flat.chunks_exact(2)
            .map(|d| delivery(&d[0], &d[1], &record))
            .collect()
    }

    fn outbox_stats(&self) -> Result<OutboxStats> {
        let got: Vec<(String, i64)> =
            self.run(|c| redis::cmd("HGETALL").arg(self.key("w:d:stats")).query(c))?;
        let count = |name: &str| {
            got.iter()
                .find(|(k, _)| k == name)
                .map(|(_, n)| (*n).max(0) as u64)
                .unwrap_or(0)
        };
        Ok(OutboxStats {
            delivered: count("delivered"),
            pending: count("pending"),
            failing: count("failing"),
        })
    }

    fn recheck_spent(&self, day: &str) -> Result<u64> {
        let got: Option<u64> = self.run(|c| {
            redis::cmd("HGET")
                .arg(self.key("w:spent"))
                .arg(day)
                .query(c)
        })?;
        Ok(got.unwrap_or(0))
    }

    fn recheck_reserve(&self, day: &str, cap: u64, want: u64) -> Result<Reserved> {
        let args = [day.to_string(), cap.to_string(), want.to_string()];
        let (before, granted): (u64, u64) = self.script(lua::RESERVE, &args)?;
        Ok(Reserved { before, granted })
    }

    fn recheck_refund(&self, day: &str, n: u64) -> Result<()> {
        let args = [day.to_string(), String::new(), n.to_string()];
        self.script::<(u64, u64)>(lua::RESERVE, &args).map(drop)
    }
}
