//! Optional access control (`--auth-token`). Pages need a session cookie, which the login
//! form sets (HttpOnly, SameSite=Strict, so other sites cannot ride on it) and `POST
//! /logout` ends; the API and `/metrics` also accept `Authorization: Bearer <token>`.
//! `/healthz`, `/login`, `/logout` and the static assets stay open.
//!
//! Wrong tokens, by form or Bearer, count per client address ([`backoff`]): after a few,
//! that address gets 429 with `Retry-After`. Tokens are compared through their SHA-256, so
//! neither the position of the first difference nor the token's length shows in the time
//! taken. The cookie carries a random session id ([`sessions`]), never the token or a hash
//! of it.

mod backoff;
mod sessions;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, PageError};
use crate::input::read_body;
use crate::{pages, App, WebError};

const COOKIE: &str = "vtsum_session";
/// How long a login lasts unless configured otherwise.
pub const SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// The login form is one short field: a body over this is not a login.
pub const LOGIN_LIMIT: usize = 4 << 10;

/// What access control remembers: the live sessions and the wrong tokens per address.
pub struct Access {
    sessions: sessions::Sessions,
    backoff: backoff::Backoff,
}

impl Access {
    pub fn new(session_ttl: Option<Duration>) -> Access {
        Access {
            sessions: sessions::Sessions::new(session_ttl.unwrap_or(SESSION_TTL)),
            backoff: backoff::Backoff::default(),
        }
    }

    /// Which of `tokens` a client presented (`Ok(None)`: none), with the same per-address
    /// back-off as logins (`Err(retry_after)`). Every token is compared, each in constant
    /// time, so the time taken tells nothing about which matched.
    pub fn match_token<'t>(
        &self,
        ip: Option<IpAddr>,
        presented: &str,
        tokens: impl Iterator<Item = &'t str>,
    ) -> Result<Option<usize>, u64> {
        self.backoff.check(ip)?;
        let mut matched = None;
        for (i, token) in tokens.enumerate() {
            if same_token(presented, token) && matched.is_none() {
                matched = Some(i);
            }
        }
        match matched {
            Some(_) => self.backoff.succeed(ip),
            None => self.backoff.fail(ip),
        }
        Ok(matched)
    }
}

/// Compares a presented token with the right one in time that depends on neither the
/// token nor where they differ: both are hashed first, then every byte is compared.
fn same_token(presented: &str, token: &str) -> bool {
    let a: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
    let b: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let diff = a.iter().zip(&b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// The client's address, when the request came over a socket.
pub fn client_ip(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

fn session_ids(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

/// Paths `--auth-token` leaves open: the VirusTotal-compatible endpoint has client tokens
/// of its own (`v3::clients`).
fn open_path(path: &str) -> bool {
    path == "/healthz"
        || path == "/login"
        || path == "/logout"
        || path.starts_with("/assets/")
        || path.starts_with("/api/v3/")
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path == "/metrics"
}

/// An error as the route answers errors: JSON for the API, a page for the rest.
fn refuse(path: &str, e: WebError) -> Response {
    let unauthorized = matches!(e, WebError::Unauthorized);
    if is_api(path) {
        let mut res = ApiError(e).into_response();
        if unauthorized {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"vtsum\""),
            );
        }
        return res;
    }
    if unauthorized {
        return Redirect::to("/login").into_response();
    }
    PageError(e).into_response()
}

/// The middleware: lets a request through, or answers 401 (API) / redirects to the login,
/// or 429 while the client's address is backing off.
pub async fn guard(State(app): State<App>, req: Request, next: Next) -> Response {
    let Some(token) = app.inner.config.auth_token.as_deref() else {
        return next.run(req).await;
    };
    let path = req.uri().path().to_string();
    if open_path(&path) {
        return next.run(req).await;
    }
    let access = &app.inner.access;
    if let Some(presented) = bearer(req.headers()) {
        let ip = client_ip(&req);
        if let Err(retry_after) = access.backoff.check(ip) {
            return refuse(&path, WebError::TooManyAttempts { retry_after });
        }
        if same_token(presented, token) {
            access.backoff.succeed(ip);
            return next.run(req).await;
        }
        access.backoff.fail(ip);
        return refuse(&path, WebError::Unauthorized);
    }
    if session_ids(req.headers()).any(|id| access.sessions.valid(id)) {
        return next.run(req).await;
    }
    refuse(&path, WebError::Unauthorized)
}

#[derive(Deserialize)]
pub struct Login {
    token: String,
}

/// `GET /login`.
pub async fn login_page(State(app): State<App>) -> Result<Response, PageError> {
    if app.inner.config.auth_token.is_none() {
        return Ok(Redirect::to("/").into_response());
    }
    Ok(pages::login_page(None)?.into_response())
}

/// `POST /login`: starts a session when the token is right.
pub async fn login(State(app): State<App>, req: Request) -> Result<Response, PageError> {
    let Some(token) = app.inner.config.auth_token.as_deref() else {
        return Ok(Redirect::to("/").into_response());
    };
    let access = &app.inner.access;
    let ip = client_ip(&req);
    access
        .backoff
        .check(ip)
        .map_err(|retry_after| WebError::TooManyAttempts { retry_after })?;
    let (parts, body) = req.into_parts();
    let bytes = read_body(&parts.headers, body, LOGIN_LIMIT)
        .await
        .map_err(|e| match e {
            WebError::TooLarge { limit } => WebError::BodyTooLarge { limit },
            e => e,
        })?;
    let form =
        axum::Form::<Login>::from_request(Request::from_parts(parts, Body::from(bytes)), &())
            .await
            .map_err(|_| {
                WebError::BadRequest(
                "the login form sends token=<your access token>, form-encoded: sign in at /login"
                    .into(),
            )
            })?
            .0;
    if !same_token(form.token.trim(), token) {
        access.backoff.fail(ip);
        let page = pages::login_page(Some("That token is not right."))?;
        return Ok((axum::http::StatusCode::UNAUTHORIZED, page).into_response());
    }
    access.backoff.succeed(ip);
    let id = access.sessions.create()?;
    let cookie = format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        access.sessions.ttl().as_secs()
    );
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response())
}

/// `POST /logout`: ends the session and clears the cookie.
pub async fn logout(State(app): State<App>, headers: HeaderMap) -> Response {
    for id in session_ids(&headers) {
        app.inner.access.sessions.remove(id);
    }
    let cookie = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    let to = if app.inner.config.auth_token.is_some() {
        "/login"
    } else {
        "/"
    };
    ([(header::SET_COOKIE, cookie)], Redirect::to(to)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_by_value_whatever_their_lengths() {
        assert!(same_token("s3cret", "s3cret"));
        for other in [
            "",
            "s",
            "s3cre",
            "s3cret ",
            "S3cret",
            "s3cret-and-more-and-more",
        ] {
            assert!(!same_token(other, "s3cret"), "{other:?}");
        }
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "bearer  abc ".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
    }
}
