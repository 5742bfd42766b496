//! Watchlists in the SQLite file (`vtsum_core::watch::WatchStore`): lists, their items
//! with the last answer and when each is due, every answer as history, changes, and the
//! re-checks' daily spending. The outbox is [`super::outbox`].
//!
//! An item's `due_at` is its answer's time plus its list's interval (the unknown interval
//! for an unknown answer), kept as a column with an index so the due items of a big list
//! are found without reading the rest. A claim (`claimed_until`) is taken in a
//! `BEGIN IMMEDIATE` transaction: two processes never claim the same item at once.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::outbox::{self as sqlite_outbox, change_from};
use super::SqliteStore;
use vtsum_core::diff::{reasons, Snapshot};
use vtsum_core::error::{Error, Result};
use vtsum_core::target::Target;
use vtsum_core::watch::{
    ChangeRecord, Delivery, HistoryEntry, HookId, ListInfo, OutboxStats, Recorded, Reserved,
    WatchItem, WatchList, WatchStore,
};
use vtsum_core::Verdict;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS watch_lists (
    name TEXT PRIMARY KEY,
    every INTEGER NOT NULL,
    every_unknown INTEGER NOT NULL,
    threshold INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS watch_items (
    list TEXT NOT NULL REFERENCES watch_lists(name) ON DELETE CASCADE,
    key TEXT NOT NULL,
    stored TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    checked_at INTEGER,
    answered_at INTEGER,
    due_at INTEGER NOT NULL,
    claimed_until INTEGER NOT NULL DEFAULT 0,
    last TEXT,
    permalink TEXT,
    PRIMARY KEY (list, key)
);
CREATE INDEX IF NOT EXISTS watch_items_due ON watch_items(due_at);
CREATE TABLE IF NOT EXISTS watch_history (
    list TEXT NOT NULL,
    key TEXT NOT NULL,
    checked_at INTEGER NOT NULL,
    answered_at INTEGER NOT NULL,
    snapshot TEXT NOT NULL,
    FOREIGN KEY (list, key) REFERENCES watch_items(list, key) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS watch_history_item ON watch_history(list, key);
CREATE TABLE IF NOT EXISTS watch_changes (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    list TEXT NOT NULL REFERENCES watch_lists(name) ON DELETE CASCADE,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS watch_changes_at ON watch_changes(at);
CREATE TABLE IF NOT EXISTS recheck_ledger (day TEXT PRIMARY KEY, used INTEGER NOT NULL);
";

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("watch records serialise")
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, {
        format!("{what}: {e}").into()
    })
}

fn list_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<WatchList> {
    Ok(WatchList {
        name: row.get(0)?,
        every: row.get(1)?,
        every_unknown: row.get(2)?,
        threshold: row.get(3)?,
        created_at: row.get(4)?,
    })
}

const ITEM_COLUMNS: &str = "list, stored, added_at, checked_at, answered_at, last, permalink";

fn item_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<WatchItem> {
    let stored: String = row.get(1)?;
    let target = Target::parse_stored(&stored).ok_or_else(|| corrupt("a watched item", &stored))?;
    let last: Option<String> = row.get(5)?;
    let last = match last {
        Some(text) => Some(serde_json::from_str(&text).map_err(|e| corrupt("an answer", e))?),
        None => None,
    };
    Ok(WatchItem {
        list: row.get(0)?,
        input: target.value().to_string(),
        target,
        added_at: row.get(2)?,
        checked_at: row.get(3)?,
        answered_at: row.get(4)?,
        last,
        permalink: row.get(6)?,
    })
}

/// `due_at` of an answer under a list's intervals.
const DUE: &str = "answered_at + CASE WHEN json_extract(last, '$.verdict') = 'unknown' \
    THEN l.every_unknown ELSE l.every END";

impl SqliteStore {
    fn watch_tx<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let mut conn = self.conn();
        let run = |conn: &mut Connection| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        };
        run(&mut conn).map_err(|e| self.err(e))
    }

    fn watch_read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self.reader()?;
        f(&conn).map_err(|e| self.err(e))
    }
}

