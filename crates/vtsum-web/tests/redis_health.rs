//! A Redis that goes away and comes back: `/healthz` turns 503 while it is down, the app
//! does not crash, and it answers from the same data again once Redis is back (the store
//! re-opens its connection). A Redis URL's password shows nowhere: not in a page, an
//! answer, an error or the log, up or down. The tests run their own `redis-server` so
//! they can stop it.

mod support;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::http::StatusCode;
use support::*;
use vtsum_core::store::Store;
use vtsum_store::redis::RedisStore;
use vtsum_test_utils::RedisServer;

/// Polls `/healthz` until it is 200 again. A restarted `redis-server` takes connections
/// before it has read its data back, and answers `LOADING` until then: the store is not
/// back yet, so one 503 right after the restart is true, and the test waits it out.
async fn healthy_again(app: &vtsum_web::App) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let health = send(app, get("/healthz")).await;
        if health.status == StatusCode::OK {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "/healthz stayed {} after Redis came back: {}",
            health.status,
            health.text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

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
    healthy_again(&f.app).await;
    let job = send(&f.app, get(&format!("/api/v1/jobs/{id}")))
        .await
        .json();
    assert_eq!(
        (job["state"].as_str(), job["done"].as_u64()),
        (Some("done"), Some(3)),
        "nothing lost"
    );
}

/// Everything the app logs, at every level, kept for the test to read.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Log {
    type Writer = Log;
    fn make_writer(&'a self) -> Log {
        self.clone()
    }
}

impl Log {
    /// The process's log (one subscriber per process, installed on first use).
    fn capture() -> Log {
        static LOG: OnceLock<Log> = OnceLock::new();
        LOG.get_or_init(|| {
            let log = Log::default();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(log.clone())
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("one log subscriber");
            log
        })
        .clone()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Makes a running `redis-server` require `password` (a restart forgets it).
fn require_password(server: &RedisServer, password: &str) {
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(conn, "CONFIG SET requirepass {password}\r\n").unwrap();
    let mut answer = [0u8; 5];
    conn.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"+OK\r\n", "redis-server took the password");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_password_never_shows_in_pages_answers_errors_or_the_log() {
    const PASSWORD: &str = "pw-Zq81-in-the-url";
    let log = Log::capture();
    let mut server = RedisServer::start();
    require_password(&server, PASSWORD);
    let url = format!("redis://:{PASSWORD}@127.0.0.1:{}/0", server.port());
    assert!(
        RedisStore::open(&server.url()).is_err_and(|e| !e.to_string().contains(PASSWORD)),
        "the server really wants the password"
    );
    let store: Arc<dyn Store> = Arc::new(RedisStore::open(&url).unwrap());
    assert!(!store.describe().contains(PASSWORD), "{}", store.describe());
    let f = fixture_on(Options::default(), tempfile::tempdir().unwrap(), store).await;
    let id = submit(&f.app, &hashes(&f.fake, 3, 1)).await;
    wait_state(&f.app, &id, &["done"], Duration::from_secs(20)).await;

    let everything = |f: &Fixture, id: &str| {
        let app = f.app.clone();
        let id = id.to_string();
        async move {
            let mut out = Vec::new();
            for uri in [
                "/".to_string(),
                "/jobs".to_string(),
                format!("/jobs/{id}"),
                "/healthz".to_string(),
                "/metrics".to_string(),
                "/api/v1/quota".to_string(),
                "/api/v1/jobs".to_string(),
                format!("/api/v1/jobs/{id}"),
                format!("/api/v1/jobs/{id}/results?format=csv"),
            ] {
                let res = send(&app, get(&uri)).await;
                out.push((uri, res.status, res.text()));
            }
            out
        }
    };
    for (uri, status, body) in everything(&f, &id).await {
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        assert!(!body.contains(PASSWORD), "{uri} shows the password");
    }

    server.stop();
    let answers = everything(&f, &id).await;
    assert!(
        answers
            .iter()
            .any(|(_, status, _)| status.is_server_error()),
        "the outage shows"
    );
    for (uri, _, body) in &answers {
        assert!(
            !body.contains(PASSWORD),
            "{uri} shows the password while Redis is down"
        );
    }
    server.restart();
    require_password(&server, PASSWORD);
    healthy_again(&f.app).await;

    let text = log.text();
    assert!(
        text.contains("store unavailable"),
        "the outage was logged (the capture works): {text}"
    );
    assert!(
        !text.contains(PASSWORD),
        "the log shows the password: {text}"
    );
}
