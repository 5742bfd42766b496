//! The tools allowed on the VirusTotal-compatible endpoint, and what each has used today.
//!
//! Each tool gets its own vtsum client token (`--client-token NAME=TOKEN`, or a file of such
//! lines): it goes in vt-py's `apikey`, curl's `x-apikey`, a playbook's setting. The
//! VirusTotal keys never leave vtsum. Without any client token, only loopback clients are
//! served (named `local`).
//!
//! Use is counted per client and UTC day in the store's ledger, beside the keys' own
//! counts (ids `client:NAME:lookups|cache_hits|upstream`, which no key id can take: those
//! are 8 hex digits), so `vtsum quota` and every process on the store see the same
//! figures, and a per-client daily cap on upstream requests holds across processes.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use axum::http::HeaderMap;
use vtsum_core::key::KeyId;
use vtsum_core::quota::utc_day;
use vtsum_core::store::Store;

use super::error::V3Error;
use crate::auth::Access;

/// Longest client name.
const MAX_NAME: usize = 64;
/// Shortest client token: a guessable one would be a key to the team's quota.
const MIN_TOKEN: usize = 16;
/// Longest client token.
const MAX_TOKEN: usize = 256;

/// One tool's token.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientToken {
    pub name: String,
    token: String,
    /// Upstream requests this client may cause per UTC day (`None`: no cap).
    pub daily_cap: Option<u64>,
}

impl fmt::Debug for ClientToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientToken")
            .field("name", &self.name)
            .field("token", &"***")
            .field("daily_cap", &self.daily_cap)
            .finish()
    }
}

/// A client token that cannot be used. Never shows the token.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClientTokenError {
    #[error("{where_}: a client token is NAME=TOKEN (e.g. soar=$(openssl rand -hex 24))")]
    Shape { where_: String },
    #[error("{where_}: the client name {name:?} must be 1 to {MAX_NAME} letters, digits, '-', '_' or '.'")]
    Name { where_: String, name: String },
    #[error("{where_}: the token of client {name:?} must be {MIN_TOKEN} to {MAX_TOKEN} visible ASCII characters without spaces (try `openssl rand -hex 24`)")]
    Token { where_: String, name: String },
    #[error("client {name:?} is given twice: each tool gets one name and one token")]
    DuplicateName { name: String },
    #[error("clients {first:?} and {second:?} have the same token: give each tool its own")]
    DuplicateToken { first: String, second: String },
    #[error("--client-cap {spec:?}: a cap is NAME=N, N requests a UTC day, for a client given by --client-token")]
    Cap { spec: String },
}

impl ClientToken {
    /// Parses `NAME=TOKEN`; `where_` names the source in errors (`--client-token`,
    /// `tokens.txt line 3`).
    pub fn parse(spec: &str, where_: &str) -> Result<ClientToken, ClientTokenError> {
        let where_ = where_.to_string();
        let Some((name, token)) = spec.trim().split_once('=') else {
            return Err(ClientTokenError::Shape { where_ });
        };
        let (name, token) = (name.trim(), token.trim());
        if !valid_name(name) {
            let name = name.chars().take(MAX_NAME + 1).collect();
            return Err(ClientTokenError::Name { where_, name });
        }
        let token_ok = (MIN_TOKEN..=MAX_TOKEN).contains(&token.len())
            && token.bytes().all(|b| b.is_ascii_graphic());
        if !token_ok {
            let name = name.to_string();
            return Err(ClientTokenError::Token { where_, name });
        }
        Ok(ClientToken {
            name: name.to_string(),
            token: token.to_string(),
            daily_cap: None,
        })
    }

    /// Parses a file of `NAME=TOKEN` lines (blank lines and `#` comments skipped).
    pub fn parse_file(text: &str, file: &str) -> Result<Vec<ClientToken>, ClientTokenError> {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(|(i, l)| ClientToken::parse(l, &format!("{file} line {}", i + 1)))
            .collect()
    }