impl WatchStore for SqliteStore {
    fn watch_put(&self, list: &WatchList) -> Result<()> {
        self.watch_tx(|tx| {
            tx.execute(
                "INSERT INTO watch_lists (name, every, every_unknown, threshold, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (name) DO UPDATE SET every = ?2, every_unknown = ?3, threshold = ?4",
                params![
                    list.name,
                    list.every,
                    list.every_unknown,
                    list.threshold,
                    list.created_at
                ],
            )?;
            // New intervals move what is due.
            tx.execute(
                &format!(
                    "UPDATE watch_items SET due_at = (SELECT {DUE} FROM watch_lists l
                       WHERE l.name = watch_items.list)
                     WHERE list = ?1 AND answered_at IS NOT NULL"
                ),
                [&list.name],
            )?;
            Ok(())
        })
    }

    fn watch_get(&self, name: &str) -> Result<Option<WatchList>> {
        self.watch_read(|c| {
            c.query_row(
                "SELECT name, every, every_unknown, threshold, created_at FROM watch_lists
                 WHERE name = ?1",
                [name],
                list_from,
            )
            .optional()
        })
    }

    fn watch_lists(&self) -> Result<Vec<ListInfo>> {
        self.watch_read(|c| {
            let mut stmt = c.prepare(
                "SELECT name, every, every_unknown, threshold, created_at,
                   (SELECT COUNT(*) FROM watch_items i WHERE i.list = l.name),
                   (SELECT MAX(checked_at) FROM watch_items i WHERE i.list = l.name),
                   (SELECT COUNT(*) FROM watch_changes c WHERE c.list = l.name)
                 FROM watch_lists l ORDER BY name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(ListInfo {
                    list: list_from(r)?,
                    items: r.get(5)?,
                    last_check: r.get(6)?,
                    changes: r.get(7)?,
                })
            })?;
            rows.collect()
        })
    }

    fn watch_delete(&self, name: &str) -> Result<bool> {
        self.watch_tx(|tx| Ok(tx.execute("DELETE FROM watch_lists WHERE name = ?1", [name])? > 0))
    }

    fn watch_add(&self, name: &str, targets: &[Target], now: i64) -> Result<u64> {
        // The list is looked for in the transaction that adds, so one deleted meanwhile
        // gets the same message as one that never was.
        let added = self.watch_tx(|tx| {
            let exists = tx
                .query_row("SELECT 1 FROM watch_lists WHERE name = ?1", [name], |_| {
                    Ok(())
                })
                .optional()?
                .is_some();
            if !exists {
                return Ok(None);
            }
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO watch_items (list, key, stored, added_at, due_at)
                 VALUES (?1, ?2, ?3, ?4, ?4)",
            )?;
            let mut added = 0;
            for t in targets {
                added += stmt.execute(params![name, t.key(), t.stored(), now])? as u64;
            }
            Ok(Some(added))
        })?;
        added.ok_or_else(|| {
            Error::Watch(format!(
                "no watchlist named {name:?}: `vtsum watch add {name} FILE` makes it"
            ))
        })
    }

    fn watch_remove(&self, name: &str, keys: &[String]) -> Result<u64> {
        self.watch_tx(|tx| {
            let mut stmt =
                tx.prepare_cached("DELETE FROM watch_items WHERE list = ?1 AND key = ?2")?;
            let mut removed = 0;
            for key in keys {
                removed += stmt.execute(params![name, key])? as u64;
            }
            Ok(removed)
        })
    }

    fn watch_items(&self, name: &str) -> Result<Vec<WatchItem>> {
        self.watch_read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {ITEM_COLUMNS} FROM watch_items WHERE list = ?1 ORDER BY added_at, rowid"
            ))?;
            let rows = stmt.query_map([name], item_from)?;
            rows.collect()
        })
    }

    fn watch_history(&self, name: &str, key: &str) -> Result<Vec<HistoryEntry>> {
        self.watch_read(|c| {
            let mut stmt = c.prepare(
                "SELECT checked_at, answered_at, snapshot FROM watch_history
                 WHERE list = ?1 AND key = ?2 ORDER BY rowid",
            )?;
            let rows = stmt.query_map([name, key], |r| {
                let text: String = r.get(2)?;
                Ok(HistoryEntry {
                    checked_at: r.get(0)?,
                    answered_at: r.get(1)?,
                    snapshot: serde_json::from_str(&text).map_err(|e| corrupt("an answer", e))?,
                })
            })?;
            rows.collect()
        })
    }

    fn watch_claim_due(&self, now: i64, until: i64, limit: u64) -> Result<Vec<WatchItem>> {
        self.watch_tx(|tx| {
            let items: Vec<(String, String, WatchItem)> = {
                let mut stmt = tx.prepare_cached(&format!(
                    "SELECT {ITEM_COLUMNS}, key FROM watch_items
                     WHERE due_at <= ?1 AND claimed_until <= ?1
                     ORDER BY due_at, rowid LIMIT ?2"
                ))?;
                let rows = stmt.query_map(params![now, limit], |r| {
                    Ok((r.get(0)?, r.get(7)?, item_from(r)?))
                })?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let mut claim = tx.prepare_cached(
                "UPDATE watch_items SET claimed_until = ?3 WHERE list = ?1 AND key = ?2",
            )?;
            for (list, key, _) in &items {
                claim.execute(params![list, key, until])?;
            }
            Ok(items.into_iter().map(|(_, _, item)| item).collect())
        })
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
        let key = item.target.key();
        self.watch_tx(|tx| {
            let found = tx
                .query_row(
                    "SELECT i.last, l.threshold FROM watch_items i
                     JOIN watch_lists l ON l.name = i.list WHERE i.list = ?1 AND i.key = ?2",
                    params![item.list, key],
                    |r| Ok((r.get::<_, Option<String>>(0)?, r.get::<_, u32>(1)?)),
                )
                .optional()?;
            // Removed from its list while it was being checked.
            let Some((last, threshold)) = found else {
                return Ok(Recorded { change: None });
            };
            let before: Option<Snapshot> = match last {
                Some(t) => Some(serde_json::from_str(&t).map_err(|e| corrupt("an answer", e))?),
                None => None,
            };
            tx.execute(
                "INSERT INTO watch_history (list, key, checked_at, answered_at, snapshot)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![item.list, key, now, answered_at, json(after)],
            )?;
            tx.execute(
                "UPDATE watch_items SET checked_at = ?3, answered_at = ?4, last = ?5,
                   permalink = ?6, claimed_until = 0 WHERE list = ?1 AND key = ?2",
                params![item.list, key, now, answered_at, json(after), permalink],
            )?;
            tx.execute(
                &format!(
                    "UPDATE watch_items SET due_at = (SELECT {DUE} FROM watch_lists l
                       WHERE l.name = watch_items.list) WHERE list = ?1 AND key = ?2"
                ),
                params![item.list, key],
            )?;
            let Some(before) = before else {
                return Ok(Recorded { change: None });
            };
            let why = reasons(&before, after, threshold);
            if why.is_empty() || after.verdict == Verdict::Error {
                return Ok(Recorded { change: None });
            }
            let mut change = ChangeRecord {
                id: 0,
                at: now,
                list: item.list.clone(),
                input: item.input.clone(),
                before,
                after: after.clone(),
                reasons: why,
                permalink: permalink.map(String::from),
            };
            tx.execute(
                "INSERT INTO watch_changes (at, list, record) VALUES (?1, ?2, '')",
                params![now, item.list],
            )?;
            change.id = tx.last_insert_rowid();
            tx.execute(
                "UPDATE watch_changes SET record = ?2 WHERE id = ?1",
                params![change.id, json(&change)],
            )?;
            sqlite_outbox::queue(tx, change.id, hooks, now)?;
            Ok(Recorded {
                change: Some(change),
            })
        })
    }

    fn watch_changes(&self, since: i64, limit: u64) -> Result<Vec<ChangeRecord>> {
        self.watch_read(|c| {
            let mut stmt =
                c.prepare("SELECT record FROM watch_changes WHERE at >= ?1 ORDER BY id LIMIT ?2")?;
            let rows = stmt.query_map(params![since, limit], |r| {
                change_from(&r.get::<_, String>(0)?)
            })?;
            rows.collect()
        })
    }

    fn outbox_claim(
        &self,
        hooks: &[HookId],
        now: i64,
        until: i64,
        limit: u64,
    ) -> Result<Vec<Delivery>> {
        self.watch_tx(|tx| sqlite_outbox::claim(tx, hooks, now, until, limit))
    }

    fn outbox_delivered(&self, id: i64, now: i64) -> Result<()> {
        self.watch_tx(|tx| sqlite_outbox::delivered(tx, id, now))
    }

    fn outbox_failed(&self, id: i64, retry_at: i64, error: &str) -> Result<()> {
        self.watch_tx(|tx| sqlite_outbox::failed(tx, id, retry_at, error))
    }

    fn outbox_of(&self, change: i64) -> Result<Vec<Delivery>> {
        self.watch_read(|c| sqlite_outbox::of_change(c, change))
    }

    fn outbox_stats(&self) -> Result<OutboxStats> {
        self.watch_read(sqlite_outbox::stats)
    }

    fn recheck_spent(&self, day: &str) -> Result<u64> {
        self.watch_read(|c| {
            c.query_row(
                "SELECT used FROM recheck_ledger WHERE day = ?1",
                [day],
                |r| r.get(0),
            )
            .optional()
            .map(|n| n.unwrap_or(0))
        })
    }

    fn recheck_reserve(&self, day: &str, cap: u64, want: u64) -> Result<Reserved> {
        self.watch_tx(|tx| {
            let before: u64 = tx
                .query_row(
                    "SELECT used FROM recheck_ledger WHERE day = ?1",
                    [day],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(0);
            let reserved = Reserved::of(before, cap, want);
            tx.execute(
                "INSERT INTO recheck_ledger (day, used) VALUES (?1, ?2)
                 ON CONFLICT (day) DO UPDATE SET used = used + ?2",
                params![day, reserved.granted],
            )?;
            Ok(reserved)
        })
    }

    fn recheck_refund(&self, day: &str, n: u64) -> Result<()> {
        self.watch_tx(|tx| {
            tx.execute(
                "UPDATE recheck_ledger SET used = MAX(used - ?2, 0) WHERE day = ?1",
                params![day, n],
            )
            .map(drop)
        })
    }
}
