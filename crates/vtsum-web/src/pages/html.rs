//! The templates' Rust side: one struct per template under `templates/` holding what that
//! page shows, the escaper every `{{ }}` of those templates goes through, and [`render`],
//! the one place a template becomes a response body.
//!
//! Kept apart from the handlers in [`super`], and free of the crate's other modules but
//! [`crate::view`], so that `error.rs` can render the error page here without importing
//! the handlers (which import the API, which imports `error.rs`).

use std::fmt;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use vtsum_core::report::{iso8601, Verdict};
use vtsum_core::store::JobInfo;

use crate::view::QuotaView;

/// The HTML escaper of every template (`askama.toml` names it for `.html`). It writes the
/// same entities as the pages always have and as `vtsum scan`'s HTML report does, where
/// askama's own would write `&#60;`: links, tests and diffs of the pages stay as they were.
#[derive(Clone, Copy, Debug)]
pub struct Entities;

impl askama::filters::Escaper for Entities {
    fn write_escaped_str<W: fmt::Write>(&self, mut dest: W, text: &str) -> fmt::Result {
        // Plain runs are copied whole; only the five special bytes (all ASCII, so never
        // inside a multi-byte character) are replaced.
        let mut plain = 0;
        for (i, b) in text.bytes().enumerate() {
            let entity = match b {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                _ => continue,
            };
            dest.write_str(&text[plain..i])?;
            dest.write_str(entity)?;
            plain = i + 1;
        }
        dest.write_str(&text[plain..])
    }
}

/// Renders a page into the response body. Its error becomes `WebError::Render` where a
/// handler answers it; this module names no error type of the crate, so that `error.rs`
/// can render its page here without an import loop.
pub fn render(page: &impl Template) -> Result<Html<String>, askama::Error> {
    Ok(Html(page.render()?))
}

/// What the layout (`base.html`) shows around every page.
pub struct Layout<'a> {
    /// Before " · vtsum" in the window title.
    pub title: &'a str,
    /// `data-page`: which page the script is on.
    pub page: &'static str,
    /// `data-job`: the job a job page shows.
    pub job: Option<&'a str>,
    /// The sign-out button: on a server with a token, to a visitor who is signed in.
    pub sign_out: bool,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub layout: Layout<'a>,
    pub message: &'a str,
}

/// A page for an error, with a way back. Never fails: should the template, a plain text
/// answer with the same status and message is given instead.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let page = ErrorPage {
        layout: Layout {
            title: status.canonical_reason().unwrap_or("Error"),
            page: "error",
            job: None,
            sign_out: false,
        },
        message,
    };
    match render(&page) {
        Ok(html) => (status, html).into_response(),
        Err(e) => {
            tracing::error!("the error page failed to render: {e}");
            (status, message.to_string()).into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub layout: Layout<'a>,
    /// Why the last try failed.
    pub problem: Option<&'a str>,
}

/// What the front page says about keys.
pub enum KeyNotice {
    /// This server runs jobs with its own keys: nothing to say.
    Configured,
    /// A web-only replica: the workers on the same Redis hold the keys.
    Replica,
    /// No key anywhere: how to give one.
    Missing,
}

#[derive(Template)]
#[template(path = "front.html")]
pub struct FrontPage<'a> {
    pub layout: Layout<'a>,
    pub key_notice: KeyNotice,
    /// The upload limit in MiB, rounded.
    pub upload_limit_mib: String,
    pub quota: &'a QuotaView,
    pub jobs: Vec<JobRow<'a>>,
}

#[derive(Template)]
#[template(path = "jobs.html")]
pub struct JobsPage<'a> {
    pub layout: Layout<'a>,
    pub jobs: Vec<JobRow<'a>>,
}

/// One job in a list.
pub struct JobRow<'a> {
    pub id: &'a str,
    pub label: &'a str,
    pub state: &'static str,
    pub done: u64,
    pub total: u64,
    /// `YYYY-MM-DD HH:MM:SS`, UTC.
    pub created: String,
}

impl<'a> JobRow<'a> {
    pub fn new(job: &'a JobInfo) -> JobRow<'a> {
        let created = page_time(job.created_at);
        JobRow {
            id: &job.id.0,
            label: &job.spec.label,
            state: job.state.as_str(),
            done: job.done,
            total: job.total,
            created,
        }
    }
}

/// A time as the pages show it: `YYYY-MM-DD HH:MM:SS`, UTC (empty when out of range).
pub fn page_time(unix: i64) -> String {
    iso8601(unix)
        .map(|t| t.replace('T', " ").trim_end_matches('Z').to_string())
        .unwrap_or_default()
}

/// A download of the job page: the `format` the results route takes, and the button's name.
pub struct Download {
    pub format: &'static str,
    pub name: &'static str,
}

#[derive(Template)]
#[template(path = "job.html")]
pub struct JobPage<'a> {
    pub layout: Layout<'a>,
    pub id: &'a str,
    pub label: &'a str,
    pub state: &'static str,
    pub done: u64,
    pub total: u64,
    pub lines_without_hash: u64,
    pub duplicates: u64,
    pub quota: &'a QuotaView,
    /// The verdict filter's choices.
    pub verdicts: &'a [Verdict],
    pub downloads: &'a [Download],
}

#[cfg(test)]
mod tests {
    use super::*;
    use askama::filters::Escaper;

    fn escaped(text: &str) -> String {
        let mut out = String::new();
        Entities.write_escaped_str(&mut out, text).unwrap();
        out
    }

    #[test]
    fn the_escaper_spells_the_five_characters_as_entities_and_keeps_the_rest() {
        assert_eq!(
            escaped(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(escaped("ünïcödé — ✓ <"), "ünïcödé — ✓ &lt;");
        assert_eq!(escaped(""), "");
        assert_eq!(escaped("&&"), "&amp;&amp;");
    }

    /// Every template escapes what it is given: none marks a value safe, which would hand
    /// user or VirusTotal text to the browser's HTML parser.
    #[test]
    fn no_template_marks_a_value_safe() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            for marker in ["|safe", "filtersafe", "(\"none\")", "escape=\"none\""] {
                assert!(!squeezed.contains(marker), "{}: {marker}", path.display());
            }
            seen += 1;
        }
        assert!(
            seen >= 6,
            "the templates were not found in {}",
            dir.display()
        );
    }
}
