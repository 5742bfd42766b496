//! The HTML pages: server-rendered shells with every value escaped, filled in and kept live
//! by the embedded script (`assets/app.js`). They work without JavaScript as far as plain
//! HTML allows: the form posts, the job page links its downloads.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use vtsum_core::render::html::escape;
use vtsum_core::report::{iso8601, Verdict};
use vtsum_core::store::JobInfo;

use crate::api::{self, quota_view};
use crate::error::PageError;
use crate::view::QuotaView;
use crate::{input, App};

/// The sign-out button, on pages of a server with a token (the visitor is signed in).
fn sign_out(app: &App) -> &'static str {
    if app.inner.config.auth_token.is_some() {
        "<form method=\"post\" action=\"/logout\" class=\"inline\">\
<button type=\"submit\" class=\"link\" id=\"sign-out\">Sign out</button></form>"
    } else {
        ""
    }
}

/// The page around a body. `page` tells the script which page it is on; `account` goes at
/// the end of the navigation (the sign-out button).
fn layout(title: &str, page: &str, attrs: &str, account: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{} · vtsum</title><link rel=\"icon\" href=\"/assets/favicon.svg\">\
<link rel=\"stylesheet\" href=\"/assets/app.css\"><script src=\"/assets/app.js\" defer></script></head>\
<body data-page=\"{page}\"{attrs}><header class=\"top\"><a class=\"brand\" href=\"/\">vtsum</a>\
<nav><a href=\"/\">New scan</a><a href=\"/jobs\">Jobs</a>{account}</nav></header><main>{body}</main></body></html>",
        escape(title)
    ))
}

/// A page for an error, with a way back.
pub fn error_page(status: StatusCode, message: &str) -> Html<String> {
    let title = status.canonical_reason().unwrap_or("Error");
    layout(
        title,
        "error",
        "",
        "",
        &format!(
            "<h1>{}</h1><p class=\"notice bad\" id=\"error-message\">{}</p><p><a href=\"/\">Back to the front page</a></p>",
            escape(title),
            escape(message)
        ),
    )
}

pub fn login_page(problem: Option<&str>) -> Html<String> {
    let problem = problem
        .map(|p| format!("<p class=\"notice bad\">{}</p>", escape(p)))
        .unwrap_or_default();
    layout(
        "Sign in",
        "login",
        "",
        "",
        &format!(
            "<h1>Sign in</h1>{problem}<form method=\"post\" action=\"/login\" class=\"card\">\
<label>Access token <input type=\"password\" name=\"token\" id=\"token\" autocomplete=\"current-password\" required></label>\
<button type=\"submit\">Sign in</button></form>"
        ),
    )
}

fn keys_panel(q: &QuotaView) -> String {
    let mut rows = String::new();
    for k in &q.keys {
        rows.push_str(&format!(
            "<tr><td><code>{id}</code></td><td><span class=\"key-state {state}\">{state}</span></td><td>{now}</td><td>{today}</td></tr>",
            id = escape(&k.id),
            state = k.state.as_str(),
            now = k.free_now.map_or("–".into(), |n| n.to_string()),
            today = k.left_today.map_or("–".into(), |n| n.to_string()),
        ));
    }
    format!(
        "<section class=\"card\" id=\"quota-panel\"><h2>Keys</h2>\
<div class=\"table-wrap\"><table class=\"keys\"><thead><tr><th>Key id</th><th>State</th><th>Left now</th><th>Left today</th></tr></thead>\
<tbody id=\"keys\">{rows}</tbody></table></div>\
<p class=\"muted\">Cache: <span id=\"cache-found\">{}</span> files, <span id=\"cache-unknown\">{}</span> unknown hashes.</p></section>",
        q.cache_found, q.cache_unknown
    )
}

