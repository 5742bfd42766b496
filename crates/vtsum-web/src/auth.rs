//! Optional access control (`--auth-token`). Pages need a session cookie, which the login
//! form sets (HttpOnly, SameSite=Strict, so other sites cannot ride on it); the API and
//! `/metrics` also accept `Authorization: Bearer <token>`. `/healthz`, `/login` and the
//! static assets stay open. The cookie holds a hash of the token, never the token.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::{pages, App, WebError};

const COOKIE: &str = "vtsum_session";

/// The cookie value for a token.
fn session_value(token: &str) -> String {
    let digest = Sha256::digest(format!("vtsum-session-v1:{token}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorised(req: &Request, token: &str) -> bool {
    let headers = req.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer.is_some_and(|b| same(b.trim().as_bytes(), token.as_bytes())) {
        return true;
    }
    let expected = session_value(token);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .any(|v| same(v.as_bytes(), expected.as_bytes()))
}

fn open_path(path: &str) -> bool {
    path == "/healthz" || path == "/login" || path.starts_with("/assets/")
}

/// The middleware: lets a request through, or answers 401 (API) / redirects to the login.
pub async fn guard(State(app): State<App>, req: Request, next: Next) -> Response {
    let Some(token) = app.inner.config.auth_token.as_deref() else {
        return next.run(req).await;
    };
    let path = req.uri().path();
    if open_path(path) || authorised(&req, token) {
        return next.run(req).await;
    }
    if path.starts_with("/api/") || path == "/metrics" {
        let mut res = ApiError(WebError::Unauthorized).into_response();
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"vtsum\""),
        );
        return res;
    }
    Redirect::to("/login").into_response()
}

#[derive(Deserialize)]
pub struct Login {
    token: String,
}

/// `GET /login`.
pub async fn login_page(State(app): State<App>) -> Response {
    if app.inner.config.auth_token.is_none() {
        return Redirect::to("/").into_response();
    }
    pages::login_page(None).into_response()
}

/// `POST /login`: sets the session cookie when the token is right.
pub async fn login(State(app): State<App>, Form(form): Form<Login>) -> Response {
    let Some(token) = app.inner.config.auth_token.as_deref() else {
        return Redirect::to("/").into_response();
    };
    if !same(form.token.trim().as_bytes(), token.as_bytes()) {
        let page = pages::login_page(Some("That token is not right."));
        return (StatusCode::UNAUTHORIZED, page).into_response();
    }
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000",
        session_value(token)
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}
