//! The SQLite store's shared quota and claims as other processes see them: two handles on
//! one file (two processes), a slot left in flight by a process that died, and a clock
//! that went backwards.

use std::time::Duration;

use vtsum_core::key::KeyId;
use vtsum_core::store::{QuotaRequest, SharedGrant, Store};
use vtsum_core::Hash;
use vtsum_store::sqlite::SqliteStore;

const WINDOW: Duration = Duration::from_millis(1000);
const HOLD: Duration = Duration::from_secs(40);

fn request<'a>(
    key: &'a KeyId,
    windows: &'a [(u32, Duration)],
    token: &'a str,
    daily: Option<u32>,
) -> QuotaRequest<'a> {
    QuotaRequest {
        key,
        windows,
        daily,
        day: "2026-11-26",
        cost: 1,
        token,
        hold: HOLD,
    }
}

fn wait_ms(grant: SharedGrant) -> u64 {
    match grant {
        SharedGrant::WaitMs(ms) => ms,
        other => panic!("expected to wait, got {other:?}"),
    }
}

#[test]
fn two_handles_on_one_file_share_each_window_and_the_day() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vtsum.db");
    let (a, b) = (
        SqliteStore::open(&db).unwrap(),
        SqliteStore::open(&db).unwrap(),
    );
    assert!(a.shares_quota());
    let key = KeyId("k1".into());
    let windows = [(2, WINDOW)];
    let own = format!("{}-run-1", std::process::id());
    assert_eq!(
        a.quota_acquire(&request(&key, &windows, &own, Some(3)))
            .unwrap(),
        SharedGrant::Granted(1)
    );
    let other = format!("{}-run-2", std::process::id());
    assert_eq!(
        b.quota_acquire(&request(&key, &windows, &other, Some(3)))
            .unwrap(),
        SharedGrant::Granted(1)
    );
    // The window is full; both slots are in flight, so nobody knows when they free.
    let third = format!("{}-run-3", std::process::id());
    assert!(
        wait_ms(
            a.quota_acquire(&request(&key, &windows, &third, Some(3)))
                .unwrap()
        ) < 100
    );
    // Answered now: the slot frees one window from now, not earlier.
    a.quota_release(&request(&key, &windows, &own, None))
        .unwrap();
    let ms = wait_ms(
        b.quota_acquire(&request(&key, &windows, &third, Some(3)))
            .unwrap(),
    );
    assert!((900..=1000).contains(&ms), "{ms} ms");
    // The ledger counted both, for every handle.
    assert_eq!(b.ledger_used(&key, "2026-11-26").unwrap(), 2);
    // Another key's window is its own; the day's limit is shared.
    let wide = [(10, WINDOW)];
    let k2 = KeyId("k2".into());
    for i in 0..3 {
        let t = format!("{}-k2-{i}", std::process::id());
        assert_eq!(
            a.quota_acquire(&request(&k2, &wide, &t, Some(3))).unwrap(),
            SharedGrant::Granted(1)
        );
    }
    let t = format!("{}-k2-4", std::process::id());
    assert_eq!(
        b.quota_acquire(&request(&k2, &wide, &t, Some(3))).unwrap(),
        SharedGrant::DayOut
    );
}

#[test]
fn a_dead_process_holds_its_slots_one_window_and_its_claims_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vtsum.db");
    let store = SqliteStore::open(&db).unwrap();
    let key = KeyId("k1".into());
    let windows = [(1, WINDOW)];
    // A child that has exited: its pid names no process any more.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let token = format!("{dead}-run-1");
    assert_eq!(
        store
            .quota_acquire(&request(&key, &windows, &token, None))
            .unwrap(),
        SharedGrant::Granted(1)
    );
    let mine = format!("{}-run-2", std::process::id());
    // Held for the whole hold (40 s) if it were alive; dead, it frees a window from now.
    let ms = wait_ms(
        store
            .quota_acquire(&request(&key, &windows, &mine, None))
            .unwrap(),
    );
    assert!((900..=1000).contains(&ms), "{ms} ms");

    let hash = Hash::parse(&"a".repeat(64)).unwrap();
    assert!(store.hash_claim(hash.as_str(), &token, HOLD).unwrap());
    assert!(
        store.hash_claim(hash.as_str(), &mine, HOLD).unwrap(),
        "the dead one's claim lapsed"
    );
    let live = format!("{}-run-3", std::process::id());
    assert!(
        !store.hash_claim(hash.as_str(), &live, HOLD).unwrap(),
        "a live claim holds"
    );
    store.hash_release(hash.as_str(), &mine).unwrap();
    assert!(store.hash_claim(hash.as_str(), &live, HOLD).unwrap());
}

#[test]
fn a_clock_that_went_backwards_delays_a_slot_but_never_for_hours() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vtsum.db");
    let store = SqliteStore::open(&db).unwrap();
    let key = KeyId("k1".into());
    let windows = [(1, WINDOW)];
    // A slot written when the clock read 10 hours later than it does now.
    let later = chrono::Utc::now().timestamp_millis() + 10 * 3600 * 1000;
    let raw = rusqlite::Connection::open(&db).unwrap();
    raw.execute(
        "INSERT INTO quota_slots (key_id, window_ms, token, free_at) VALUES ('k1', ?1, ?2, ?3)",
        rusqlite::params![
            WINDOW.as_millis() as i64,
            format!("{}-old:0", std::process::id()),
            later
        ],
    )
    .unwrap();
    let token = format!("{}-run-1", std::process::id());
    let before = chrono::Utc::now().timestamp_millis();
    wait_ms(
        store
            .quota_acquire(&request(&key, &windows, &token, None))
            .unwrap(),
    );
    // Still held (it may be in flight), for at least a window from now, but at most a
    // hold and a window: not ten hours.
    let free_at: i64 = raw
        .query_row(
            "SELECT free_at FROM quota_slots WHERE key_id = 'k1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let ahead = free_at - before;
    assert!(ahead >= WINDOW.as_millis() as i64, "{ahead} ms");
    assert!(
        ahead <= (HOLD + WINDOW).as_millis() as i64 + 1000,
        "{ahead} ms"
    );
}

#[test]
fn the_day_s_last_units_are_granted_to_a_batch_that_asks_for_more() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("vtsum.db")).unwrap();
    let key = KeyId("k1".into());
    let windows = [(100, WINDOW)];
    store.ledger_add(&key, "2026-11-26", 497).unwrap();
    let token = format!("{}-batch", std::process::id());
    let mut batch = request(&key, &windows, &token, Some(500));
    batch.cost = 4;
    assert_eq!(
        store.quota_acquire(&batch).unwrap(),
        SharedGrant::Granted(3)
    );
    assert_eq!(store.ledger_used(&key, "2026-11-26").unwrap(), 500);
    let next = format!("{}-next", std::process::id());
    assert_eq!(
        store
            .quota_acquire(&request(&key, &windows, &next, Some(500)))
            .unwrap(),
        SharedGrant::DayOut
    );
}
