//! Errors in VirusTotal's own shape, `{"error": {"code": …, "message": …}}`, with the codes
//! and statuses its clients look for (vt-py raises `APIError(code, message)`; scripts
//! switch on the code).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::WebError;

/// An error answered on `/api/v3`.
#[derive(Debug)]
pub struct V3Error {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

impl V3Error {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> V3Error {
        V3Error {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The error's code, as VirusTotal names it.
    #[cfg(test)]
    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn not_found(what: &str, id: &str) -> V3Error {
        V3Error::new(
            StatusCode::NOT_FOUND,
            "NotFoundError",
            format!("{what} \"{id}\" not found"),
        )
    }

    pub fn invalid_argument(message: impl Into<String>) -> V3Error {
        V3Error::new(StatusCode::BAD_REQUEST, "InvalidArgumentError", message)
    }

    pub fn authentication_required() -> V3Error {
        V3Error::new(
            StatusCode::UNAUTHORIZED,
            "AuthenticationRequiredError",
            "X-Apikey header is missing: send a vtsum client token (--client-token), not a \
             VirusTotal key",
        )
    }

    pub fn wrong_credentials() -> V3Error {
        V3Error::new(
            StatusCode::UNAUTHORIZED,
            "WrongCredentialsError",
            "Wrong API key: this server takes vtsum client tokens (--client-token), never \
             VirusTotal keys",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> V3Error {
        V3Error::new(StatusCode::FORBIDDEN, "ForbiddenError", message)
    }

    /// 429 with `Retry-After`.
    pub fn quota(message: impl Into<String>, retry_after: u64) -> V3Error {
        V3Error {
            retry_after: Some(retry_after.max(1)),
            ..V3Error::new(StatusCode::TOO_MANY_REQUESTS, "QuotaExceededError", message)
        }
    }

    /// 429 for an address that sent too many wrong tokens.
    pub fn too_many_attempts(retry_after: u64) -> V3Error {
        V3Error {
            retry_after: Some(retry_after.max(1)),
            ..V3Error::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsError",
                format!("too many wrong tokens from your address: try again in {retry_after} s"),
            )
        }
    }

    pub fn not_implemented(message: impl Into<String>) -> V3Error {
        V3Error::new(StatusCode::NOT_IMPLEMENTED, "NotImplementedError", message)
    }

    /// VirusTotal could not be asked or did not answer.
    pub fn transient(message: impl Into<String>) -> V3Error {
        V3Error::new(StatusCode::SERVICE_UNAVAILABLE, "TransientError", message)
    }
}

impl From<WebError> for V3Error {
    fn from(e: WebError) -> V3Error {
        let status = e.status();
        let message = e.public_message();
        match status {
            StatusCode::SERVICE_UNAVAILABLE => V3Error::transient(message),
            StatusCode::BAD_REQUEST => V3Error::invalid_argument(message),
            StatusCode::NOT_FOUND => V3Error::new(status, "NotFoundError", message),
            _ => V3Error::new(status, "InternalError", message),
        }
    }
}

impl From<vtsum_core::Error> for V3Error {
    fn from(e: vtsum_core::Error) -> V3Error {
        WebError::from(e).into()
    }
}

impl IntoResponse for V3Error {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": { "code": self.code, "message": self.message }
        });
        let mut res = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}
