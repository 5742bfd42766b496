//! A VirusTotal-compatible endpoint: `GET /api/v3/files/{md5|sha1|sha256}` answers with the
//! JSON VirusTotal returned, from the shared cache when fresh or through the scheduler
//! (interactive lane, pooled keys, per-hash claims) when not, so vt-py, the `vt` CLI and
//! scripts get the cache and the keys' quota by changing one base URL.
//! `GET /api/v3/users/{id}/overall_quotas` answers with the pooled quota. Every other
//! route answers 501 in VirusTotal's error shape, naming what is served: never a silent
//! proxy to the real service.

pub mod clients;
mod error;

use axum::extract::{Path, Request, State};
use std::net::IpAddr;

use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use vtsum_core::engine::now_unix;
use vtsum_core::quota::next_utc_midnight;
use vtsum_core::report::{Document, ItemResult, Lookup};
use vtsum_core::store;
use vtsum_core::Hash;

use self::clients::{Client, Use};
use self::error::V3Error;
use crate::lookup::{self, Answer, Refused};
use crate::{auth, App};

/// What the endpoint serves, for the 501 answers.
const SERVED: &str = "this vtsum server answers GET /api/v3/files/{md5|sha1|sha256} and GET \
/api/v3/users/{id}/overall_quotas only";

/// The routes, to nest under `/api/v3`.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/files/{id}", get(file).fallback(unsupported))
        .route(
            "/users/{id}/overall_quotas",
            get(overall_quotas).fallback(unsupported),
        )
        .fallback(unsupported)
}

async fn unsupported(req: Request) -> V3Error {
    let path: String = req.uri().path().chars().take(200).collect();
    V3Error::not_implemented(format!("{} {path}: {SERVED}", req.method()))
}

/// Who asked: taken from the request before any await (a request's body is not `Sync`).
struct Caller {
    headers: HeaderMap,
    peer: Option<IpAddr>,
}

impl Caller {
    fn of(req: &Request) -> Caller {
        Caller {
            headers: req.headers().clone(),
            peer: auth::client_ip(req),
        }
    }
}

fn admit(app: &App, caller: &Caller) -> Result<Client, V3Error> {
    let config = &app.inner.config;
    clients::admit(
        &config.clients,
        &app.inner.access,
        &caller.headers,
        caller.peer,
    )
}

/// `GET /api/v3/files/{id}`.
async fn file(State(app): State<App>, Path(id): Path<String>, req: Request) -> Response {
    let caller = Caller::of(&req);
    drop(req);
    match answer_file(&app, &id, &caller).await {
        Ok(res) => res,
        Err(e) => e.into_response(),
    }
}

async fn answer_file(app: &App, id: &str, caller: &Caller) -> Result<Response, V3Error> {
    let client = admit(app, caller)?;
    let Some(hash) = Hash::parse(id) else {
        let shown: String = id.chars().take(80).collect();
        return Err(V3Error::invalid_argument(format!(
            "Invalid file id: {shown:?} is not an md5, sha1 or sha256 hash"
        )));
    };
    tally(app, &client, Use::Lookup).await?;
    let (answer, document) = match lookup::cached(app, &hash, true).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            within_cap(app, &client).await?;
            let fetched = lookup::fetch(app, &hash)
                .await
                .map_err(|r| refused(app, r))?;
            (fetched, None)
        }
        Err(r) => return Err(refused(app, r)),
    };
    let used = if answer.from_cache {
        Use::CacheHit
    } else {
        Use::Upstream
    };
    tally(app, &client, used).await?;
    respond(app, &hash, answer, document).await
}

/// The answer as VirusTotal gave it: the cached document (read here unless the cache pass
/// brought it), or 404 for an unknown file.
async fn respond(
    app: &App,
    hash: &Hash,
    answer: Answer,
    document: Option<Document>,
) -> Result<Response, V3Error> {
    let report = match answer.result {
        ItemResult::Lookup {
            lookup: Lookup::Found(report),
            ..
        } => report,
        ItemResult::Lookup {
            lookup: Lookup::Unknown,
            ..
        } => return Err(V3Error::not_found("File", hash.as_str())),
        ItemResult::Error { message } => {
            return Err(V3Error::transient(format!(
                "VirusTotal gave no answer for this file: {message}"
            )))
        }
        // A file's lookup never answers with a URL's, domain's or IP address's object.
        ItemResult::Lookup {
            lookup: Lookup::Object(_),
            ..
        } => {
            return Err(V3Error::transient(
                "the answer for this file is not a file".to_string(),
            ))
        }
    };
    let document = match document {
        Some(document) => Some(document),
        None => {
            let (asked, sha256) = (hash.clone(), report.sha256.clone());
            store::blocking(&app.inner.store, move |s| {
                lookup::document_of(s, &asked, &sha256)
            })
            .await?
        }
    };
    let document = document
        // A file answered without a document of its own (a v2 key, an old cache entry).
        .unwrap_or_else(|| vtsum_core::vt::document::of(&report));
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        document.text().to_string(),
    )
        .into_response())
}

