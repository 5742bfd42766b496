//! The web app's one error type. API routes answer it as JSON `{"error": "..."}`, pages as
//! a readable HTML page; either way with the right status and a message that says what to
//! do. Internal errors are logged in full and answered with a generic message. Errors that
//! do not come from a handler (extractor rejections, 405) are turned into the same JSON on
//! `/api` by [`json_errors`].

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    BadRequest(String),
    #[error("the upload is larger than the limit of {limit} bytes: split the list, or start the server with a larger --upload-limit")]
    TooLarge { limit: usize },
    #[error("the request body is larger than this form's limit of {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("no job {0}: it may have been deleted")]
    NoSuchJob(String),
    #[error("{0} is not an md5, sha1 or sha256 hash")]
    BadHash(String),
    #[error("this server has no VirusTotal API key: start it with VT_API_KEY=key1,key2 (or --api-key), or try --demo")]
    NoKeys,
    #[error("every key is out of daily quota until {resumes_at}; try again then")]
    QuotaOut { resumes_at: String },
    #[error("no key had a free request within the lookup's wait of {wait} s (--proxy-wait): other lookups are queued ahead; try again in {retry_after} s")]
    Busy { wait: u64, retry_after: u64 },
    #[error("sign in first: send `Authorization: Bearer <token>` or log in at /login")]
    Unauthorized,
    #[error("too many wrong tokens from your address: try again in {retry_after} s")]
    TooManyAttempts { retry_after: u64 },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Engine(#[from] vtsum_core::Error),
    #[error("{0}")]
    Internal(String),
    #[error("the system gave no randomness for a session id: {0}")]
    NoRandomness(#[source] getrandom::Error),
    #[error("rendering a page")]
    Render(#[from] askama::Error),
}

impl WebError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::BadRequest(_) | WebError::BadHash(_) => StatusCode::BAD_REQUEST,
            WebError::TooLarge { .. } | WebError::BodyTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            WebError::NoSuchJob(_) | WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::TooManyAttempts { .. } | WebError::Busy { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            WebError::NoKeys => StatusCode::SERVICE_UNAVAILABLE,
            WebError::QuotaOut { .. } => StatusCode::TOO_MANY_REQUESTS,
            WebError::Unauthorized => StatusCode::UNAUTHORIZED,
            WebError::Engine(_)
            | WebError::Internal(_)
            | WebError::NoRandomness(_)
            | WebError::Render(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message shown to the user: internal details stay in the log.
    pub fn public_message(&self) -> String {
        if self.status() == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!("internal error: {self}");
            "something went wrong on the server; the log has the details".to_string()
        } else {
            self.to_string()
        }
    }
}

/// An error answered as JSON (API routes).
pub struct ApiError(pub WebError);

impl<E: Into<WebError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl axum::response::IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        let body = serde_json::json!({ "error": self.0.public_message() });
        let mut res = (self.0.status(), axum::Json(body)).into_response();
        retry_after(&self.0, &mut res);
        res
    }
}

/// A 429 says when to come back.
fn retry_after(e: &WebError, res: &mut Response) {
    if let WebError::TooManyAttempts { retry_after } | WebError::Busy { retry_after, .. } = e {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
    }
}

/// Longest error text (an extractor's rejection) carried over into the JSON message.
const MAX_MESSAGE: usize = 1024;

/// Middleware on `/api`: an error answered by anything but our handlers — an extractor's
/// rejection (query, path, form, JSON, multipart), a 405, a body limit — is answered as
/// `{"error": "..."}` with its status, like every other API error. The one place those
/// are mapped.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !(path.starts_with("/api/") || path == "/metrics") {
        return next.run(req).await;
    }
    let res = next.run(req).await;
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, MAX_MESSAGE)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if status == StatusCode::METHOD_NOT_ALLOWED {
        let allow = parts
            .headers
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        format!("this route does not take that method; it takes {allow}")
    } else if status.is_server_error() {
        tracing::error!("internal error: {text}");
        "something went wrong on the server; the log has the details".to_string()
    } else if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let body = serde_json::json!({ "error": message }).to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, body.into())
}

/// An error answered as an HTML page (page routes).
pub struct PageError(pub WebError);

impl<E: Into<WebError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl axum::response::IntoResponse for PageError {
    fn into_response(self) -> axum::response::Response {
        let mut res = crate::pages::html::error_page(self.0.status(), &self.0.public_message());
        retry_after(&self.0, &mut res);
        res
    }
}
