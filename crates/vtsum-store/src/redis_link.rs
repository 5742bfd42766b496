//! A small pool of Redis connections, opened on need and re-opened once per call after a
//! loss, so a restarted server is picked up without restarting vtsum. Every Redis error
//! becomes [`StoreError::Redis`] (inside `vtsum_core::Error::Store`) with the URL shown
//! without its password, its source kept, and whether it means the server is out of reach
//! (an outage to wait out) or refused the command (a bug to fail on).
//!
//! Why a pool of synchronous connections rather than redis-rs's multiplexed
//! `ConnectionManager`: the `Store` trait is synchronous and its callers already run on
//! blocking threads, so an async connection would need a runtime of its own and a hand-off
//! to it and back for every command (two thread switches per call on a two-core machine),
//! while a pooled connection does its round trip on the calling thread. Each call checks a
//! connection out (the lock is held only to pop or push, never during a round trip), so
//! concurrent requests no longer queue behind one socket; Redis runs one command at a time
//! anyway, so multiplexing would save sockets, not time. Measured (`vtsum-bench
//! redis-conns`, 32 threads fetching a 16 KB value): the pool ~75,000 calls/s, the
//! multiplexed manager driven this way ~67,000, the one connection behind a lock ~18,000;
//! see BENCHMARKS.md.

use std::sync::Mutex;
use std::time::Duration;

use redis::{Connection, FromRedisValue, Script};

use crate::StoreError;
use vtsum_core::error::{Error, Result};

/// Connections kept open between calls: enough for the blocking threads of a small server.
const IDLE: usize = 8;

/// Lazily (re)connected Redis connections.
pub(crate) struct Link {
    client: redis::Client,
    /// Connections not in use, most recently used last.
    idle: Mutex<Vec<Connection>>,
    /// The URL without its password, for messages.
    shown: String,
    /// How long a command may take before the server counts as unreachable.
    timeout: Duration,
}

impl Link {
    pub fn new(client: redis::Client, shown: String, timeout: Duration) -> Link {
        Link {
            client,
            idle: Mutex::new(Vec::new()),
            shown,
            timeout,
        }
    }

    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    pub fn shown(&self) -> &str {
        &self.shown
    }

    pub fn err(&self, e: redis::RedisError) -> Error {
        StoreError::Redis {
            url: self.shown.clone(),
            unreachable: e.is_io_error()
                || e.is_connection_dropped()
                || e.is_connection_refusal()
                || e.is_timeout()
                || e.is_cluster_error()
                // A restarted server answers these until it has loaded its data.
                || matches!(e.code(), Some("LOADING" | "BUSY" | "TRYAGAIN" | "MASTERDOWN")),
            source: e,
        }
        .into()
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Gives a connection that answered back to the pool (or closes it, when enough wait).
    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle();
        if idle.len() < IDLE {
            idle.push(conn);
        }
    }

    /// A new connection of its own (for a subscription), with this link's timeouts.
    pub fn open(&self, read_timeout: Duration) -> Result<Connection> {
        let conn = self
            .client
            .get_connection_with_timeout(self.timeout)
            .map_err(|e| self.err(e))?;
        conn.set_read_timeout(Some(read_timeout))
            .map_err(|e| self.err(e))?;
        conn.set_write_timeout(Some(self.timeout))
            .map_err(|e| self.err(e))?;
        Ok(conn)
    }

    /// Runs `f` on a connection of the pool, re-opening once if it was lost (a server
    /// restart).
    pub fn run<T>(&self, f: impl Fn(&mut Connection) -> redis::RedisResult<T>) -> Result<T> {
        for attempt in 0..2 {
            let idle = self.idle().pop();
            let mut conn = match idle {
                Some(conn) => conn,
                None => self.open(self.timeout)?,
            };
            match f(&mut conn) {
                Ok(v) => {
                    self.give_back(conn);
                    return Ok(v);
                }
                Err(e) if attempt == 0 && (e.is_io_error() || e.is_connection_dropped()) => {
                    tracing::warn!("Redis connection lost ({e}); reconnecting");
                    // The other idle ones were opened before the loss too.
                    self.idle().clear();
                }
                Err(e) => {
                    // A half-read reply would poison the next command on this socket, so
                    // only a connection that got a whole answer (an error reply) goes back.
                    if !(e.is_io_error() || e.is_timeout() || e.is_connection_dropped()) {
                        self.give_back(conn);
                    }
                    return Err(self.err(e));
                }
            }
        }
        unreachable!("the second attempt returns")
    }

    /// Runs a Lua script with the key prefix as `ARGV[1]` and `args` after it.
    pub fn script<T: FromRedisValue>(
        &self,
        source: &str,
        prefix: &str,
        args: &[impl redis::ToRedisArgs],
    ) -> Result<T> {
        let script = Script::new(source);
        self.run(|c| {
            let mut inv = script.prepare_invoke();
            inv.arg(prefix);
            for a in args {
                inv.arg(a);
            }
            inv.invoke(c)
        })
    }
}

/// `redis://:secret@host/0` → `redis://:***@host/0`.
pub(crate) fn hide_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_hidden_in_messages() {
        assert_eq!(
            super::hide_password("redis://:hunter2@cache:6379/0"),
            "redis://***@cache:6379/0"
        );
        assert_eq!(
            super::hide_password("redis://127.0.0.1/1"),
            "redis://127.0.0.1/1"
        );
    }
}