fn refused(app: &App, r: Refused) -> V3Error {
    match r {
        Refused::OutForDay { resumes_at } => V3Error::quota(
            format!(
                "every VirusTotal key of this vtsum server is out of its daily quota until {}",
                vtsum_core::report::iso8601(resumes_at).unwrap_or_default()
            ),
            resumes_at.saturating_sub(now_unix()).max(1) as u64,
        ),
        Refused::Busy { retry_after } => V3Error::quota(
            format!(
                "no VirusTotal key of this vtsum server had a free request within {} s \
                 (--proxy-wait): other lookups are queued ahead",
                app.inner.config.proxy_wait().as_secs()
            ),
            retry_after,
        ),
        Refused::Failed(e) => e.into(),
    }
}

/// Refuses a miss when the client has spent its daily cap of upstream requests.
async fn within_cap(app: &App, client: &Client) -> Result<(), V3Error> {
    let Some(cap) = client.daily_cap else {
        return Ok(());
    };
    let name = client.name.clone();
    let used =
        store::blocking(&app.inner.store, move |s| clients::upstream_today(s, &name)).await?;
    if used < cap {
        return Ok(());
    }
    Err(V3Error::quota(
        format!(
            "client {:?} has used its daily cap of {cap} VirusTotal requests (--client-cap); \
             files already in the cache are still answered",
            client.name
        ),
        next_utc_midnight().saturating_sub(now_unix()).max(1) as u64,
    ))
}

/// Counts a use: upstream requests at once (caps read them), the rest through the
/// tally, written about once a second.
async fn tally(app: &App, client: &Client, what: Use) -> Result<(), V3Error> {
    let name = client.name.clone();
    let batch = match what {
        Use::Upstream => None,
        _ => match app.inner.uses.add(&name, what, std::time::Instant::now()) {
            Some(batch) => Some(batch),
            None => return Ok(()),
        },
    };
    store::blocking(&app.inner.store, move |s| match batch {
        Some(batch) => clients::write(s, &batch),
        None => clients::count(s, &name, what).map(|_| ()),
    })
    .await
    .map_err(V3Error::from)
}

/// Writes the counts the tally holds, so what is read next is current.
pub async fn flush_uses(app: &App) -> Result<(), vtsum_core::Error> {
    let batch = app.inner.uses.take();
    if batch.is_empty() {
        return Ok(());
    }
    store::blocking(&app.inner.store, move |s| clients::write(s, &batch)).await
}

/// `GET /api/v3/users/{id}/overall_quotas`: the keys' pooled quota, whatever the id.
async fn overall_quotas(State(app): State<App>, req: Request) -> Response {
    let caller = Caller::of(&req);
    drop(req);
    match pooled(&app, &caller).await {
        Ok(body) => axum::Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn pooled(app: &App, caller: &Caller) -> Result<serde_json::Value, V3Error> {
    admit(app, caller)?;
    let Some(engine) = app.inner.engine.as_ref() else {
        return Err(crate::WebError::NoKeys.into());
    };
    let keys = engine.key_status_off_runtime().await?;
    let pair =
        |used: u64, allowed: u64| serde_json::json!({"user": {"used": used, "allowed": allowed}});
    let mut data = serde_json::Map::new();
    let daily_used = keys
        .iter()
        .fold(0u64, |n, k| n.saturating_add(k.used_today));
    let daily_allowed: u64 = keys
        .iter()
        .filter_map(|k| k.daily_limit)
        .map(u64::from)
        .sum();
    data.insert("api_requests_daily".into(), pair(daily_used, daily_allowed));
    // VirusTotal's hourly and monthly figures, summed, when every key's could be read.
    type Pick = fn(&vtsum_core::vt::RemoteQuota) -> Option<(u64, u64)>;
    let periods: [(&str, Pick); 2] = [
        ("api_requests_hourly", |r| r.hourly),
        ("api_requests_monthly", |r| r.monthly),
    ];
    for (name, pick) in periods {
        let figures: Option<Vec<(u64, u64)>> = keys
            .iter()
            .map(|k| k.remote.as_ref().and_then(pick))
            .collect();
        if let Some(figures) = figures {
            let (used, allowed) = figures.iter().fold((0u64, 0u64), |(u, a), (fu, fa)| {
                (u.saturating_add(*fu), a.saturating_add(*fa))
            });
            data.insert(name.into(), pair(used, allowed));
        }
    }
    Ok(serde_json::json!({ "data": data }))
}
