//! Which sites may talk to the server. A page on another site must not be able to spend
//! the keys' quota or read reports through the user's browser:
//!
//! - **DNS rebinding**: a `Host` must name this server — `localhost`, a loopback address,
//!   the address it listens on (any address when it listens on 0.0.0.0 or ::), or a name
//!   given with `--allowed-host`. A rebinding page sends its own name, so it is refused.
//! - **Cross-site writes**: a POST/PUT/PATCH/DELETE that the browser marks as coming from
//!   another site (`Sec-Fetch-Site`, else an `Origin` that is not this host) is refused,
//!   and so is any request to `/api/v3` (a lookup there spends quota, even as a GET).
//!   Clients that send neither header (curl, scripts) are not browsers and pass.
//!
//! Refusals are 403, JSON on `/api`, a page elsewhere.

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, PageError};
use crate::{App, WebConfig, WebError};

/// The host name of a `Host` value (or a URL's authority), lowercased, without the port
/// or a final dot.
fn host_name(authority: &str) -> String {
    let authority = authority.trim();
    let name = if authority.parse::<IpAddr>().is_ok() {
        authority
    } else if let Some(rest) = authority.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        match authority.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => authority,
        }
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Whether a `Host` value names this server.
fn host_allowed(config: &WebConfig, host: &str) -> bool {
    let name = host_name(host);
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    if let Ok(ip) = name.parse::<IpAddr>() {
        let bound = config.bind.map(|b| b.ip());
        if ip.is_loopback() || bound.is_some_and(|b| b.is_unspecified() || b == ip) {
            return true;
        }
    }
    config
        .allowed_hosts
        .iter()
        .map(|h| host_name(h))
        .any(|h| h == "*" || h == name)
}

/// An `Origin` as `host[:port]`, the scheme's default port left out.
fn origin_authority(origin: &str) -> Option<String> {
    let (scheme, rest) = origin.split_once("://")?;
    let rest = rest.to_ascii_lowercase();
    let default = match scheme.to_ascii_lowercase().as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return Some(rest),
    };
    Some(rest.strip_suffix(default).unwrap_or(&rest).to_string())
}

/// Whether a state-changing request comes from another site, as the browser tells.
fn cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.to_str(), Ok("same-origin") | Ok("none"));
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| {
            let h = h.trim().to_ascii_lowercase();
            // The Host carries the port only when it is not the default one; an Origin
            // leaves the default out too, whichever the scheme.
            h.strip_suffix(":80")
                .or_else(|| h.strip_suffix(":443"))
                .map(str::to_string)
                .unwrap_or(h)
        });
    let origin = origin.to_str().ok().and_then(origin_authority);
    match (origin, host) {
        (Some(origin), Some(host)) => origin != host,
        _ => true,
    }
}

fn refuse(path: &str, message: String) -> Response {
    let e = WebError::Forbidden(message);
    if path.starts_with("/api/") || path == "/metrics" {
        ApiError(e).into_response()
    } else {
        PageError(e).into_response()
    }
}

/// The middleware.
pub async fn check(State(app): State<App>, req: Request, next: Next) -> Response {
    let config = &app.inner.config;
    let path = req.uri().path();
    let hosts = req
        .headers()
        .get_all(header::HOST)
        .iter()
        .map(|h| h.to_str().unwrap_or("\u{fffd}").to_string())
        .chain(req.uri().authority().map(|a| a.to_string()));
    for host in hosts {
        if !host_allowed(config, &host) {
            let shown: String = host_name(&host).chars().take(100).collect();
            return refuse(
                path,
                format!(
                    "this server does not answer to the name {shown:?}: if that name is \
                     yours, start it with --allowed-host {shown} (or VTSUM_ALLOWED_HOSTS)"
                ),
            );
        }
    }
    let safe = matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    // A lookup on the VirusTotal-compatible endpoint spends quota, even as a GET.
    let spends = path.starts_with("/api/v3/");
    if (!safe || spends) && cross_site(req.headers()) {
        return refuse(
            path,
            "cross-site request refused: a page on another site cannot change anything \
             here; use this server's own pages, or an API client (curl, a script)"
                .to_string(),
        );
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_drop_ports_brackets_case_and_the_final_dot() {
        assert_eq!(host_name("LocalHost:8080"), "localhost");
        assert_eq!(host_name("[::1]:8080"), "::1");
        assert_eq!(host_name("example.org."), "example.org");
        assert_eq!(host_name("::1"), "::1");
    }

    #[test]
    fn origins_leave_default_ports_out() {
        assert_eq!(
            origin_authority("http://Localhost:80").as_deref(),
            Some("localhost")
        );
        assert_eq!(
            origin_authority("https://a.example:8443").as_deref(),
            Some("a.example:8443")
        );
        assert_eq!(origin_authority("null"), None);
    }
}
