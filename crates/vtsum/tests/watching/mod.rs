//! What the watchlist tests share: a test's home and store (SQLite or Redis), `vtsum
//! watch` in it, the fake VirusTotal they run against, and the wait past a list's
//! interval.

#![allow(dead_code)]

use std::time::Duration;

use super::support::vtsum;

/// A test's directory and the store its commands use: the SQLite file in it, or a Redis
/// key prefix of its own.
pub struct Home {
    dir: tempfile::TempDir,
    store: String,
}

impl Home {
    pub fn sqlite() -> Home {
        let dir = tempfile::tempdir().unwrap();
        let store = format!("sqlite:{}", dir.path().join("vtsum.db").display());
        Home { dir, store }
    }

    pub fn redis() -> Home {
        let store = format!(
            "{}?prefix={}",
            vtsum_test_utils::redis_url(),
            vtsum_test_utils::unique_prefix()
        );
        Home {
            dir: tempfile::tempdir().unwrap(),
            store,
        }
    }

    /// `vtsum` pointed at `fake` and this store.
    pub fn vtsum(&self, fake: &fakevt::FakeVt) -> std::process::Command {
        let mut cmd = vtsum(fake, self.dir.path());
        cmd.env("VTSUM_STORE", &self.store);
        cmd
    }
}

impl std::ops::Deref for Home {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        self.dir.path()
    }
}

/// `vtsum watch ARGS` in `home`, with a daily allowance large enough that the share of the
/// day gone (the re-check budget) is never what stops a round.
pub fn watch(fake: &fakevt::FakeVt, home: &Home, args: &[&str]) -> std::process::Output {
    let mut cmd = home.vtsum(fake);
    cmd.env("VT_RATE", "1000/1s,100000000/day")
        .env("VTSUM_WEBHOOK_BACKOFF", "0")
        .arg("watch")
        .args(args);
    tokio::task::block_in_place(|| cmd.output()).unwrap()
}

/// The fake VirusTotal with these keys, roomy windows and no daily limit: the rounds'
/// budgets come from `VT_RATE`.
pub async fn fake(keys: &[&str]) -> fakevt::FakeVt {
    let windows = [(1_000, Duration::from_secs(1))];
    fakevt::spawn(vtsum_test_utils::fake_config(keys, &windows, None))
        .await
        .unwrap()
}

/// Waits out a list's interval: items are due again once their answer is older than it.
pub async fn past_interval() {
    tokio::time::sleep(Duration::from_millis(2100)).await;
}

/// How many items of `list` have been checked once `n` have, or after 30 s (so a test can
/// say how many when it is not `n`).
pub async fn checked_by(fake: &fakevt::FakeVt, home: &Home, list: &str, n: usize) -> usize {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let shown = super::support::json(&watch(fake, home, &["show", list, "--json"]));
        let checked = shown
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| !i["checked_at"].is_null())
            .count();
        if checked >= n || std::time::Instant::now() > deadline {
            return checked;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
