//! `GET /api/openapi.json`: the OpenAPI 3 description of the JSON API, kept beside the
//! router; a test checks that every documented route answers.

use axum::http::header;
use axum::response::IntoResponse;

/// The document.
pub const OPENAPI: &str = include_str!("openapi.json");

pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}