    /// Checks that names and tokens are unique, and applies `NAME=N` caps.
    pub fn finish(
        mut clients: Vec<ClientToken>,
        caps: &[String],
    ) -> Result<Vec<ClientToken>, ClientTokenError> {
        for (i, a) in clients.iter().enumerate() {
            for b in &clients[..i] {
                if a.name == b.name {
                    return Err(ClientTokenError::DuplicateName {
                        name: a.name.clone(),
                    });
                }
                if a.token == b.token {
                    return Err(ClientTokenError::DuplicateToken {
                        first: b.name.clone(),
                        second: a.name.clone(),
                    });
                }
            }
        }
        for spec in caps {
            let bad = || ClientTokenError::Cap { spec: spec.clone() };
            let (name, n) = spec.split_once('=').ok_or_else(bad)?;
            let n: u64 = n.trim().parse().map_err(|_| bad())?;
            let client = clients
                .iter_mut()
                .find(|c| c.name == name.trim())
                .ok_or_else(bad)?;
            client.daily_cap = Some(n);
        }
        Ok(clients)
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// The client a request came from.
#[derive(Debug, Clone)]
pub struct Client {
    pub name: String,
    pub daily_cap: Option<u64>,
}

/// Who is asking: the client whose token is in `x-apikey`, or, without client tokens, a
/// loopback caller.
pub fn admit(
    clients: &[ClientToken],
    access: &Access,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> Result<Client, V3Error> {
    if clients.is_empty() {
        // A test's in-process router has no peer: it is this process itself.
        return match peer {
            Some(ip) if !ip.is_loopback() => Err(V3Error::forbidden(
                "this server answers the VirusTotal-compatible API on loopback only: start it \
                 with --client-token NAME=TOKEN to let other machines in",
            )),
            _ => Ok(Client {
                name: "local".to_string(),
                daily_cap: None,
            }),
        };
    }
    let presented = headers
        .get("x-apikey")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(V3Error::authentication_required)?;
    let tokens = clients.iter().map(|c| c.token.as_str());
    match access.match_token(peer, presented, tokens) {
        Ok(Some(i)) => Ok(Client {
            name: clients[i].name.clone(),
            daily_cap: clients[i].daily_cap,
        }),
        Ok(None) => Err(V3Error::wrong_credentials()),
        Err(retry_after) => Err(V3Error::too_many_attempts(retry_after)),
    }
}

/// What a client's use is counted as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Use {
    /// Any lookup.
    Lookup,
    /// Answered without a request of its own.
    CacheHit,
    /// Answered by a request to VirusTotal.
    Upstream,
}

impl Use {
    const ALL: [Use; 3] = [Use::Lookup, Use::CacheHit, Use::Upstream];

    fn as_str(self) -> &'static str {
        match self {
            Use::Lookup => "lookups",
            Use::CacheHit => "cache_hits",
            Use::Upstream => "upstream",
        }
    }
}

/// Lookups and cache hits counted in memory and written to the ledger at most once a
/// second: two store writes per cached lookup would cap the endpoint at the store's write
/// rate (1,614 lookups/s on SQLite, against 11,625 for the same read without them).
/// Upstream requests are written at once (they are few, and caps read them). A process
/// killed hard loses at most a second of lookup and hit counts, never a request's.
#[derive(Debug, Default)]
pub struct Tally {
    pending: std::sync::Mutex<Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    counts: BTreeMap<(String, Use), u64>,
    written_at: Option<std::time::Instant>,
}

/// Counts to add to the ledger: (client, use, n).
pub type Batch = Vec<(String, Use, u64)>;

/// How often pending counts are written.
const TALLY_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl Tally {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        // Counters only: a panicked holder left whole numbers behind.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one use; returns what to write when a second has passed since the last
    /// write.
    pub fn add(&self, name: &str, what: Use, now: std::time::Instant) -> Option<Batch> {
        let mut p = self.lock();
        *p.counts.entry((name.to_string(), what)).or_default() += 1;
        let due = p
            .written_at
            .is_none_or(|t| now.duration_since(t) >= TALLY_EVERY);
        due.then(|| {
            p.written_at = Some(now);
            take(&mut p)
        })
    }

    /// Everything not yet written (before the figures are read, and at shutdown).
    pub fn take(&self) -> Batch {
        take(&mut self.lock())
    }
}

fn take(p: &mut Pending) -> Batch {
    std::mem::take(&mut p.counts)
        .into_iter()
        .map(|((name, what), n)| (name, what, n))
        .collect()
}

/// Adds a batch of counts to today's ledger. Store writes: call it off the async threads.
pub fn write(store: &dyn Store, batch: &Batch) -> vtsum_core::Result<()> {
    let day = utc_day();
    for (name, what, n) in batch {
        store.ledger_add(&ledger_id(name, *what), &day, *n)?;
    }
    Ok(())
}

fn ledger_id(name: &str, what: Use) -> KeyId {
    KeyId(format!("client:{name}:{}", what.as_str()))
}

/// Counts one use by `name` today. One store write: call it off the async threads.
pub fn count(store: &dyn Store, name: &str, what: Use) -> vtsum_core::Result<u64> {
    store.ledger_add(&ledger_id(name, what), &utc_day(), 1)
}

/// Upstream requests `name` caused today.
pub fn upstream_today(store: &dyn Store, name: &str) -> vtsum_core::Result<u64> {
    store.ledger_used(&ledger_id(name, Use::Upstream), &utc_day())
}

/// Today's use per client: lookups, cache hits, upstream requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ClientUse {
    pub lookups: u64,
    pub cache_hits: u64,
    pub upstream: u64,
}

