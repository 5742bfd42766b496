//! What the object tests share: a fake with two keys and one window, and plain HTTP
//! helpers for v3 paths and v2 reports.

use std::time::Duration;

use fakevt::{Config, Limits};
use serde_json::Value;

/// A fake of seed `seed` whose keys may each make `window` requests in 30 s.
pub async fn fake(seed: u64, window: u32) -> fakevt::FakeVt {
    fakevt::spawn(Config {
        keys: vec!["k1".into(), "k2".into()],
        limits: Limits {
            windows: vec![(window, Duration::from_secs(30))],
            daily: None,
        },
        seed,
        corpus_size: 120,
        addr: ([127, 0, 0, 1], 0).into(),
    })
    .await
    .unwrap()
}

pub async fn v3(fake: &fakevt::FakeVt, key: Option<&str>, path: &str) -> (u16, Value) {
    let mut req = reqwest::Client::new().get(format!("{}/api/v3/{path}", fake.url()));
    if let Some(k) = key {
        req = req.header("x-apikey", k);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub async fn v2(
    fake: &fakevt::FakeVt,
    route: &str,
    key: &str,
    param: (&str, &str),
) -> (u16, String) {
    let resp = reqwest::Client::new()
        .get(format!("{}/vtapi/v2/{route}/report", fake.url()))
        .query(&[("apikey", key), param])
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

pub fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

pub fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}
