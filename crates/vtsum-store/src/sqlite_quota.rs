//! Shared quotas and per-hash claims in a SQLite file, so that every process on one machine
//! that opens the file keeps each key within its limits together, across runs, restarts
//! and `kill -9`.
//!
//! `quota_slots(key_id, window_ms, token, free_at)` holds one row per request slot of each
//! sliding window: written in flight with `free_at` = grant + hold + window (a process that
//! dies mid-request keeps the slot until then), moved to answer + window when the answer
//! lands. One acquisition is one `BEGIN IMMEDIATE` transaction that drops lapsed slots,
//! checks every window and the day's ledger, and records the new slots and the ledger
//! count: two processes can never both take the last slot.
//!
//! **Dead processes.** The file is shared only by processes of one machine, and every lease
//! and claim token starts with its process id, so a slot or claim still marked in flight by
//! a process that no longer exists (`kill -9`) is not held for the whole hold: the slot
//! frees one window from the moment this is noticed (its request, if it ever left, arrived
//! before its process died), the claim at once. A reused process id only delays.
//!
//! **Clock honesty.** Times are wall-clock milliseconds, so they mean the same to the next
//! process. A clock that jumps forward frees slots early only by the jump, as it would
//! VirusTotal's own windows; a clock that jumps *backwards* makes stored times lie further
//! ahead, which only delays. So that a big backward jump does not block a key for hours, a
//! slot whose free time lies further ahead than any real slot can (hold + window) is
//! pulled back to now + hold + window — never earlier than a full window from now. A
//! restart across midnight UTC resets the day's count (VirusTotal's rule), not the
//! windows: they are stored with absolute times.

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use vtsum_core::store::{QuotaRequest, SharedGrant};

/// How long a process blocked by another's request in flight waits before asking again:
/// that request's end is not known in advance.
pub const POLL_MS: u64 = 25;

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS quota_slots (
    key_id TEXT NOT NULL,
    window_ms INTEGER NOT NULL,
    token TEXT NOT NULL,
    free_at INTEGER NOT NULL,
    PRIMARY KEY (key_id, window_ms, token)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hash_claims (
    hash TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Wall-clock Unix milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Checks every window and the day and, if `req.cost` more requests fit, records them.
pub fn acquire(conn: &mut Connection, req: &QuotaRequest<'_>) -> rusqlite::Result<SharedGrant> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = now_ms();
    let hold = req.hold.as_millis() as i64;
    let mut wait: Option<u64> = None;
    for &(limit, length) in req.windows {
        let len = length.as_millis() as i64;
        tx.execute(
            "DELETE FROM quota_slots WHERE key_id = ?1 AND window_ms = ?2 AND free_at <= ?3",
            params![req.key.0, len, now],
        )?;
        release_dead(&tx, req.key, len, now)?;
        // Clock went backwards: no real slot frees later than hold + window from now.
        tx.execute(
            "UPDATE quota_slots SET free_at = ?3 WHERE key_id = ?1 AND window_ms = ?2 AND free_at > ?3",
            params![req.key.0, len, now + hold + len],
        )?;
        let (used, first): (u32, Option<i64>) = tx.query_row(
            "SELECT COUNT(*), MIN(free_at) FROM quota_slots WHERE key_id = ?1 AND window_ms = ?2",
            params![req.key.0, len],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if used + req.cost > limit {
            let first = first.unwrap_or(now + 1);
            // A slot still in flight frees when its answer comes, which nobody knows yet.
            let w = if first > now + len {
                POLL_MS
            } else {
                (first - now).max(1) as u64
            };
            wait = Some(wait.map_or(w, |old| old.max(w)));
        }
    }
    // Lapsed, dead and clamped slots are kept tidy even when nothing is granted.
    if let Some(ms) = wait {
        tx.commit()?;
        return Ok(SharedGrant::WaitMs(ms));
    }
    let mut cost = req.cost;
    if let Some(daily) = req.daily {
        let used: u64 = tx
            .query_row(
                "SELECT used FROM ledger WHERE key_id = ?1 AND day = ?2",
                params![req.key.0, req.day],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0);
        let left = u64::from(daily).saturating_sub(used);
        if left == 0 {
            tx.commit()?;
            return Ok(SharedGrant::DayOut);
        }
        // The day's last units: grant what is left of a v2 batch.
        cost = cost.min(left.min(u64::from(u32::MAX)) as u32);
    }
    for &(_, length) in req.windows {
        let len = length.as_millis() as i64;
        for j in 0..cost {
            tx.execute(
                "INSERT OR REPLACE INTO quota_slots (key_id, window_ms, token, free_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    req.key.0,
                    len,
                    format!("{}:{j}", req.token),
                    now + hold + len
                ],
            )?;
        }
    }
    add_to_ledger(&tx, req, cost)?;
    tx.commit()?;
    Ok(SharedGrant::Granted(cost))
}

/// Moves the in-flight slots of processes that died to one window from now.
fn release_dead(
    tx: &Transaction<'_>,
    key: &vtsum_core::key::KeyId,
    len: i64,
    now: i64,
) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "SELECT token FROM quota_slots WHERE key_id = ?1 AND window_ms = ?2 AND free_at > ?3",
    )?;
    let tokens = stmt
        .query_map(params![key.0, len, now + len], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    for token in tokens.iter().filter(|t| !holder_alive(t)) {
        tx.execute(
            "UPDATE quota_slots SET free_at = ?4 WHERE key_id = ?1 AND window_ms = ?2 AND token = ?3",
            params![key.0, len, token, now + len],
        )?;
    }
    Ok(())
}

/// Whether the process named at the start of a token (`PID-…`) may still be running.
/// Without `/proc` (not Linux) every holder counts as alive: slower, never over.
pub fn holder_alive(token: &str) -> bool {
    let Some(pid) = token.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
        return true;
    };
    if pid == std::process::id() {
        return true;
    }
    let proc_dir = std::path::Path::new("/proc");
    !proc_dir.join("self").exists() || proc_dir.join(pid.to_string()).exists()
}

