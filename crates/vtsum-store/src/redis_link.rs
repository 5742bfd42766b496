//! One Redis connection shared behind a lock, opened on first use and re-opened once per
//! call after a loss, so a restarted server is picked up without restarting vtsum. Every
//! Redis error becomes [`StoreError::Redis`] (inside `vtsum_core::Error::Store`) with the URL shown without its password, its
//! source kept, and whether it means the server is out of reach (an outage to wait out)
//! or refused the command (a bug to fail on).

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use redis::{Connection, FromRedisValue, Script};

use crate::StoreError;
use vtsum_core::error::{Error, Result};

/// A lazily (re)connected Redis connection.
pub(crate) struct Link {
    client: redis::Client,
    conn: Mutex<Option<Connection>>,
    /// The URL without its password, for messages.
    shown: String,
    /// How long a command may take before the server counts as unreachable.
    timeout: Duration,
}

impl Link {
    pub fn new(client: redis::Client, shown: String, timeout: Duration) -> Link {
        Link {
            client,
            conn: Mutex::new(None),
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

    fn connection(&self) -> MutexGuard<'_, Option<Connection>> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
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

    /// Runs `f` on the connection, re-opening it once if it was lost (a server restart).
    pub fn run<T>(&self, f: impl Fn(&mut Connection) -> redis::RedisResult<T>) -> Result<T> {
        let mut guard = self.connection();
        for attempt in 0..2 {
            if guard.is_none() {
                *guard = Some(self.open(self.timeout)?);
            }
            let conn = guard.as_mut().expect("connected above");
            match f(conn) {
                Ok(v) => return Ok(v),
                Err(e) if attempt == 0 && (e.is_io_error() || e.is_connection_dropped()) => {
                    tracing::warn!("Redis connection lost ({e}); reconnecting");
                    *guard = None;
                }
                Err(e) => {
                    if e.is_io_error() || e.is_timeout() {
                        // A half-read reply would poison the next command on this socket.
                        *guard = None;
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
        args: &[String],
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
