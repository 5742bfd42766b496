//! Who may use the server: `Host` names (DNS rebinding), cross-site writes, guessing the
//! token (backoff per client address), and sessions that can be signed out.

mod support;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use support::*;

fn from(addr: &str, mut req: Request<Body>) -> Request<Body> {
    let addr: SocketAddr = addr.parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    req
}

fn with(mut req: Request<Body>, headers: &[(&str, &str)]) -> Request<Body> {
    for (k, v) in headers {
        let name = axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap();
        req.headers_mut().insert(name, v.parse().unwrap());
    }
    req
}

#[tokio::test]
async fn only_local_names_the_bound_address_and_allowed_hosts_are_served() {
    let f = fixture(Options {
        bind: Some("192.0.2.7:8080".parse().unwrap()),
        allowed_hosts: vec!["vtsum.example.org".into()],
        ..Options::default()
    })
    .await;
    for host in [
        "localhost:8080",
        "LOCALHOST",
        "127.0.0.1:8080",
        "[::1]:8080",
        "192.0.2.7:8080",
        "vtsum.example.org",
        "VTSUM.example.org:8443",
    ] {
        let res = send(&f.app, with(get("/api/v1/jobs"), &[("host", host)])).await;
        assert_eq!(res.status, StatusCode::OK, "{host}");
    }
    for host in [
        "evil.example",
        "evil.example:8080",
        "localhost.evil.example",
        "192.0.2.8:8080",
        "vtsum.example.org.evil.example",
    ] {
        let res = send(&f.app, with(get("/api/v1/jobs"), &[("host", host)])).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{host}");
        assert!(res.json()["error"]
            .as_str()
            .unwrap()
            .contains("--allowed-host"));
        let page = send(&f.app, with(get("/"), &[("host", host)])).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{host}");
        assert!(page.header("content-type").starts_with("text/html"));
    }
}

#[tokio::test]
async fn cross_site_writes_are_refused_and_same_origin_ones_pass() {
    let f = fixture(Options::default()).await;
    let h = hashes(&f.fake, 1, 0).join("\n");
    let submit_with =
        |headers: &[(&str, &str)]| with(post("/api/v1/jobs", "text/plain", h.clone()), headers);
    for headers in [
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![
            ("host", "localhost:8080"),
            ("origin", "http://localhost:9999"),
        ],
        vec![
            ("host", "localhost:8080"),
            ("origin", "http://localhost:8080"),
            ("sec-fetch-site", "cross-site"),
        ],
    ] {
        let res = send(&f.app, submit_with(&headers)).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(res.json()["error"].as_str().unwrap().contains("cross-site"));
    }
    let (ct, body) = multipart("x.txt", &h, "");
    let page = send(
        &f.app,
        with(
            post("/jobs", &ct, body),
            &[("sec-fetch-site", "cross-site")],
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.header("content-type").starts_with("text/html"));
    assert!(
        send(&f.app, get("/api/v1/jobs")).await.json() == serde_json::json!([]),
        "nothing was submitted"
    );
    for headers in [
        vec![],
        vec![("sec-fetch-site", "same-origin")],
        vec![("sec-fetch-site", "none")],
        vec![
            ("host", "localhost:8080"),
            ("origin", "http://localhost:8080"),
        ],
    ] {
        let res = send(&f.app, submit_with(&headers)).await;
        assert_eq!(res.status, StatusCode::ACCEPTED, "{headers:?}");
    }
    // Reading is not a write: a cross-site GET is left to the browser's same-origin rule.
    let read = with(get("/api/v1/jobs"), &[("sec-fetch-site", "cross-site")]);
    assert_eq!(send(&f.app, read).await.status, StatusCode::OK);
}

const TOKEN: &str = "the-right-token-0123456789";

fn login(token: &str) -> Request<Body> {
    post(
        "/login",
        "application/x-www-form-urlencoded",
        format!("token={token}"),
    )
}

fn bearer(token: &str) -> Request<Body> {
    with(
        get("/api/v1/jobs"),
        &[("authorization", &format!("Bearer {token}"))],
    )
}

#[tokio::test]
async fn guessing_the_token_backs_off_per_client_address() {
    let f = fixture(Options {
        auth_token: Some(TOKEN.into()),
        ..Options::default()
    })
    .await;
    let attacker = "198.51.100.9:40000";
    let mut refused = None;
    for i in 0..20 {
        let res = send(&f.app, from(attacker, login(&format!("guess-{i}")))).await;
        if res.status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some((i, res));
            break;
        }
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "guess {i}");
    }
    let (after, res) = refused.expect("never backed off after 20 wrong tokens");
    assert!(after <= 10, "backed off only after {after} guesses");
    let wait: u64 = res.header("retry-after").parse().expect("Retry-After");
    assert!(wait >= 1);
    // During the back-off even the right token is refused, by form and by Bearer, and
    // the port does not matter.
    let res = send(&f.app, from("198.51.100.9:40001", login(TOKEN))).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    let res = send(&f.app, from(attacker, bearer(TOKEN))).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(res.json()["error"].as_str().unwrap().contains("try again"));
    // Another client is not held back.
    let res = send(&f.app, from("203.0.113.5:5000", bearer(TOKEN))).await;
    assert_eq!(res.status, StatusCode::OK);
    let res = send(&f.app, from("203.0.113.5:5000", login(TOKEN))).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);

    // Bearer guesses count the same way.
    let other = "203.0.113.77:1";
    let mut backed_off = false;
    for i in 0..20 {
        let res = send(&f.app, from(other, bearer(&format!("guess-{i}")))).await;
        if res.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(!res.header("retry-after").is_empty());
            backed_off = true;
            break;
        }
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    assert!(backed_off, "Bearer guesses never backed off");
}

