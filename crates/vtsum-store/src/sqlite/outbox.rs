//! The webhook outbox in the SQLite file: one row per change and webhook, written in the
//! change's own transaction (so a change is never recorded without its deliveries, nor a
//! delivery without its change), claimed for a while by a sender, then delivered or
//! rescheduled. Webhooks are known by their [`HookId`] only: a URL is a credential.

use rusqlite::{params, Connection, Transaction};

use vtsum_core::watch::{ChangeRecord, Delivery, HookId, OutboxStats};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS watch_outbox (
    id INTEGER PRIMARY KEY,
    change_id INTEGER NOT NULL REFERENCES watch_changes(id) ON DELETE CASCADE,
    hook TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    last_error TEXT,
    delivered_at INTEGER,
    UNIQUE (change_id, hook)
);
CREATE INDEX IF NOT EXISTS watch_outbox_due ON watch_outbox(next_at) WHERE delivered_at IS NULL;
";

/// A change as stored (JSON).
pub(super) fn change_from(text: &str) -> rusqlite::Result<ChangeRecord> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("a change: {e}").into(),
        )
    })
}

/// One delivery of change `change` per hook, due now.
pub(super) fn queue(
    tx: &Transaction<'_>,
    change: i64,
    hooks: &[HookId],
    now: i64,
) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT OR IGNORE INTO watch_outbox (change_id, hook, next_at) VALUES (?1, ?2, ?3)",
    )?;
    for hook in hooks {
        stmt.execute(params![change, hook.0, now])?;
    }
    Ok(())
}

const COLUMNS: &str =
    "o.id, o.hook, o.attempts, o.last_error, o.delivered_at, c.record FROM watch_outbox o \
     JOIN watch_changes c ON c.id = o.change_id";

fn delivery(row: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: row.get(0)?,
        hook: HookId(row.get(1)?),
        attempts: row.get(2)?,
        last_error: row.get(3)?,
        delivered_at: row.get(4)?,
        change: change_from(&row.get::<_, String>(5)?)?,
    })
}

/// Up to `limit` undelivered deliveries for `hooks` due at `now`, oldest change first,
/// each held until `until`.
pub(super) fn claim(
    tx: &Transaction<'_>,
    hooks: &[HookId],
    now: i64,
    until: i64,
    limit: u64,
) -> rusqlite::Result<Vec<Delivery>> {
    let ids: Vec<&str> = hooks.iter().map(|h| h.0.as_str()).collect();
    let found: Vec<Delivery> = {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT {COLUMNS} WHERE o.delivered_at IS NULL AND o.next_at <= ?1
               AND o.hook IN (SELECT value FROM json_each(?2))
             ORDER BY o.change_id, o.id LIMIT ?3"
        ))?;
        let ids = serde_json::to_string(&ids).expect("strings serialise");
        let rows = stmt.query_map(params![now, ids, limit], delivery)?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut hold = tx.prepare_cached("UPDATE watch_outbox SET next_at = ?2 WHERE id = ?1")?;
    for d in &found {
        hold.execute(params![d.id, until])?;
    }
    Ok(found)
}

pub(super) fn delivered(tx: &Transaction<'_>, id: i64, now: i64) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE watch_outbox SET delivered_at = ?2, attempts = attempts + 1, last_error = NULL
         WHERE id = ?1 AND delivered_at IS NULL",
        params![id, now],
    )
    .map(drop)
}

pub(super) fn failed(
    tx: &Transaction<'_>,
    id: i64,
    retry_at: i64,
    error: &str,
) -> rusqlite::Result<()> {
    // A message from the receiver's side is bounded before it is kept.
    let error: String = error.chars().take(300).collect();
    tx.execute(
        "UPDATE watch_outbox SET attempts = attempts + 1, next_at = ?2, last_error = ?3
         WHERE id = ?1 AND delivered_at IS NULL",
        params![id, retry_at, error],
    )
    .map(drop)
}

pub(super) fn of_change(conn: &Connection, change: i64) -> rusqlite::Result<Vec<Delivery>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} WHERE o.change_id = ?1 ORDER BY o.id"
    ))?;
    let rows = stmt.query_map([change], delivery)?;
    rows.collect()
}

pub(super) fn stats(conn: &Connection) -> rusqlite::Result<OutboxStats> {
    conn.query_row(
        "SELECT COUNT(delivered_at), COUNT(*) - COUNT(delivered_at),
           SUM(delivered_at IS NULL AND attempts > 0) FROM watch_outbox",
        [],
        |r| {
            Ok(OutboxStats {
                delivered: r.get(0)?,
                pending: r.get(1)?,
                failing: r.get::<_, Option<u64>>(2)?.unwrap_or(0),
            })
        },
    )
}
