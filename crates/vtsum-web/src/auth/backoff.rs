//! Back-off against guessing the token: a few wrong tokens from one client address are
//! free, then each further one locks that address out for twice as long as the last
//! (1 s, 2 s, 4 s, … up to 15 min). A right token clears the count. Addresses are grouped
//! as one per IPv4 address and one per IPv6 /64 (what one machine usually holds), and the
//! table is bounded so a flood of addresses cannot grow it without limit.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong tokens allowed before the first lock-out.
const FREE_FAILURES: u32 = 5;
/// The longest lock-out.
const MAX_LOCK: Duration = Duration::from_secs(15 * 60);
/// An address with no wrong token for this long starts afresh.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Addresses remembered at most.
const MAX_CLIENTS: usize = 10_000;

#[derive(Clone, Copy)]
struct Record {
    failures: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

/// Wrong tokens per client address.
#[derive(Default)]
pub struct Backoff {
    clients: Mutex<HashMap<IpAddr, Record>>,
}

/// The part of an address that names one client.
fn client(ip: Option<IpAddr>) -> IpAddr {
    match ip {
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut s = v6.segments();
                s[4..].fill(0);
                IpAddr::from(s)
            }
        },
        Some(v4) => v4,
        // No address known (not served from a socket): one shared client.
        None => IpAddr::from([0u8; 4]),
    }
}

impl Backoff {
    fn clients(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Record>> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Err(seconds)` while the address is locked out: how long until it may try again.
    pub fn check(&self, ip: Option<IpAddr>) -> Result<(), u64> {
        let now = Instant::now();
        match self.clients().get(&client(ip)).and_then(|r| r.locked_until) {
            Some(until) if until > now => {
                let left = until - now;
                Err(left.as_secs() + u64::from(left.subsec_nanos() > 0))
            }
            _ => Ok(()),
        }
    }

    /// Counts a wrong token.
    pub fn fail(&self, ip: Option<IpAddr>) {
        let now = Instant::now();
        let mut clients = self.clients();
        if clients.len() >= MAX_CLIENTS {
            clients.retain(|_, r| {
                now.duration_since(r.last) < FORGET_AFTER && r.failures >= FREE_FAILURES
            });
            if clients.len() >= MAX_CLIENTS {
                // Still full of locked-out addresses: forget the oldest one.
                if let Some(oldest) = clients.iter().min_by_key(|(_, r)| r.last).map(|(k, _)| *k) {
                    clients.remove(&oldest);
                }
            }
        }
        let record = clients.entry(client(ip)).or_insert(Record {
            failures: 0,
            last: now,
            locked_until: None,
        });
        if now.duration_since(record.last) >= FORGET_AFTER {
            record.failures = 0;
        }
        record.failures = record.failures.saturating_add(1);
        record.last = now;
        if record.failures >= FREE_FAILURES {
            let doublings = (record.failures - FREE_FAILURES).min(20);
            let lock = Duration::from_secs(1u64 << doublings).min(MAX_LOCK);
            record.locked_until = Some(now + lock);
        }
    }

    /// A right token: the address starts afresh.
    pub fn succeed(&self, ip: Option<IpAddr>) {
        self.clients().remove(&client(ip));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_out_after_the_free_failures_and_one_address_only() {
        let b = Backoff::default();
        let a = Some("198.51.100.1".parse().unwrap());
        for _ in 0..FREE_FAILURES - 1 {
            b.fail(a);
            assert_eq!(b.check(a), Ok(()));
        }
        b.fail(a);
        assert_eq!(b.check(a), Err(1));
        assert_eq!(b.check(Some("198.51.100.2".parse().unwrap())), Ok(()));
        b.fail(a);
        assert_eq!(b.check(a), Err(2));
        b.succeed(a);
        assert_eq!(b.check(a), Ok(()));
    }

    #[test]
    fn an_ipv6_slash_64_is_one_client() {
        let b = Backoff::default();
        for i in 0..FREE_FAILURES {
            b.fail(Some(format!("2001:db8::{i:x}").parse().unwrap()));
        }
        assert!(b.check(Some("2001:db8::ffff:1".parse().unwrap())).is_err());
        assert!(b.check(Some("2001:db8:0:1::1".parse().unwrap())).is_ok());
    }

    #[test]
    fn the_table_stays_bounded() {
        let b = Backoff::default();
        for i in 0..(MAX_CLIENTS as u32 + 50) {
            b.fail(Some(IpAddr::from(i.to_be_bytes())));
        }
        assert!(b.clients().len() <= MAX_CLIENTS);
    }
}
