//! How re-check rounds share a store (issue 16), against the fake VirusTotal: two rounds
//! at once re-check each item once (SQLite and Redis); `serve` and `vtsum worker`s run
//! rounds by themselves, each item once across workers; a store without watchlists says
//! so; a round keeps to its share of the day.

mod support;
mod watching;

use std::time::Duration;

use support::{json, ok};
use watching::{checked_by, fake, watch, Home};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_rounds_at_once_re_check_each_item_once() {
    two_rounds_at_once(&Home::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_redis_two_rounds_at_once_re_check_each_item_once() {
    two_rounds_at_once(&Home::redis()).await;
}

async fn two_rounds_at_once(home: &Home) {
    let fake = fake(&["k1"]).await;
    let mut hashes = fake.corpus().sha256s(40);
    hashes.extend((0..10).map(fakevt::unknown_hash));
    let input = home.join("list.txt");
    std::fs::write(&input, hashes.join("\n")).unwrap();
    ok(&watch(
        &fake,
        home,
        &["add", "fleet", input.to_str().unwrap()],
    ));
    let spawn = || {
        let mut cmd = home.vtsum(&fake);
        cmd.env("VT_RATE", "20/1s,100000000/day")
            .args(["watch", "run", "--once"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let mut claimed = 0;
    for child in [a, b] {
        let out = tokio::task::block_in_place(|| child.wait_with_output()).unwrap();
        ok(&out);
        // "… N checked of M due …": M is what the round claimed.
        let said = String::from_utf8_lossy(&out.stderr).to_string();
        let due = said
            .split(" due")
            .next()
            .and_then(|s| s.rsplit(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no count of due items in {said:?}"));
        claimed += due;
    }
    assert_eq!(claimed, 50, "the two rounds claimed an item twice");
    let counts = fake.counters().requests_by_hash;
    assert_eq!(counts.len(), 50, "every item checked: {counts:?}");
    assert!(
        counts.values().all(|n| *n == 1),
        "an item asked twice: {counts:?}"
    );
    // The engine's own claims and cache already keep a hash from being asked twice; the
    // watchlist's claims keep an item from being checked (and alerted) twice.
    let shown = json(&watch(
        &fake,
        home,
        &["show", "fleet", "--history", "--json"],
    ));
    let answers: Vec<usize> = shown
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["history"].as_array().unwrap().len())
        .collect();
    assert_eq!(answers, vec![1; 50], "each item checked once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_re_checks_what_is_due_by_itself_a_minute_of_requests_a_round() {
    let fake = fake(&["k1"]).await;
    let home = &Home::sqlite();
    let input = home.join("list.txt");
    std::fs::write(&input, fake.corpus().sha256s(10).join("\n")).unwrap();
    ok(&watch(
        &fake,
        home,
        &["add", "edr", input.to_str().unwrap()],
    ));
    let mut cmd = home.vtsum(&fake);
    cmd.env("VT_RATE", "1000/1s,100000000/day")
        .args(["serve", "--bind", "127.0.0.1:0"]);
    let (child, _) = support::start(cmd, "serving on ");
    // One key: a round takes at most 4 items (a minute at the public rate), and the next
    // round is a minute away.
    let checked = checked_by(&fake, home, "edr", 4).await;
    support::stop(child);
    assert_eq!(checked, 4, "serve's first round");
    assert_eq!(fake.counters().requests_by_hash.values().sum::<u64>(), 4);
}

/// Two `vtsum worker`s on one Redis store, one key: each runs a round by itself, claiming
/// 4 items (a minute of the key at the public rate), so 8 of the 16 due items are checked,
/// each once, before the next round a minute later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_re_check_what_is_due_by_themselves_each_item_once() {
    let fake = fake(&["k1"]).await;
    let home = &Home::redis();
    let input = home.join("list.txt");
    std::fs::write(&input, fake.corpus().sha256s(16).join("\n")).unwrap();
    ok(&watch(
        &fake,
        home,
        &["add", "edr", input.to_str().unwrap()],
    ));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let mut cmd = home.vtsum(&fake);
            cmd.env("VT_RATE", "1000/1s,100000000/day")
                .args(["worker", "--claim-after", "2s"]);
            support::start(cmd, "vtsum: worker ").0
        })
        .collect();
    let checked = checked_by(&fake, home, "edr", 8).await;
    workers.into_iter().for_each(support::stop);
    assert_eq!(checked, 8, "each worker's first round");
    let counts = fake.counters().requests_by_hash;
    assert_eq!(counts.values().sum::<u64>(), 8, "{counts:?}");
    assert!(counts.values().all(|n| *n == 1), "asked twice: {counts:?}");
}

/// On Redis a round waits while any job's parts are on the work queue, whoever runs them:
/// a job queued by `serve --no-worker` holds the round back, and once a worker has run
/// it, the next round checks the list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_redis_a_round_waits_for_queued_job_parts() {
    let fake = fake(&["k1"]).await;
    let home = &Home::redis();
    let hashes = fake.corpus().sha256s(8);
    let (watched, job) = hashes.split_at(5);
    let input = home.join("list.txt");
    std::fs::write(&input, watched.join("\n")).unwrap();
    ok(&watch(
        &fake,
        home,
        &["add", "edr", input.to_str().unwrap()],
    ));
    let mut cmd = home.vtsum(&fake);
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--no-worker"])
        .args(["--recheck-share", "0"]);
    let (web, rest) = support::start(cmd, "serving on ");
    let url = rest.split_whitespace().next().unwrap().to_string();
    let client = reqwest::Client::new();
    let id = support::submit(&client, &url, job).await;

    let out = watch(&fake, home, &["run", "--once"]);
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    ok(&out);
    assert!(
        said.contains("no re-checks this round: 1 job parts"),
        "{said}"
    );
    assert_eq!(fake.counters().requests_by_hash.len(), 0, "nothing asked");

    let mut cmd = home.vtsum(&fake);
    cmd.args(["worker", "--recheck-share", "0"]);
    let (worker, _) = support::start(cmd, "vtsum: worker ");
    support::wait_state(&client, &url, &id, "done").await;
    let out = watch(&fake, home, &["run", "--once"]);
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    support::stop(worker);
    support::stop(web);
    assert!(said.contains("5 checked of 5 due"), "{said}");
}

#[test]
fn a_store_without_watchlists_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = support::bare(dir.path())
        .env("VTSUM_STORE", "none")
        .args(["watch", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("keeps no watchlists: use the SQLite store"),
        "{said}"
    );
}

/// With 200 requests a day and `--recheck-share 0.5`, a round may have spent half of the
/// day's part gone so far: 100 × (seconds into the UTC day / 86,400), whatever is due.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_spends_no_more_than_its_share_of_the_day_so_far() {
    let windows = [(1_000, Duration::from_secs(1))];
    let fake = fakevt::spawn(fakevt::Config {
        corpus_size: 300,
        ..vtsum_test_utils::fake_config(&["k1"], &windows, None)
    })
    .await
    .unwrap();
    let home = &Home::sqlite();
    let input = home.join("many.txt");
    std::fs::write(&input, fake.corpus().sha256s(120).join("\n")).unwrap();
    ok(&watch(
        &fake,
        home,
        &["add", "many", input.to_str().unwrap()],
    ));
    let share_by = |unix: u64| 200 * (unix % 86_400) / 86_400 / 2;
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let (before, start) = (share_by(now()), now());
    let mut cmd = home.vtsum(&fake);
    cmd.env("VT_RATE", "1000/1s,200/day").args([
        "watch",
        "run",
        "--once",
        "--recheck-share",
        "0.5",
    ]);
    let out = tokio::task::block_in_place(|| cmd.output()).unwrap();
    ok(&out);
    // Midnight between the two readings starts a new day.
    let after = if now() / 86_400 == start / 86_400 {
        share_by(now())
    } else {
        100
    };
    let spent: u64 = fake.counters().requests_by_hash.values().sum();
    assert!(
        spent >= before.min(120) && spent <= after.min(120),
        "{spent} requests, the share allowed {before}..={after}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
