//! `GET /metrics` in the Prometheus text format: requests by key id and outcome, cache hits
//! and misses, jobs by state, hashes waiting, each key's quota left, and each client's use
//! of the VirusTotal-compatible endpoint today. Keys by id only; clients by name.

use std::collections::BTreeMap;
use std::fmt::Write;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use vtsum_core::store::JobState;

use crate::error::ApiError;
use crate::{api, view, App};

/// Escapes a label value as the exposition format requires.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub async fn metrics(State(app): State<App>) -> Result<impl IntoResponse, ApiError> {
    let mut out = String::new();
    let engine = app.inner.engine.as_ref();
    let m = engine.map(|e| e.metrics()).unwrap_or_default();
    let w = &mut out;
    // Writing to a String cannot fail.
    let _ = writeln!(
        w,
        "# HELP vtsum_requests_total Requests sent to VirusTotal, by key id and outcome."
    );
    let _ = writeln!(w, "# TYPE vtsum_requests_total counter");
    for ((key, outcome), n) in &m.requests {
        let _ = writeln!(
            w,
            "vtsum_requests_total{{key_id=\"{}\",outcome=\"{}\"}} {n}",
            label(key),
            outcome.as_str()
        );
    }
    let _ = writeln!(
        w,
        "# HELP vtsum_cache_hits_total Hashes answered from the cache."
    );
    let _ = writeln!(w, "# TYPE vtsum_cache_hits_total counter");
    let _ = writeln!(w, "vtsum_cache_hits_total {}", m.cache_hits);
    let _ = writeln!(
        w,
        "# HELP vtsum_cache_misses_total Hashes that needed a request."
    );
    let _ = writeln!(w, "# TYPE vtsum_cache_misses_total counter");
    let _ = writeln!(w, "vtsum_cache_misses_total {}", m.cache_misses);

    let jobs = api::web_jobs(&app).await?;
    let mut by_state: BTreeMap<&str, u64> =
        JobState::ALL.into_iter().map(|s| (s.as_str(), 0)).collect();
    let mut pending = 0;
    for job in &jobs {
        *by_state.entry(job.state.as_str()).or_default() += 1;
        if !job.state.is_final() {
            pending += job.total.saturating_sub(job.done);
        }
    }
    let _ = writeln!(w, "# HELP vtsum_jobs Web jobs by state.");
    let _ = writeln!(w, "# TYPE vtsum_jobs gauge");
    for (state, n) in by_state {
        let _ = writeln!(w, "vtsum_jobs{{state=\"{state}\"}} {n}");
    }
    let _ = writeln!(
        w,
        "# HELP vtsum_queue_hashes Hashes of unfinished jobs still without a result."
    );
    let _ = writeln!(w, "# TYPE vtsum_queue_hashes gauge");
    let _ = writeln!(w, "vtsum_queue_hashes {pending}");

    let keys = view::keys(engine).await?;
    let _ = writeln!(
        w,
        "# HELP vtsum_quota_free_now Requests a key may send now under its short windows."
    );
    let _ = writeln!(w, "# TYPE vtsum_quota_free_now gauge");
    for k in &keys {
        if let Some(n) = k.free_now {
            let _ = writeln!(w, "vtsum_quota_free_now{{key_id=\"{}\"}} {n}", label(&k.id));
        }
    }
    let _ = writeln!(
        w,
        "# HELP vtsum_quota_left_today Requests a key has left today (UTC)."
    );
    let _ = writeln!(w, "# TYPE vtsum_quota_left_today gauge");
    for k in &keys {
        if let Some(n) = k.left_today {
            let _ = writeln!(
                w,
                "vtsum_quota_left_today{{key_id=\"{}\"}} {n}",
                label(&k.id)
            );
        }
    }
    crate::v3::flush_uses(&app).await?;
    let clients = vtsum_core::store::blocking(&app.inner.store, crate::v3::clients::today).await?;

    type Figure = fn(&crate::ClientUse) -> u64;
    let figures: [(&str, &str, Figure); 3] = [
        ("lookups", "Lookups", |u| u.lookups),
        ("cache_hits", "Lookups answered from the cache", |u| {
            u.cache_hits
        }),
        (
            "upstream",
            "Lookups that needed a request to VirusTotal",
            |u| u.upstream,
        ),
    ];
    for (name, help, figure) in figures {
        let _ = writeln!(
            w,
            "# HELP vtsum_client_{name}_today {help} on the VirusTotal-compatible endpoint \
             today (UTC), by client."
        );
        let _ = writeln!(w, "# TYPE vtsum_client_{name}_today gauge");
        for (client, used) in &clients {
            let _ = writeln!(
                w,
                "vtsum_client_{name}_today{{client=\"{}\"}} {}",
                label(client),
                figure(used)
            );
        }
    }
    if let Some(watches) = app.inner.store.clone().watches() {
        let outbox =
            vtsum_core::store::off_runtime("reading the outbox", move || watches.outbox_stats())
                .await?;
        let _ = writeln!(
            w,
            "# HELP vtsum_webhook_deliveries Watchlist alerts by state: delivered, pending \
             (waiting to be sent or retried), failing (pending after a failed attempt)."
        );
        let _ = writeln!(w, "# TYPE vtsum_webhook_deliveries gauge");
        for (state, n) in [
            ("delivered", outbox.delivered),
            ("pending", outbox.pending),
            ("failing", outbox.failing),
        ] {
            let _ = writeln!(w, "vtsum_webhook_deliveries{{state=\"{state}\"}} {n}");
        }
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    ))
}
