//! The routes for URLs, domains and IP addresses (v3 objects, v2 reports). Each request
//! passes the same gate as a file lookup: key check, one request of quota, counters,
//! faults. The identifier is parsed before the gate only to name it in the counters; a
//! malformed one still costs quota and then gets 400, as a malformed hash does.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use crate::answers::v3_error;
use crate::object_answers as answer;
use crate::objects::{bounded, parse_domain, parse_ip, parse_url_id, url_sha256};
use crate::state::{Gate, State};

type Shared = AxState<Arc<State>>;

#[derive(Debug, Clone, Copy)]
enum Kind {
    Url,
    Domain,
    Ip,
}

impl Kind {
    /// The object type, also the prefix of its counter key.
    fn name(self) -> &'static str {
        match self {
            Kind::Url => "url",
            Kind::Domain => "domain",
            Kind::Ip => "ip_address",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Url => "URL",
            Kind::Domain => "Domain",
            Kind::Ip => "IP address",
        }
    }
}

/// The v3 answer to a request the gate refused; `None` if it was admitted.
pub(crate) fn v3_refusal(gate: &Gate, key: Option<&str>) -> Option<Response> {
    match gate {
        Gate::Unauthorized => {
            let (code, msg) = match key {
                None => ("AuthenticationRequiredError", "X-Apikey header is missing"),
                Some(_) => ("WrongCredentialsError", "Wrong API key"),
            };
            Some((StatusCode::UNAUTHORIZED, Json(v3_error(code, msg))).into_response())
        }
        Gate::OverQuota => Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                Json(v3_error("QuotaExceededError", "Quota exceeded")),
            )
                .into_response(),
        ),
        Gate::Admitted { .. } => None,
    }
}

/// The counter key of a request: `kind:canonical id`, or the bounded raw text if malformed.
fn counted(kind: Kind, raw: &str, parsed: &Result<String, String>) -> String {
    let id = parsed.clone().unwrap_or_else(|_| bounded(raw));
    format!("{}:{id}", kind.name())
}

async fn v3_object(state: &State, headers: &HeaderMap, kind: Kind, raw: &str) -> Response {
    let now = Instant::now();
    let key = headers.get("x-apikey").and_then(|v| v.to_str().ok());
    let parsed = match kind {
        Kind::Url => parse_url_id(raw),
        Kind::Domain => parse_domain(raw),
        Kind::Ip => parse_ip(raw),
    };
    let gate = state.gate_object(key, &counted(kind, raw, &parsed), now);
    if let Some(refused) = v3_refusal(&gate, key) {
        return refused;
    }
    let Gate::Admitted { arrival, fault } = gate else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Some(r) = crate::faulted(state, arrival, fault).await {
        return r;
    }
    let id = match parsed {
        Ok(id) => id,
        Err(msg) => {
            state.answered(arrival, 400);
            let body = Json(v3_error("InvalidArgumentError", &msg));
            return (StatusCode::BAD_REQUEST, body).into_response();
        }
    };
    let corpus = &state.corpus;
    let base = &state.base_url;
    let found = match kind {
        Kind::Url => corpus.url_by_sha256(&id).map(|u| answer::v3_url(u, base)),
        Kind::Domain => corpus.find_domain(&id).map(|d| answer::v3_domain(d, base)),
        Kind::Ip => corpus.find_ip(&id).map(|i| answer::v3_ip(i, base)),
    };
    match found {
        Some(body) => Json(body).into_response(),
        None => {
            state.answered(arrival, 404);
            let msg = format!("{} \"{}\" not found", kind.label(), bounded(raw));
            let body = Json(v3_error("NotFoundError", &msg));
            (StatusCode::NOT_FOUND, body).into_response()
        }
    }
}

pub(crate) async fn v3_url(
    AxState(state): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    v3_object(&state, &headers, Kind::Url, &id).await
}

pub(crate) async fn v3_domain(
    AxState(state): Shared,
    Path(domain): Path<String>,
    headers: HeaderMap,
) -> Response {
    v3_object(&state, &headers, Kind::Domain, &domain).await
}

pub(crate) async fn v3_ip(
    AxState(state): Shared,
    Path(ip): Path<String>,
    headers: HeaderMap,
) -> Response {
    v3_object(&state, &headers, Kind::Ip, &ip).await
}

/// The query of the three v2 reports (each uses one of `resource`, `domain`, `ip`).
#[derive(serde::Deserialize)]
pub(crate) struct V2ObjectQuery {
    apikey: Option<String>,
    resource: Option<String>,
    domain: Option<String>,
    ip: Option<String>,
}

async fn v2_object(state: &State, kind: Kind, apikey: Option<&str>, raw: Option<&str>) -> Response {
    let now = Instant::now();
    let raw = raw.map(str::trim).filter(|r| !r.is_empty());
    let parsed = match (kind, raw) {
        (_, None) => Err("missing".to_string()),
        // v2 takes the URL itself (or its SHA-256, which is also its scan id's head).
        (Kind::Url, Some(r)) if r.len() == 64 && r.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(r.to_ascii_lowercase())
        }
        (Kind::Url, Some(r)) => Ok(url_sha256(r)),
        (Kind::Domain, Some(r)) => parse_domain(r),
        (Kind::Ip, Some(r)) => parse_ip(r),
    };
    let object = counted(kind, raw.unwrap_or(""), &parsed);
    let (arrival, fault) = match state.gate_object(apikey, &object, now) {
        Gate::Unauthorized => return StatusCode::FORBIDDEN.into_response(),
        Gate::OverQuota => return StatusCode::NO_CONTENT.into_response(),
        Gate::Admitted { arrival, fault } => (arrival, fault),
    };
    if let Some(r) = crate::faulted(state, arrival, fault).await {
        return r;
    }
    let Some(raw) = raw else {
        state.answered(arrival, 400);
        return StatusCode::BAD_REQUEST.into_response();
    };
    let o = &state.corpus.objects;
    let body: Value = match (kind, parsed) {
        (Kind::Url, Ok(sha)) => answer::v2_url(raw, state.corpus.url_by_sha256(&sha)),
        (Kind::Domain, Ok(d)) => answer::v2_domain(o, state.corpus.find_domain(&d)),
        (Kind::Ip, Ok(ip)) => answer::v2_ip(o, state.corpus.find_ip(&ip)),
        // As VirusTotal does: 200 with `response_code` -1 for a malformed domain or IP.
        (Kind::Ip, Err(_)) => {
            serde_json::json!({"response_code": -1, "verbose_msg": "Invalid IP address"})
        }
        (_, Err(_)) => serde_json::json!({"response_code": -1, "verbose_msg": "Invalid domain"}),
    };
    Json(body).into_response()
}

pub(crate) async fn v2_url(AxState(state): Shared, Query(q): Query<V2ObjectQuery>) -> Response {
    v2_object(
        &state,
        Kind::Url,
        q.apikey.as_deref(),
        q.resource.as_deref(),
    )
    .await
}

pub(crate) async fn v2_domain(AxState(state): Shared, Query(q): Query<V2ObjectQuery>) -> Response {
    v2_object(
        &state,
        Kind::Domain,
        q.apikey.as_deref(),
        q.domain.as_deref(),
    )
    .await
}

pub(crate) async fn v2_ip(AxState(state): Shared, Query(q): Query<V2ObjectQuery>) -> Response {
    v2_object(&state, Kind::Ip, q.apikey.as_deref(), q.ip.as_deref()).await
}
