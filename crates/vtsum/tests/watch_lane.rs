//! Re-checks take only the quota jobs leave (issue 16): `vtsum serve` with a watchlist due
//! and a job submitted while its round is going sends every one of the job's requests
//! before the round's next one. Positions are read from the fake VirusTotal's arrival log.

mod support;

use std::time::{Duration, Instant};

use support::{ok, vtsum};

/// One request per 400 ms for each of the two keys, at the fake and in vtsum alike: every
/// slot is contested.
const RATE: &str = "1/400ms,100000000/day";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_submitted_during_a_round_gets_every_slot_until_it_is_done() {
    let windows = [(1, Duration::from_millis(400))];
    let fake = fakevt::spawn(vtsum_test_utils::fake_config(&["k1", "k2"], &windows, None))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let all = fake.corpus().sha256s(20);
    // A round takes 4 items per key: 8, of which 6 or 7 are left when the job comes.
    let (watched, job) = all.split_at(8);
    let input = home.join("list.txt");
    std::fs::write(&input, watched.join("\n")).unwrap();
    let mut add = vtsum(&fake, home);
    add.args(["watch", "add", "edr", input.to_str().unwrap()]);
    ok(&tokio::task::block_in_place(|| add.output()).unwrap());

    let mut cmd = vtsum(&fake, home);
    cmd.env("VT_API_KEY", "k1,k2")
        .env("VT_RATE", RATE)
        .args(["serve", "--bind", "127.0.0.1:0"]);
    let (child, rest) = support::start(cmd, "serving on ");
    let url = rest.split_whitespace().next().unwrap().to_string();
    // The round has sent its first request.
    let deadline = Instant::now() + Duration::from_secs(30);
    while fake.counters().arrivals.is_empty() {
        assert!(Instant::now() < deadline, "serve never re-checked");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let client = reqwest::Client::new();
    let id = support::submit(&client, &url, job).await;
    support::wait_done(&client, &url, &id, job.len() as u64, 30).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while fake.counters().arrivals.len() < all.len() {
        assert!(Instant::now() < deadline, "the round never finished");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    support::stop(child);

    let order: Vec<&str> = fake
        .counters()
        .arrivals
        .iter()
        .map(|a| {
            if a.hashes.iter().any(|h| job.contains(h)) {
                "job"
            } else {
                "re-check"
            }
        })
        .collect();
    let first = order.iter().position(|&o| o == "job").unwrap();
    let last = order.iter().rposition(|&o| o == "job").unwrap();
    assert!(
        order[first..=last].iter().all(|&o| o == "job"),
        "a re-check went while the job had work: {order:?}"
    );
    assert_eq!(order.len(), all.len(), "each asked once: {order:?}");
    assert_eq!(fake.counters().quota_refusals_by_key.len(), 0, "no 429");
}
