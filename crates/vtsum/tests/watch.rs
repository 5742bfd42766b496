//! `vtsum watch`'s alerts (issue 16) as a user gets them, against the fake VirusTotal and
//! a local webhook receiver (plain HTTP over loopback, answering as the test says): a
//! watchlist whose files change at the fake between two rounds alerts exactly those
//! changes, each once, signed, on SQLite and on Redis; a receiver that is down gets them
//! when it is back and never twice; a kill -9 mid-delivery repeats the delivery once, with
//! its id. How rounds share items and quota is `watch_rounds.rs`.

#[path = "webhook/receiver.rs"]
mod receiver;
mod support;
mod watching;

use std::time::Duration;

use receiver::{header, receiver};
use serde_json::Value;
use support::{json, ok};
use watching::{fake, past_interval, watch, Home};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_at_the_fake_are_alerted_once_each_signed_and_after_a_receiver_outage() {
    alerts_once_each(&Home::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_redis_changes_are_alerted_once_each_signed_and_after_a_receiver_outage() {
    alerts_once_each(&Home::redis()).await;
}

async fn alerts_once_each(home: &Home) {
    let fake = fake(&["k1"]).await;
    let files = fake.corpus().files()[..10].to_vec();
    let input = home.join("edr.txt");
    let text: Vec<String> = files
        .iter()
        .map(|f| format!("Hashes=SHA256={}", f.sha256))
        .collect();
    std::fs::write(&input, text.join("\n")).unwrap();
    ok(&watch(
        &fake,
        home,
        &["add", "edr", "--every", "1s", input.to_str().unwrap()],
    ));

    // Down for the first attempt, then up.
    let (url, got, tried) = receiver(vec![503]).await;
    let hook = ["--webhook", url.as_str(), "--webhook-secret", "s3cret"];
    let round = |fake: &fakevt::FakeVt| {
        let mut args = vec!["run", "--once"];
        args.extend(hook);
        let out = watch(fake, home, &args);
        ok(&out);
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    // The first round is each item's baseline: no change, no alert.
    let first = round(&fake);
    assert!(first.contains("10 checked of 10 due"), "{first}");
    assert!(first.contains("0 changes"), "{first}");
    assert_eq!(fake.counters().requests_by_hash.values().sum::<u64>(), 10);

    let clean = files
        .iter()
        .find(|f| f.kind == fakevt::FileKind::Clean)
        .unwrap();
    let bad = files
        .iter()
        .find(|f| f.kind == fakevt::FileKind::Malicious && f.malicious >= 3)
        .unwrap();
    assert!(fake.set_detections(fakevt::Detections {
        hash: clean.sha256.clone(),
        malicious: 30,
        suspicious: 0,
        threat_label: Some("<!channel> late.\u{1b}[2Jcatch".into()),
    }));
    assert!(fake.set_detections(fakevt::Detections {
        hash: bad.sha256.clone(),
        malicious: 0,
        suspicious: 0,
        threat_label: None,
    }));
    past_interval().await;
    // The receiver refuses the first delivery: it waits in the outbox.
    let second = round(&fake);
    assert!(second.contains("2 changes"), "{second}");
    assert!(second.contains("1 alerts delivered, 1 failed"), "{second}");
    assert!(
        !second.contains("SECRET-PATH"),
        "a webhook URL is a credential: {second}"
    );
    let feed = json(&watch(&fake, home, &["changes", "--json"]));
    let failing: Vec<&Value> = feed
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["deliveries"].as_array().unwrap())
        .filter(|d| d["delivered_at"].is_null())
        .collect();
    assert_eq!(failing.len(), 1, "{feed:#}");
    assert!(
        failing[0]["last_error"].as_str().unwrap().contains("503"),
        "{feed:#}"
    );

    // Nothing changed since: the next round re-checks and alerts only what waited.
    past_interval().await;
    let third = round(&fake);
    assert!(
        third.contains("0 changes, 1 alerts delivered, 0 failed"),
        "{third}"
    );
    // Re-checks' spending is counted in the store: two rounds of ten before this one.
    assert!(third.contains("20 before this round"), "{third}");
    past_interval().await;
    let fourth = round(&fake);
    assert!(fourth.contains("0 changes, 0 alerts delivered"), "{fourth}");

    let tried = tried.lock().unwrap().clone();
    assert_eq!(tried.len(), 3, "{tried:?}");
    let refused = &tried.iter().find(|(s, _)| *s == 503).unwrap().1;
    assert_eq!(
        tried.iter().filter(|(_, id)| id == refused).count(),
        2,
        "the refused delivery came again with the same id: {tried:?}"
    );
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "each change once: {got:#?}");
    let mut ids: Vec<&str> = got
        .iter()
        .map(|(h, _)| header(h, "x-vtsum-delivery"))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2, "two changes, two deliveries");
    for (headers, body) in &got {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"s3cret");
        let tag = ring::hmac::sign(&key, body.as_bytes());
        let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            header(headers, "x-vtsum-signature"),
            format!("sha256={hex}")
        );
    }
    let doc = |hash: &str| -> Value {
        let (_, body) = got
            .iter()
            .find(|(_, b)| b.contains(hash))
            .unwrap_or_else(|| panic!("no alert for {hash}"));
        serde_json::from_str(body).unwrap()
    };
    let up = doc(&clean.sha256);
    assert_eq!(up["list"], "edr");
    assert_eq!(up["before"]["verdict"], "clean");
    assert_eq!(up["after"]["verdict"], "malicious");
    assert_eq!(up["after"]["malicious"], 30);
    let said = up["text"].as_str().unwrap();
    assert!(
        !said.contains("<!channel>") && !said.contains('\u{1b}'),
        "{said}"
    );
    assert!(said.contains(&clean.sha256), "{said}");
    let down = doc(&bad.sha256);
    assert_eq!(down["after"]["verdict"], "clean");
    assert_eq!(down["reasons"][0], "verdict");

    // History: every answer of the clean file, oldest first.
    let shown = json(&watch(&fake, home, &["show", "edr", "--history", "--json"]));
    let item = shown
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["input"] == clean.sha256.as_str())
        .unwrap();
    let verdicts: Vec<&str> = item["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["clean", "malicious", "malicious", "malicious"]);
}

