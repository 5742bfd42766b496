//! A webhook receiver for the watch tests: plain HTTP/1.1 over loopback, answering each
//! POST as the test says and keeping what came.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the receiver got: the headers (lower-cased names) and the body of each POST it
/// accepted.
pub type Got = Arc<Mutex<Vec<(Vec<(String, String)>, String)>>>;
/// Every attempt: the status answered and the delivery id.
pub type Tried = Arc<Mutex<Vec<(u16, String)>>>;

/// A webhook receiver on a free port: answers `statuses` in turn (then 200); a 0 holds the
/// request open without an answer.
pub async fn receiver(statuses: Vec<u16>) -> (String, Got, Tried) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/hooks/T0/SECRET-PATH",
        listener.local_addr().unwrap()
    );
    let got: Got = Arc::default();
    let seen = got.clone();
    let tried: Tried = Arc::default();
    let attempts = tried.clone();
    let statuses = Arc::new(Mutex::new(statuses.into_iter()));
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let (seen, statuses, attempts) = (seen.clone(), statuses.clone(), attempts.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head, body_at) = loop {
                    let n = conn.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break (String::from_utf8_lossy(&buf[..i]).to_string(), i + 4);
                    }
                };
                let headers: Vec<(String, String)> = head
                    .lines()
                    .skip(1)
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .collect();
                let length: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                while buf.len() < body_at + length {
                    let n = conn.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body = String::from_utf8_lossy(&buf[body_at..body_at + length]).to_string();
                let status = statuses.lock().unwrap().next().unwrap_or(200);
                let id = header(&headers, "x-vtsum-delivery").to_string();
                attempts.lock().unwrap().push((status, id));
                if status == 0 {
                    // Held open, never answered: the sender is killed meanwhile.
                    std::future::pending::<()>().await;
                }
                if status == 200 {
                    seen.lock().unwrap().push((headers, body));
                }
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = conn.write_all(reply.as_bytes()).await;
            });
        }
    });
    (url, got, tried)
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}
