//! A Redis that goes away and comes back: `/healthz` turns 503 while it is down, the app
//! does not crash, and it answers from the same data again once Redis is back (the store
//! re-opens its connection). The test runs its own `redis-server` so it can stop it.

mod support;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use support::*;
use vtsum_core::store::redis::RedisStore;
use vtsum_core::store::Store;

/// Starts `redis-server` on `port` with its data in `dir` (append-only, as the README
/// asks) and waits until it answers.
fn redis(port: u16, dir: &std::path::Path) -> Child {
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes",
        ])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server (scripts/test.sh installs it)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn stop(mut child: Child) {
    // SIGTERM: Redis flushes its append-only file and exits.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_reports_a_lost_redis_and_recovers_with_the_data_intact() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = tempfile::tempdir().unwrap();
    let server = redis(port, data.path());
    let store: Arc<dyn Store> =
        Arc::new(RedisStore::open(&format!("redis://127.0.0.1:{port}/0")).unwrap());
    let f = fixture_on(Options::default(), tempfile::tempdir().unwrap(), store).await;
    let id = submit(&f.app, &hashes(&f.fake, 3, 0)).await;
    wait_state(&f.app, &id, &["done"], Duration::from_secs(20)).await;
    assert_eq!(send(&f.app, get("/healthz")).await.status, StatusCode::OK);

    stop(server);
    let down = send(&f.app, get("/healthz")).await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    let api = send(&f.app, get(&format!("/api/v1/jobs/{id}"))).await;
    assert_eq!(
        api.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "an error, not a crash"
    );
    assert!(api.json()["error"].is_string());

    let server = redis(port, data.path());
    assert_eq!(send(&f.app, get("/healthz")).await.status, StatusCode::OK);
    let job = send(&f.app, get(&format!("/api/v1/jobs/{id}")))
        .await
        .json();
    assert_eq!(
        (job["state"].as_str(), job["done"].as_u64()),
        (Some("done"), Some(3)),
        "nothing lost"
    );
    stop(server);
}