fn session_of(res: &Answer) -> String {
    let cookie = res.header("set-cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    cookie.split(';').next().unwrap().to_string()
}

fn page_with(cookie: &str) -> Request<Body> {
    with(get("/jobs"), &[("cookie", cookie)])
}

#[tokio::test]
async fn sessions_are_random_server_side_and_end_at_logout() {
    let f = fixture(Options {
        auth_token: Some(TOKEN.into()),
        ..Options::default()
    })
    .await;
    let one = session_of(&send(&f.app, login(TOKEN)).await);
    let two = session_of(&send(&f.app, login(TOKEN)).await);
    assert_ne!(one, two, "each login gets its own session id");
    assert!(!one.contains(TOKEN));
    for s in [&one, &two] {
        let page = send(&f.app, page_with(s)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.text().contains("action=\"/logout\""),
            "a signed-in page offers to sign out"
        );
    }
    // A made-up session is not one.
    let forged = format!("vtsum_session={}", "0".repeat(64));
    assert_eq!(
        send(&f.app, page_with(&forged)).await.status,
        StatusCode::SEE_OTHER
    );

    let out = send(
        &f.app,
        with(
            post("/logout", "application/x-www-form-urlencoded", ""),
            &[("cookie", &one)],
        ),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.header("location"), "/login");
    assert!(out.header("set-cookie").contains("Max-Age=0"));
    let after = send(&f.app, page_with(&one)).await;
    assert_eq!(
        (after.status, after.header("location").as_str()),
        (StatusCode::SEE_OTHER, "/login"),
        "the signed-out session still works"
    );
    assert_eq!(send(&f.app, page_with(&two)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn sessions_expire() {
    let f = fixture(Options {
        auth_token: Some(TOKEN.into()),
        session_ttl: Some(std::time::Duration::ZERO),
        ..Options::default()
    })
    .await;
    let s = session_of(&send(&f.app, login(TOKEN)).await);
    assert_eq!(
        send(&f.app, page_with(&s)).await.status,
        StatusCode::SEE_OTHER
    );
}
