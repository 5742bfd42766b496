//! The checks behind the web crate's fuzz targets (`web_input`, `xlsx`), one function per
//! target, each taking the raw bytes the fuzzer made. `fuzz/fuzz_targets/{web_input,xlsx}.rs`
//! include this file, and `tests/fuzz_corpus.rs` replays every checked-in corpus and crash
//! file through it on stable Rust, so CI needs no nightly. A check fails by panicking, as
//! libFuzzer expects.
#![allow(dead_code)] // each includer uses its share

mod sheet;

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, StatusCode};
use tower::ServiceExt;
use vtsum_core::extract::extract_bytes;
use vtsum_core::Hash;
use vtsum_store::memory::MemoryStore;
use vtsum_web::input::{self, clean_label, Submission};
use vtsum_web::{App, WebConfig};

pub use sheet::xlsx;

/// Content types a fuzz input picks from with its first byte; one more value takes the
/// content type from the body's first line.
const KINDS: [Option<&str>; 9] = [
    None,
    Some("text/plain"),
    Some("application/json"),
    Some("Application/JSON; charset=utf-8"),
    Some("application/x-www-form-urlencoded"),
    Some("multipart/form-data; boundary=X"),
    Some("multipart/form-data; boundary=\"--b\""),
    Some("multipart/form-data"),
    Some("image/png"),
];

/// Upload limits a fuzz input picks from: small ones make the 413 paths reachable.
const LIMITS: [usize; 3] = [64, 4096, 1 << 20];

/// One runtime and one app per upload limit, made once per process (an app starts a job
/// runner on its runtime).
struct Fixture {
    rt: tokio::runtime::Runtime,
    routers: Vec<axum::Router>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let routers = LIMITS
            .iter()
            .map(|&upload_limit| {
                let _inside = rt.enter();
                let config = WebConfig {
                    upload_limit,
                    threshold: 1,
                    ..WebConfig::default()
                };
                let app = App::start(None, Arc::new(MemoryStore::new()), config).unwrap();
                vtsum_web::router(app)
            })
            .collect();
        Fixture { rt, routers }
    })
}

/// A submission's body under a content type (byte 0), a declared length and an upload
/// limit (byte 1): read directly it yields a submission whose hashes are valid, or a 4xx
/// error; `POST /api/v1/extract` answers the same as JSON — the counts, or
/// `{"error": "..."}` with that status. Never a panic.
pub fn web_input(data: &[u8]) {
    let Some((&[kind, opts], rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let (content_type, body): (Option<&[u8]>, &[u8]) = match KINDS.get(usize::from(kind) % 10) {
        Some(k) => (k.map(str::as_bytes), rest),
        None => {
            let line = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
            (
                Some(&rest[..line]),
                rest.get(line + 1..).unwrap_or_default(),
            )
        }
    };
    let declared = match opts % 3 {
        0 => None,
        1 => Some(body.len().to_string()),
        _ => Some("99999999999".to_string()),
    };
    let pick = usize::from(opts / 3) % LIMITS.len();
    let request = || {
        let mut req = Request::post("/api/v1/extract").header(header::HOST, "localhost");
        if let Some(v) = content_type.and_then(|c| HeaderValue::from_bytes(c).ok()) {
            req = req.header(header::CONTENT_TYPE, v);
        }
        if let Some(n) = &declared {
            req = req.header(header::CONTENT_LENGTH, n);
        }
        req.body(Body::from(body.to_vec())).unwrap()
    };
    let fx = fixture();
    let direct = fx.rt.block_on(input::read(request(), LIMITS[pick]));
    let res = fx
        .rt
        .block_on(fx.routers[pick].clone().oneshot(request()))
        .unwrap();
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    assert!(is_json, "{status} answered without JSON");
    let answer = fx
        .rt
        .block_on(axum::body::to_bytes(res.into_body(), 1 << 20))
        .unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&answer).expect("a JSON answer");
    match direct {
        Ok(sub) => {
            check_submission(&sub, content_type, body);
            let ex = &sub.extracted;
            assert_eq!(status, StatusCode::OK, "{answer}");
            let counts = serde_json::json!({
                "hashes": ex.hashes.len(),
                "duplicates": ex.duplicates,
                "lines": ex.lines,
                "lines_without_hash": ex.lines_without_hash,
                "non_file_hashes": ex.non_file_hashes,
            });
            // URLs, domains and IPs are the indicator extractor's (its own property
            // tests); here they must be counts, and the rest the hash extractor's.
            let mut answer = answer;
            for key in ["urls", "domains", "ips", "private_ips"] {
                let n = answer.as_object_mut().and_then(|o| o.remove(key));
                assert!(n.as_ref().is_some_and(|n| n.is_u64()), "{key}: {n:?}");
            }
            assert_eq!(answer, counts);
        }
        Err(e) => {
            assert!(e.status().is_client_error(), "{} for {e}", e.status());
            assert_eq!(status, e.status(), "{answer}");
            let message = answer["error"].as_str().expect("{\"error\": \"...\"}");
            assert!(!message.trim().is_empty());
            assert!(message.len() <= 1024, "an unbounded message: {message:?}");
            assert_eq!(answer.as_object().map(|o| o.len()), Some(1), "{answer}");
        }
    }
}

/// Every hash found is a valid lowercase digest, found once; text is extracted exactly as
/// the CLI would; an upload's hashes stand in its bytes; the label shown is bounded.
fn check_submission(sub: &Submission, content_type: Option<&[u8]>, body: &[u8]) {
    let ex = &sub.extracted;
    let mut seen = std::collections::HashSet::new();
    for hash in &ex.hashes {
        let text = hash.as_str();
        assert!(matches!(text.len(), 32 | 40 | 64), "{text:?}");
        assert!(text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
        assert_eq!(Hash::parse(text).as_ref(), Some(hash));
        assert!(seen.insert(text), "{text} found twice");
    }
    assert!(ex.lines_without_hash <= ex.lines);
    let kind = content_type
        .and_then(|c| std::str::from_utf8(c).ok())
        .unwrap_or("text/plain")
        .to_ascii_lowercase();
    if kind.starts_with("multipart/form-data") {
        let lower = body.to_ascii_lowercase();
        for hash in &ex.hashes {
            let h = hash.as_str().as_bytes();
            assert!(
                lower.windows(h.len()).any(|w| w == h),
                "{hash} not in the body"
            );
        }
    } else if !kind.starts_with("application/json")
        && !kind.starts_with("application/x-www-form-urlencoded")
    {
        assert_eq!(ex, &extract_bytes(body), "text is extracted as by the CLI");
        assert!(sub.label.is_empty());
    }
    let label = clean_label(&sub.label, ex.hashes.len());
    assert!(
        !label.is_empty() && label.chars().count() <= 120,
        "{label:?}"
    );
    assert!(!label.chars().any(char::is_control), "{label:?}");
}
