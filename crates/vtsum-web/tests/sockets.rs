//! The server over real sockets: half-sent heads, slow drips and idle keep-alive
//! connections are closed after the header timeout; idle connections beyond the cap give
//! way to new ones, so `/healthz` still answers; an event stream outlives the timeout.

mod support;

use std::time::{Duration, Instant};

use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vtsum_web::server::{self, Limits, Server};

/// Serves the fixture's app on a free port with these limits.
async fn serve_with(f: &Fixture, limits: Limits) -> (Server, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (handle, run) = server::start(
        listener,
        vtsum_web::router(f.app.clone()),
        limits,
        std::future::pending(),
    );
    tokio::spawn(run);
    (handle, addr.to_string())
}

/// Reads until the server closes the connection; the time it took, or `None` if it did
/// not close within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return start.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
}

const TIMEOUT: Duration = Duration::from_millis(800);

fn limits() -> Limits {
    Limits {
        header_timeout: TIMEOUT,
        max_connections: 64,
    }
}

#[tokio::test]
async fn half_sent_heads_and_idle_keep_alive_connections_are_closed() {
    let f = fixture(Options::default()).await;
    let (_server, addr) = serve_with(&f, limits()).await;

    // Connected, nothing sent.
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    // Half a head.
    let mut half = TcpStream::connect(&addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    // One request answered, then idle on keep-alive.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));

    for (what, stream) in [
        ("silent", &mut silent),
        ("half a head", &mut half),
        ("idle keep-alive", &mut idle),
    ] {
        let took = closed_within(stream, TIMEOUT * 10)
            .await
            .unwrap_or_else(|| panic!("{what}: still open after {:?}", TIMEOUT * 10));
        assert!(took < TIMEOUT * 5, "{what}: closed after {took:?}");
    }
}

#[tokio::test]
async fn a_slow_drip_of_headers_is_cut_at_the_header_timeout() {
    let f = fixture(Options::default()).await;
    let (_server, addr) = serve_with(&f, limits()).await;
    let mut drip = TcpStream::connect(&addr).await.unwrap();
    drip.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    let start = Instant::now();
    // The attack itself: one header every fifth of the timeout, for ten timeouts.
    let mut cut = false;
    for i in 0..50 {
        tokio::time::sleep(TIMEOUT / 5).await;
        let line = format!("X-Drip-{i}: a\r\n");
        if drip.write_all(line.as_bytes()).await.is_err() {
            cut = true;
            break;
        }
        let mut buf = [0u8; 256];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(1), drip.read(&mut buf)).await
        {
            cut = true;
            break;
        }
    }
    assert!(
        cut,
        "a drip of headers kept the connection for {:?}",
        start.elapsed()
    );
    assert!(
        start.elapsed() < TIMEOUT * 5,
        "cut after {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn idle_connections_beyond_the_cap_give_way_and_healthz_answers() {
    let f = fixture(Options::default()).await;
    let cap = 20;
    let (server, addr) = serve_with(
        &f,
        Limits {
            // Long: what frees room here is the cap, not the timeout.
            header_timeout: Duration::from_secs(60),
            max_connections: cap,
        },
    )
    .await;
    let mut idle = Vec::new();
    for _ in 0..cap * 3 {
        idle.push(TcpStream::connect(&addr).await.unwrap());
    }
    let client = reqwest::Client::new();
    let start = Instant::now();
    let res = client
        .get(format!("http://{addr}/healthz"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("/healthz behind idle connections");
    assert_eq!(res.status(), 200);
    let took = start.elapsed();
    assert!(
        server.connections() <= cap + 1,
        "{} connections open, cap {cap}",
        server.connections()
    );
    eprintln!("/healthz behind {} idle connections: {took:?}", idle.len());
}

#[tokio::test]
async fn an_event_stream_outlives_the_header_timeout() {
    let f = fixture(Options::default()).await;
    let id = submit(&f.app, &hashes(&f.fake, 1, 0)).await;
    wait_state(&f.app, &id, &["done"], Duration::from_secs(20)).await;
    let (_server, addr) = serve_with(&f, limits()).await;
    let mut sse = TcpStream::connect(&addr).await.unwrap();
    sse.write_all(
        format!("GET /api/v1/jobs/{id}/events HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut buf = [0u8; 4096];
    let n = sse.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Three header timeouts later the stream is still open.
    assert_eq!(closed_within(&mut sse, TIMEOUT * 3).await, None);
}