fn job_list(jobs: &[JobInfo], limit: usize) -> String {
    if jobs.is_empty() {
        return "<p class=\"muted\" id=\"no-jobs\">No jobs yet.</p>".into();
    }
    let mut out = String::from(
        "<div class=\"table-wrap\"><table class=\"jobs\" id=\"jobs\"><thead><tr><th>Job</th><th>State</th><th>Done</th><th>Created (UTC)</th><th></th></tr></thead><tbody>",
    );
    for j in jobs.iter().take(limit) {
        out.push_str(&format!(
            "<tr><td><a href=\"/jobs/{id}\">{label}</a></td><td><span class=\"state {state}\">{state}</span></td>\
<td>{done} / {total}</td><td>{created}</td><td><form method=\"post\" action=\"/jobs/{id}/delete\" class=\"inline delete-job\">\
<button type=\"submit\" class=\"link danger\">Delete</button></form></td></tr>",
            id = j.id,
            label = escape(&j.spec.label),
            state = j.state.as_str(),
            done = j.done,
            total = j.total,
            created = iso8601(j.created_at).unwrap_or_default().replace('T', " ").trim_end_matches('Z'),
        ));
    }
    out.push_str("</tbody></table></div>");
    out
}

/// `GET /`.
pub async fn front(State(app): State<App>) -> Result<Html<String>, PageError> {
    let quota = quota_view(&app).await?;
    let jobs = api::web_jobs(&app).await?;
    let no_keys = if quota.configured {
        String::new()
    } else if app.inner.jobs.has_queue() {
        // A web-only replica: the workers on the same Redis hold the keys.
        "<div class=\"notice\" id=\"no-keys\">This server holds no VirusTotal API key: jobs \
submitted here are run by the <code>vtsum worker</code> processes sharing its Redis store.</div>"
            .to_string()
    } else {
        "<div class=\"notice warn\" id=\"no-keys\"><strong>No VirusTotal API key is configured.</strong> \
Start the server with <code>VT_API_KEY=key1,key2 vtsum serve</code> (or <code>--api-key</code>, or \
<code>api_keys</code> in the config file). A free key allows 4 requests a minute and 500 a day; several \
keys add up. To look around without a key, run <code>vtsum serve --demo</code>.</div>"
            .to_string()
    };
    let limit_mib = app.inner.config.upload_limit as f64 / (1 << 20) as f64;
    let body = format!(
        "<h1>Check file hashes against VirusTotal</h1>\
<p class=\"lead\">Upload a file or paste any text — an EDR export, a log, an e-mail. Every md5, sha1 and \
sha256 in it is looked up once; answers cached earlier cost nothing.</p>{no_keys}\
<form class=\"card\" id=\"submit-form\" method=\"post\" action=\"/jobs\" enctype=\"multipart/form-data\">\
<label class=\"field\">File (.txt, .csv, .log — any text, up to {limit_mib:.0} MiB)\
<input type=\"file\" name=\"file\" id=\"file\"></label>\
<label class=\"field\">or paste text<textarea name=\"text\" id=\"text\" rows=\"8\" spellcheck=\"false\" \
placeholder=\"44d88612fea8a8f36de82e1278abb02f&#10;…\"></textarea></label>\
<p id=\"preview\" class=\"preview\" aria-live=\"polite\"></p>\
<button type=\"submit\" id=\"start\">Start scan</button></form>\
{}<section class=\"card\"><h2>Recent jobs</h2>{}<p><a href=\"/jobs\">All jobs</a></p></section>",
        keys_panel(&quota),
        job_list(&jobs, 10)
    );
    Ok(layout("New scan", "front", "", sign_out(&app), &body))
}

/// `POST /jobs`: the front page's form; answers with the new job's page.
pub async fn submit(State(app): State<App>, req: Request) -> Result<Response, PageError> {
    let sub = input::read(req, app.inner.config.upload_limit).await?;
    let job = api::create_job(&app, sub).await?;
    Ok(Redirect::to(&format!("/jobs/{}", job.id)).into_response())
}

