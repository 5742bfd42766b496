//! Every route in one place, and the headers every answer carries: a Content-Security-Policy
//! that allows no inline script and nothing from elsewhere, no sniffing, no framing, no
//! referrer.

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::error::ApiError;
use crate::{api, assets, auth, events, metrics, openapi, pages, App, WebError};

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The app's router.
pub fn router(app: App) -> Router {
    let api = Router::new()
        .route("/jobs", post(api::submit).get(api::list))
        .route("/extract", post(api::preview))
        .route("/jobs/{id}", get(api::get).delete(api::delete))
        .route("/jobs/{id}/results", get(api::results))
        .route("/jobs/{id}/events", get(events::events))
        .route("/files/{hash}", get(api::file))
        .route("/quota", get(api::quota))
        .fallback(api_not_found);
    Router::new()
        .route("/", get(pages::front))
        .route("/jobs", get(pages::jobs).post(pages::submit))
        .route("/jobs/{id}", get(pages::job))
        .route("/jobs/{id}/delete", post(pages::delete))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/assets/{name}", get(assets::asset))
        .route("/api/openapi.json", get(openapi::document))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::metrics))
        .nest("/api/v1", api)
        .fallback(pages::not_found)
        .layer(middleware::from_fn_with_state(app.clone(), auth::guard))
        .layer(middleware::from_fn(security_headers))
        // Bodies are read with the configured limit by `input::read`.
        .layer(DefaultBodyLimit::disable())
        .with_state(app)
}

async fn api_not_found(uri: Uri) -> ApiError {
    ApiError(WebError::BadRequest(format!(
        "no API route {}: see /api/openapi.json",
        uri.path().chars().take(200).collect::<String>()
    )))
}

/// `GET /healthz`: 200 when the store answers.
async fn healthz(State(app): State<App>) -> Response {
    match app.inner.store.cache_stats() {
        Ok(_) => (
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"status":"ok"}"#,
        )
            .into_response(),
        Err(e) => {
            tracing::warn!("health check: store unavailable: {e}");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"status":"unavailable","reason":"store"}"#,
            )
                .into_response()
        }
    }
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}
