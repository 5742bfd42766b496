//! A Redis that goes away and comes back: `/healthz` turns 503 while it is down, the app
//! does not crash, and it answers from the same data again once Redis is back (the store
//! re-opens its connection). The test runs its own `redis-server` so it can stop it.

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use support::*;
use vtsum_core::store::redis::RedisStore;
use vtsum_core::store::Store;
use vtsum_test_utils::RedisServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_reports_a_lost_redis_and_recovers_with_the_data_intact() {
    let mut server = RedisServer::start();
    let store: Arc<dyn Store> = Arc::new(RedisStore::open(&server.url()).unwrap());
    let f = fixture_on(Options::default(), tempfile::tempdir().unwrap(), store).await;
    let id = submit(&f.app, &hashes(&f.fake, 3, 0)).await;
    wait_state(&f.app, &id, &["done"], Duration::from_secs(20)).await;
    assert_eq!(send(&f.app, get("/healthz")).await.status, StatusCode::OK);

    server.stop();
    let down = send(&f.app, get("/healthz")).await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    let api = send(&f.app, get(&format!("/api/v1/jobs/{id}"))).await;
    assert_eq!(
        api.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "an error, not a crash"
    );
    assert!(api.json()["error"].is_string());

    server.restart();
    assert_eq!(send(&f.app, get("/healthz")).await.status, StatusCode::OK);
    let job = send(&f.app, get(&format!("/api/v1/jobs/{id}")))
        .await
        .json();
    assert_eq!(
        (job["state"].as_str(), job["done"].as_u64()),
        (Some("done"), Some(3)),
        "nothing lost"
    );
}
