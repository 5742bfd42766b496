//! Every route in one place, and the headers every answer carries: a Content-Security-Policy
//! that allows no inline script and nothing from elsewhere, no sniffing, no framing, no
//! referrer.

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::error::{self, ApiError};
use crate::{api, assets, auth, events, metrics, openapi, pages, site, v3, watch, App, WebError};

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Largest body of a route that takes no upload (the login form, deletes): a few KiB.
const SMALL_BODY: usize = auth::LOGIN_LIMIT;

/// The app's router.
pub fn router(app: App) -> Router {
    // Uploads may be as large as configured; every other route takes a few KiB at most.
    // Handlers read bodies with the same limits (`input::read_body`), so a body over them
    // is refused as it arrives, never buffered whole.
    let upload = DefaultBodyLimit::max(app.inner.config.upload_limit);
    let api = Router::new()
        .route("/jobs", post(api::submit).layer(upload).get(api::list))
        .route("/extract", post(api::preview).layer(upload))
        .route("/jobs/{id}", get(api::get).delete(api::delete))
        .route("/jobs/{id}/results", get(api::results))
        .route("/jobs/{id}/events", get(events::events))
        .route("/files/{hash}", get(api::file))
        .route("/quota", get(api::quota))
        .route("/jobs/{id}/watch", post(watch::api_watch_job))
        .route("/watchlists", get(watch::api_lists))
        .route(
            "/watchlists/{name}",
            get(watch::api_list).delete(watch::api_delete),
        )
        .route("/changes", get(watch::api_changes))
        .fallback(api_not_found);
    Router::new()
        .route("/", get(pages::front))
        .route("/jobs", post(pages::submit).layer(upload).get(pages::jobs))
        .route("/jobs/{id}", get(pages::job))
        .route("/jobs/{id}/delete", post(pages::delete))
        .route("/jobs/{id}/watch", post(pages::watch::watch_job))
        .route("/watchlists", get(pages::watch::lists))
        .route("/watchlists/{name}", get(pages::watch::list))
        .route("/changes", get(pages::watch::changes))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/assets/{name}", get(assets::asset))
        .route("/api/openapi.json", get(openapi::document))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::metrics))
        .nest("/api/v1", api)
        .nest("/api/v3", v3::routes())
        .fallback(not_found)
        .layer(middleware::from_fn(error::json_errors))
        .layer(middleware::from_fn_with_state(app.clone(), auth::guard))
        .layer(middleware::from_fn_with_state(app.clone(), site::check))
        .layer(middleware::from_fn(security_headers))
        .layer(DefaultBodyLimit::max(SMALL_BODY))
        .with_state(app)
}

async fn api_not_found(uri: Uri) -> ApiError {
    ApiError(WebError::NotFound(format!(
        "no API route {}: see /api/openapi.json",
        uri.path().chars().take(200).collect::<String>()
    )))
}

/// Unknown addresses: JSON under `/api`, a page elsewhere.
async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        api_not_found(uri).await.into_response()
    } else {
        pages::not_found().await
    }
}

/// `GET /healthz`: 200 when the store answers one cheap round trip (never a count of the
/// cache: a container's health check must stay fast on a big one), run off the async
/// threads.
async fn healthz(State(app): State<App>) -> Response {
    let pinged = vtsum_core::store::blocking(&app.inner.store, |s| s.ping()).await;
    match pinged {
        Ok(()) => (
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