/// `GET /jobs`.
pub async fn jobs(State(app): State<App>) -> Result<Html<String>, PageError> {
    let jobs = api::web_jobs(&app).await?;
    Ok(layout(
        "Jobs",
        "jobs",
        "",
        sign_out(&app),
        &format!(
            "<h1>Jobs</h1><section class=\"card\">{}</section>",
            job_list(&jobs, usize::MAX)
        ),
    ))
}

/// `POST /jobs/{id}/delete`.
pub async fn delete(State(app): State<App>, Path(id): Path<String>) -> Result<Response, PageError> {
    api::delete_job(&app, &id).await?;
    Ok(Redirect::to("/jobs").into_response())
}

/// `GET /jobs/{id}`: progress, then the report, on one page.
pub async fn job(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let job = api::load_job(&app, &id).await?;
    let quota = quota_view(&app).await?;
    let id = job.id.0.as_str();
    let downloads: String = [("csv", "CSV"), ("json", "JSON"), ("jsonl", "JSONL"), ("xlsx", "Excel")]
        .iter()
        .map(|(f, name)| {
            format!("<a class=\"button\" id=\"download-{f}\" href=\"/api/v1/jobs/{id}/results?format={f}\" download>{name}</a>")
        })
        .collect();
    let verdicts: String = Verdict::ALL
        .iter()
        .map(|v| format!("<option value=\"{0}\">{0}</option>", v.as_str()))
        .collect();
    let body = format!(
        "<h1 id=\"job-label\">{label}</h1>\
<section class=\"card status\"><div class=\"status-line\"><span id=\"state\" class=\"state {state}\">{state}</span>\
<span id=\"counts\">{done} / {total} done</span><span id=\"hits\"></span><span id=\"eta\"></span></div>\
<progress id=\"bar\" max=\"{total}\" value=\"{done}\"></progress>\
<div id=\"waiting\" class=\"notice warn\" hidden></div><div id=\"notices\"></div>\
<p class=\"muted\" id=\"input-note\">{lines} lines held no hash; {dups} repeated hashes were dropped.</p></section>\
{keys}\
<section class=\"card\"><div id=\"summary\" class=\"summary\"></div>\
<div class=\"toolbar\"><label>Verdict <select id=\"verdict-filter\"><option value=\"\">all</option>{verdicts}</select></label>\
<label>Filter <input type=\"search\" id=\"search\" placeholder=\"hash, name, label, type…\"></label>\
<span id=\"shown\" class=\"muted\"></span><span class=\"downloads\">Download {downloads}</span></div>\
<div class=\"table-wrap\"><table id=\"report\" class=\"report\"><thead><tr>\
<th data-key=\"input\">Hash</th><th data-key=\"verdict\">Verdict</th><th data-key=\"malicious\">Detections</th>\
<th data-key=\"threat_label\">Threat label</th><th data-key=\"type\">Type</th><th data-key=\"meaningful_name\">Name</th>\
<th data-key=\"first_seen\">First seen</th><th data-key=\"last_seen\">Last seen</th><th>VirusTotal</th>\
</tr></thead><tbody id=\"rows\"></tbody></table></div>\
<nav class=\"pager\" id=\"pager\"><button type=\"button\" id=\"prev\">‹ Previous</button><span id=\"page\"></span>\
<button type=\"button\" id=\"next\">Next ›</button></nav></section>\
<form method=\"post\" action=\"/jobs/{id}/delete\" class=\"delete-job\"><button type=\"submit\" class=\"danger\" id=\"delete\">Delete this job</button></form>",
        label = escape(&job.spec.label),
        state = job.state.as_str(),
        done = job.done,
        total = job.total,
        lines = job.spec.lines_without_hash,
        dups = job.spec.duplicates,
        keys = keys_panel(&quota),
    );
    Ok(layout(
        &job.spec.label,
        "job",
        &format!(" data-job=\"{id}\""),
        sign_out(&app),
        &body,
    ))
}

/// Anything else.
pub async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        error_page(StatusCode::NOT_FOUND, "There is no page at this address."),
    )
        .into_response()
}