fn add_to_ledger(tx: &Transaction<'_>, req: &QuotaRequest<'_>, n: u32) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO ledger (key_id, day, used) VALUES (?1, ?2, ?3)
         ON CONFLICT(key_id, day) DO UPDATE SET used = used + excluded.used",
        params![req.key.0, req.day, n],
    )?;
    Ok(())
}

/// The lease's requests were answered: each of its slots frees one window from now.
pub fn release(conn: &mut Connection, req: &QuotaRequest<'_>) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = now_ms();
    for &(_, length) in req.windows {
        let len = length.as_millis() as i64;
        for j in 0..req.cost {
            tx.execute(
                "UPDATE quota_slots SET free_at = ?4
                 WHERE key_id = ?1 AND window_ms = ?2 AND token = ?3",
                params![req.key.0, len, format!("{}:{j}", req.token), now + len],
            )?;
        }
    }
    tx.commit()
}

/// Claims `hash` for `token` unless another live token holds it; renews an own claim.
pub fn claim(
    conn: &mut Connection,
    hash: &str,
    token: &str,
    ttl: std::time::Duration,
) -> rusqlite::Result<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = now_ms();
    // Claims of processes that died lapse; the table holds only hashes in flight.
    tx.execute("DELETE FROM hash_claims WHERE expires_at <= ?1", [now])?;
    let holder: Option<(String, i64)> = tx
        .query_row(
            "SELECT token, expires_at FROM hash_claims WHERE hash = ?1",
            [hash],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if holder.is_some_and(|(t, expires)| t != token && expires > now && holder_alive(&t)) {
        return Ok(false);
    }
    tx.execute(
        "INSERT OR REPLACE INTO hash_claims (hash, token, expires_at) VALUES (?1, ?2, ?3)",
        params![hash, token, now + ttl.as_millis() as i64],
    )?;
    tx.commit()?;
    Ok(true)
}

/// Gives up `token`'s claim on `hash`, if it still holds it.
pub fn unclaim(conn: &Connection, hash: &str, token: &str) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM hash_claims WHERE hash = ?1 AND token = ?2",
        params![hash, token],
    )?;
    Ok(())
}
