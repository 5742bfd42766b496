//! Empties the outbox: each delivery claimed for a while (so a second process does not
//! send it too), POSTed, then marked delivered when the receiver answers 2xx, or tried
//! again later with backoff when it does not or cannot be reached.
//!
//! Exactly once, as far as HTTP allows: a change is delivered until a receiver accepts it
//! and never after that is recorded. The one window left is a crash between the
//! receiver's answer and that record (milliseconds): the repeat then carries the same
//! [`super::alert::DELIVERY_HEADER`], which a receiver can use to drop it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::alert::{self, DELIVERY_HEADER, SIGNATURE_HEADER};
use super::{HookId, WatchStore};
use crate::error::{Error, Result};
use crate::store::off_runtime;

/// How long one POST may take.
pub const POST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a claimed delivery is ours before another sender may take it (a sender
/// killed mid-POST leaves it claimed that long): `VTSUM_WEBHOOK_CLAIM` seconds, else a
/// minute. Shorter than a POST may take ([`POST_TIMEOUT`]), two senders could both send
/// one delivery: only for tests and a single sender.
fn claim_secs() -> i64 {
    std::env::var("VTSUM_WEBHOOK_CLAIM")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map_or(60, |s| s.clamp(1, 3600))
}
/// The first retry's delay; each failure doubles it, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: i64 = 15;
const MAX_BACKOFF: i64 = 3600;

/// A webhook to deliver to: its URL is a secret and never printed.
#[derive(Clone)]
pub struct Webhook {
    url: reqwest::Url,
    id: HookId,
}

impl Webhook {
    /// A webhook from its URL (http or https).
    pub fn parse(url: &str) -> std::result::Result<Webhook, String> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| format!("a webhook URL must be http:// or https:// ({e})"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err("a webhook URL must be http:// or https:// with a host".into());
        }
        Ok(Webhook {
            id: HookId::of(url),
            url: parsed,
        })
    }

    pub fn id(&self) -> &HookId {
        &self.id
    }

    /// What messages may say of it: its host and its id, never its path (a Slack
    /// webhook's path is its credential).
    pub fn shown(&self) -> String {
        format!("{} ({})", self.url.host_str().unwrap_or("?"), self.id.0)
    }
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Webhook({})", self.shown())
    }
}

/// `--webhook-secret`: kept out of `Debug`.
#[derive(Clone)]
pub struct Secret(pub Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// What one pass over the outbox did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sent {
    pub delivered: u64,
    pub failed: u64,
}

/// The first retry's delay: `VTSUM_WEBHOOK_BACKOFF` seconds (tests and impatient
/// operators), else [`FIRST_BACKOFF`].
fn first_backoff() -> i64 {
    std::env::var("VTSUM_WEBHOOK_BACKOFF")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map_or(FIRST_BACKOFF, |s| s.clamp(0, MAX_BACKOFF))
}

/// The wait before the attempt after `attempts` failed ones, the first being `first`.
pub fn backoff(attempts: u32, first: i64) -> i64 {
    first
        .saturating_mul(1i64 << attempts.saturating_sub(1).min(20))
        .min(MAX_BACKOFF)
}

/// Delivers what is due now to `hooks`, until nothing is.
pub async fn deliver_due(
    store: Arc<dyn WatchStore>,
    http: &reqwest::Client,
    hooks: &[Webhook],
    secret: Option<&Secret>,
) -> Result<Sent> {
    let mut sent = Sent::default();
    if hooks.is_empty() {
        return Ok(sent);
    }
    let ids: Vec<HookId> = hooks.iter().map(|h| h.id.clone()).collect();
    loop {
        let now = crate::engine::now_unix();
        let claimed = {
            let (store, ids) = (store.clone(), ids.clone());
            off_runtime("claiming webhook deliveries", move || {
                store.outbox_claim(&ids, now, now + claim_secs(), 32)
            })
            .await?
        };
        if claimed.is_empty() {
            return Ok(sent);
        }
        for delivery in claimed {
            let Some(hook) = hooks.iter().find(|h| h.id == delivery.hook) else {
                continue;
            };
            let body = alert::body(&delivery.change);
            let mut req = http
                .post(hook.url.clone())
                .timeout(POST_TIMEOUT)
                .header("content-type", "application/json")
                .header(DELIVERY_HEADER, alert::delivery_id(&delivery.change));
            if let Some(secret) = secret {
                req = req.header(
                    SIGNATURE_HEADER,
                    alert::signature(&secret.0, body.as_bytes()),
                );
            }
            let outcome = match req.body(body).send().await {
                Ok(res) if res.status().is_success() => Ok(()),
                Ok(res) => Err(format!("{} answered {}", hook.shown(), res.status())),
                // Without the URL: reqwest's message would print it.
                Err(e) => Err(format!(
                    "{} could not be reached ({})",
                    hook.shown(),
                    if e.is_timeout() {
                        "timed out"
                    } else {
                        "connection failed"
                    }
                )),
            };
            let store = store.clone();
            let id = delivery.id;
            let attempts = delivery.attempts + 1;
            match outcome {
                Ok(()) => {
                    sent.delivered += 1;
                    off_runtime("recording a delivery", move || {
                        store.outbox_delivered(id, crate::engine::now_unix())
                    })
                    .await?
                }
                Err(why) => {
                    sent.failed += 1;
                    let retry_at = crate::engine::now_unix() + backoff(attempts, first_backoff());
                    off_runtime("recording a failed delivery", move || {
                        store.outbox_failed(id, retry_at, &why)
                    })
                    .await?
                }
            }
        }
        if sent.failed > 0 {
            // What failed waits for its backoff; the rest of the pass goes on next time.
            return Ok(sent);
        }
    }
}

/// The webhooks of a process, with their client and secret.
pub struct Sender {
    http: reqwest::Client,
    hooks: Vec<Webhook>,
    secret: Option<Secret>,
}

impl Sender {
    pub fn new(hooks: Vec<Webhook>, secret: Option<Secret>) -> Result<Sender> {
        Ok(Sender {
            http: client()?,
            hooks,
            secret,
        })
    }

    pub fn hook_ids(&self) -> Vec<HookId> {
        self.hooks.iter().map(|h| h.id.clone()).collect()
    }

    /// [`deliver_due`] to these webhooks.
    pub async fn deliver_due(&self, store: Arc<dyn WatchStore>) -> Result<Sent> {
        deliver_due(store, &self.http, &self.hooks, self.secret.as_ref()).await
    }
}

/// The HTTP client for webhooks: no redirects (a receiver's redirect is not followed with
/// the body and the signature), bounded connect time.
pub fn client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("vtsum/", env!("CARGO_PKG_VERSION"), " (webhooks)"))
        .build()
        .map_err(|source| Error::Http { source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_an_hour() {
        assert_eq!(backoff(1, FIRST_BACKOFF), 15);
        assert_eq!(backoff(2, FIRST_BACKOFF), 30);
        assert_eq!(backoff(3, FIRST_BACKOFF), 60);
        assert_eq!(backoff(40, FIRST_BACKOFF), 3600);
        assert_eq!(backoff(3, 0), 0);
    }

    #[test]
    fn a_webhook_is_never_shown_with_its_path() {
        let hook = Webhook::parse("https://hooks.slack.com/services/T0/B0/SECRET").unwrap();
        assert!(!format!("{hook:?}").contains("SECRET"));
        assert!(!hook.shown().contains("SECRET"));
        assert!(Webhook::parse("file:///etc/passwd").is_err());
        assert!(!format!("{:?}", Secret(b"s3cret".to_vec())).contains("s3cret"));
    }
}
