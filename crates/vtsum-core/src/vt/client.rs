//! The HTTP side of the VirusTotal client: requests, status codes, bounded bodies.
//!
//! The key travels in the `x-apikey` header (v3) or the `apikey` query parameter (v2, and the
//! quota URL's path). reqwest puts the URL in its error messages, so every error here is
//! rebuilt without the URL: no message this module makes can contain a key.

use std::time::Duration;

use reqwest::StatusCode;

use super::{v2, v3, ApiVersion, ClientConfig, FetchError, FetchResult, RemoteQuota};
use crate::error::{Error, Result};
use crate::hash::Hash;
use crate::key::ApiKey;
use crate::report::Lookup;

/// Largest answer read from VirusTotal.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// A VirusTotal API client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct VtClient {
    pub(super) http: reqwest::Client,
    pub(super) config: ClientConfig,
}

impl VtClient {
    pub fn new(config: ClientConfig) -> Result<VtClient> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(Duration::from_secs(10).min(config.timeout))
            .user_agent(concat!("vtsum/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|source| Error::Http {
                source: source.without_url(),
            })?;
        Ok(VtClient { http, config })
    }

    /// Looks up `hashes` (one for v3, up to four for v2) with `key`.
    pub async fn lookup(&self, key: &ApiKey, hashes: &[Hash]) -> FetchResult {
        match self.config.version {
            ApiVersion::V3 => {
                let [hash] = hashes else {
                    return Err(FetchError::Permanent(
                        "v3 looks up one hash a request".into(),
                    ));
                };
                let url = format!("{}/api/v3/files/{}", self.config.base_url, hash);
                let (status, body) = self
                    .get(self.http.get(url).header("x-apikey", key.expose()))
                    .await?;
                match status {
                    StatusCode::OK => v3::parse_file(&body)
                        .map(|f| vec![(hash.clone(), Lookup::Found(Box::new(f)))])
                        .map_err(FetchError::Transient),
                    StatusCode::NOT_FOUND => Ok(vec![(hash.clone(), Lookup::Unknown)]),
                    _ => Err(v3_error(status, &body, key)),
                }
            }
            ApiVersion::V2 => {
                if hashes.is_empty() || hashes.len() > 4 {
                    return Err(FetchError::Permanent(
                        "v2 looks up one to four hashes a request".into(),
                    ));
                }
                let resources: Vec<&str> = hashes.iter().map(Hash::as_str).collect();
                let url = format!("{}/vtapi/v2/file/report", self.config.base_url);
                let req = self
                    .http
                    .get(url)
                    .query(&[("apikey", key.expose()), ("resource", &resources.join(","))]);
                let (status, body) = self.get(req).await?;
                match status {
                    StatusCode::OK => {
                        v2::parse_reports(&body, hashes).map_err(FetchError::Transient)
                    }
                    _ => Err(v2_error(status, key)),
                }
            }
        }
    }

    /// The key's quota as VirusTotal counts it.
    pub async fn quota(&self, key: &ApiKey) -> Result<RemoteQuota, FetchError> {
        let url = format!(
            "{}/api/v3/users/{}/overall_quotas",
            self.config.base_url,
            key.expose()
        );
        let (status, body) = self
            .get(self.http.get(url).header("x-apikey", key.expose()))
            .await?;
        if status != StatusCode::OK {
            return Err(v3_error(status, &body, key));
        }
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| FetchError::Transient(format!("malformed quota answer: {e}")))?;
        let pair = |name: &str| {
            let user = v.get("data")?.get(name)?.get("user")?;
            Some((user.get("used")?.as_u64()?, user.get("allowed")?.as_u64()?))
        };
        Ok(RemoteQuota {
            hourly: pair("api_requests_hourly"),
            daily: pair("api_requests_daily"),
            monthly: pair("api_requests_monthly"),
        })
    }

    /// Sends a request and reads at most [`MAX_BODY`] bytes of the answer.
    pub(super) async fn get(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, Vec<u8>), FetchError> {
        let transient = |what: &str, e: reqwest::Error| {
            let kind = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "could not connect"
            } else {
                "failed"
            };
            FetchError::Transient(format!("{what} {kind}: {}", e.without_url()))
        };
        let mut resp = req.send().await.map_err(|e| transient("request", e))?;
        let status = resp.status();
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| transient("reading the answer", e))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(FetchError::Transient(
                    "VirusTotal's answer is too large".into(),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
    }
}

/// Maps a v2 status other than 200 to what the scheduler should do.
pub(super) fn v2_error(status: StatusCode, key: &ApiKey) -> FetchError {
    match status {
        StatusCode::NO_CONTENT | StatusCode::TOO_MANY_REQUESTS => FetchError::Quota {
            key: key.id().clone(),
        },
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => FetchError::Rejected {
            key: key.id().clone(),
            status: status.as_u16(),
            message: "the key is wrong or not allowed".into(),
        },
        s if s.is_server_error() => FetchError::Transient(format!("VirusTotal answered HTTP {s}")),
        s => FetchError::Permanent(format!("VirusTotal answered HTTP {s}")),
    }
}

/// Maps a v3 error status and body to what the scheduler should do.
pub(super) fn v3_error(status: StatusCode, body: &[u8], key: &ApiKey) -> FetchError {
    let (code, message) = v3::parse_error(body).unwrap_or_default();
    // Never echo a message that might quote the key back.
    let message = message.replace(key.expose(), "***");
    let detail = if code.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status} {code}: {message}")
    };
    match status {
        StatusCode::TOO_MANY_REQUESTS => FetchError::Quota {
            key: key.id().clone(),
        },
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => FetchError::Rejected {
            key: key.id().clone(),
            status: status.as_u16(),
            message: if code.is_empty() {
                "the key is wrong or not allowed".into()
            } else {
                format!("{code}: {message}")
            },
        },
        StatusCode::BAD_REQUEST if code == "NotAvailableYet" => FetchError::Transient(detail),
        s if s.is_server_error() => FetchError::Transient(detail),
        _ => FetchError::Permanent(detail),
    }
}