/// `kill -9` while the receiver holds the POST unanswered: the next run sends the change
/// again with the same delivery id (the receiver never said it had it), and once it is
/// accepted, never again.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_mid_delivery_sends_the_change_again_once_with_its_id() {
    let fake = fake(&["k1"]).await;
    let home = &Home::sqlite();
    let clean = fake
        .corpus()
        .files()
        .iter()
        .find(|f| f.kind == fakevt::FileKind::Clean)
        .unwrap()
        .clone();
    let input = home.join("one.txt");
    std::fs::write(&input, &clean.sha256).unwrap();
    ok(&watch(
        &fake,
        home,
        &["add", "one", "--every", "1s", input.to_str().unwrap()],
    ));
    // 0: hold the first POST open, unanswered.
    let (url, got, tried) = receiver(vec![0]).await;
    let run = |fake: &fakevt::FakeVt| {
        let mut cmd = home.vtsum(fake);
        cmd.env("VT_RATE", "1000/1s,100000000/day")
            .env("VTSUM_WEBHOOK_CLAIM", "1")
            .args(["watch", "run", "--once", "--webhook", &url])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd
    };
    ok(&tokio::task::block_in_place(|| run(&fake).output()).unwrap());
    assert!(fake.set_detections(fakevt::Detections {
        hash: clean.sha256.clone(),
        malicious: 25,
        suspicious: 0,
        threat_label: Some("trojan.late".into()),
    }));
    past_interval().await;
    let mut child = run(&fake).spawn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while tried.lock().unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no delivery came");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // The claim of the killed sender runs out (VTSUM_WEBHOOK_CLAIM=1).
    past_interval().await;
    let again = tokio::task::block_in_place(|| run(&fake).output()).unwrap();
    let said = ok(&again);
    let said = format!("{said}{}", String::from_utf8_lossy(&again.stderr));
    assert!(said.contains("0 changes, 1 alerts delivered"), "{said}");
    past_interval().await;
    let last = tokio::task::block_in_place(|| run(&fake).output()).unwrap();
    let said = String::from_utf8_lossy(&last.stderr).to_string();
    assert!(said.contains("0 changes, 0 alerts delivered"), "{said}");

    let tried = tried.lock().unwrap().clone();
    assert_eq!(tried.len(), 2, "the held POST and its repeat: {tried:?}");
    assert_eq!(tried[0].1, tried[1].1, "one delivery id: {tried:?}");
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "accepted once: {got:#?}");
    assert!(got[0].1.contains(&clean.sha256));
}