/// Every client's use today, by name.
pub fn today(store: &dyn Store) -> vtsum_core::Result<BTreeMap<String, ClientUse>> {
    let mut out: BTreeMap<String, ClientUse> = BTreeMap::new();
    for (id, n) in store.ledger_day(&utc_day())? {
        let Some(rest) = id.0.strip_prefix("client:") else {
            continue;
        };
        let Some((name, what)) = rest.rsplit_once(':') else {
            continue;
        };
        // Names are checked when configured; one that is not a name never reaches a
        // terminal or a metrics label.
        if !valid_name(name) {
            continue;
        }
        let Some(what) = Use::ALL.into_iter().find(|u| u.as_str() == what) else {
            continue;
        };
        let entry = out.entry(name.to_string()).or_default();
        match what {
            Use::Lookup => entry.lookups = n,
            Use::CacheHit => entry.cache_hits = n,
            Use::Upstream => entry.upstream = n,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_and_errors_never_show_the_token() {
        let c = ClientToken::parse("soar = 0123456789abcdef0123", "--client-token").unwrap();
        assert_eq!(c.name, "soar");
        assert!(!format!("{c:?}").contains("0123456789abcdef"));
        let e = ClientToken::parse("soar=short-secret", "--client-token").unwrap_err();
        assert!(matches!(e, ClientTokenError::Token { .. }));
        assert!(!e.to_string().contains("short-secret"));
        let e = ClientToken::parse("no token here", "f line 2").unwrap_err();
        assert_eq!(e.to_string().split(':').next(), Some("f line 2"));
        let e = ClientToken::parse("a b=0123456789abcdef0123", "x").unwrap_err();
        assert!(matches!(e, ClientTokenError::Name { .. }));
    }

    #[test]
    fn files_skip_comments_and_duplicates_are_refused() {
        let text = "# tools\n\nsoar=0123456789abcdef0123\nnotebook=fedcba9876543210fedc\n";
        let clients = ClientToken::parse_file(text, "tokens.txt").unwrap();
        assert_eq!(clients.len(), 2);
        let capped = ClientToken::finish(clients.clone(), &["soar=40".into()]).unwrap();
        assert_eq!(capped[0].daily_cap, Some(40));
        assert!(ClientToken::finish(clients.clone(), &["nobody=4".into()]).is_err());
        let mut twice = clients.clone();
        twice.push(ClientToken::parse("soar=aaaaaaaaaaaaaaaaaaaa", "x").unwrap());
        assert!(matches!(
            ClientToken::finish(twice, &[]),
            Err(ClientTokenError::DuplicateName { .. })
        ));
        let mut same = clients;
        same.push(ClientToken::parse("other=0123456789abcdef0123", "x").unwrap());
        assert!(matches!(
            ClientToken::finish(same, &[]),
            Err(ClientTokenError::DuplicateToken { .. })
        ));
    }

    #[test]
    fn the_tally_writes_at_most_once_a_second_and_loses_nothing() {
        let tally = Tally::default();
        let t0 = std::time::Instant::now();
        let first = tally
            .add("a", Use::Lookup, t0)
            .expect("the first add writes");
        assert_eq!(first, vec![("a".to_string(), Use::Lookup, 1)]);
        assert!(tally.add("a", Use::Lookup, t0).is_none());
        assert!(tally.add("a", Use::CacheHit, t0).is_none());
        let later = t0 + TALLY_EVERY;
        let batch = tally.add("b", Use::Lookup, later).expect("a second later");
        assert_eq!(batch.len(), 3, "{batch:?}");
        assert!(batch.contains(&("a".to_string(), Use::Lookup, 1)));
        assert!(tally.add("b", Use::Lookup, later).is_none());
        assert_eq!(tally.take(), vec![("b".to_string(), Use::Lookup, 1)]);
        assert!(tally.take().is_empty());
    }

    #[test]
    fn without_tokens_only_loopback_is_admitted() {
        let access = Access::new(None);
        let h = HeaderMap::new();
        let local = admit(&[], &access, &h, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(local.unwrap().name, "local");
        let far = admit(&[], &access, &h, Some("192.0.2.7".parse().unwrap()));
        assert_eq!(far.unwrap_err().code(), "ForbiddenError");
    }

    #[test]
    fn tokens_name_the_client() {
        let access = Access::new(None);
        let clients = vec![
            ClientToken::parse("a=aaaaaaaaaaaaaaaaaaaa", "x").unwrap(),
            ClientToken::parse("b=bbbbbbbbbbbbbbbbbbbb", "x").unwrap(),
        ];
        let peer = Some("192.0.2.7".parse().unwrap());
        let mut h = HeaderMap::new();
        let missing = admit(&clients, &access, &h, peer).unwrap_err();
        assert_eq!(missing.code(), "AuthenticationRequiredError");
        h.insert("x-apikey", "bbbbbbbbbbbbbbbbbbbb".parse().unwrap());
        assert_eq!(admit(&clients, &access, &h, peer).unwrap().name, "b");
        h.insert("x-apikey", "cccccccccccccccccccc".parse().unwrap());
        let wrong = admit(&clients, &access, &h, peer).unwrap_err();
        assert_eq!(wrong.code(), "WrongCredentialsError");
    }
}
