//! The web app's one error type. API routes answer it as JSON `{"error": "..."}`, pages as
//! a readable HTML page; either way with the right status and a message that says what to
//! do. Internal errors are logged in full and answered with a generic message.

use axum::http::StatusCode;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    BadRequest(String),
    #[error("the upload is larger than the limit of {limit} bytes: split the list, or start the server with a larger --upload-limit")]
    TooLarge { limit: usize },
    #[error("no job {0}: it may have been deleted")]
    NoSuchJob(String),
    #[error("{0} is not an md5, sha1 or sha256 hash")]
    BadHash(String),
    #[error("this server has no VirusTotal API key: start it with VT_API_KEY=key1,key2 (or --api-key), or try --demo")]
    NoKeys,
    #[error("every key is out of daily quota until {resumes_at}; try again then")]
    QuotaOut { resumes_at: String },
    #[error("sign in first: send `Authorization: Bearer <token>` or log in at /login")]
    Unauthorized,
    #[error("{0}")]
    Engine(#[from] vtsum_core::Error),
    #[error("{0}")]
    Internal(String),
}

impl WebError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::BadRequest(_) | WebError::BadHash(_) => StatusCode::BAD_REQUEST,
            WebError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::NoSuchJob(_) => StatusCode::NOT_FOUND,
            WebError::NoKeys => StatusCode::SERVICE_UNAVAILABLE,
            WebError::QuotaOut { .. } => StatusCode::TOO_MANY_REQUESTS,
            WebError::Unauthorized => StatusCode::UNAUTHORIZED,
            WebError::Engine(_) | WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
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
        (self.0.status(), axum::Json(body)).into_response()
    }
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
        let status = self.0.status();
        let page = crate::pages::error_page(status, &self.0.public_message());
        (status, page).into_response()
    }
}
