//! Login sessions, kept in memory: the cookie holds a random 256-bit id; the server keeps
//! only its SHA-256 and when it expires, so a session can be signed out (`POST /logout`)
//! and expires on its own. A restart signs everyone out. The table is bounded: when full,
//! expired sessions go first, then the oldest.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::WebError;

/// Sessions kept at most.
const MAX_SESSIONS: usize = 10_000;

pub struct Sessions {
    ttl: Duration,
    by_digest: Mutex<HashMap<[u8; 32], Instant>>,
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl Sessions {
    pub fn new(ttl: Duration) -> Sessions {
        Sessions {
            ttl,
            by_digest: Mutex::new(HashMap::new()),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Instant>> {
        self.by_digest.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new session; returns the id the cookie carries.
    pub fn create(&self) -> Result<String, WebError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(WebError::NoRandomness)?;
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let now = Instant::now();
        let mut table = self.table();
        if table.len() >= MAX_SESSIONS {
            table.retain(|_, until| *until > now);
            if table.len() >= MAX_SESSIONS {
                if let Some(oldest) = table.iter().min_by_key(|(_, u)| **u).map(|(k, _)| *k) {
                    table.remove(&oldest);
                }
            }
        }
        table.insert(digest(&id), now + self.ttl);
        Ok(id)
    }

    /// Whether the id is a live session (looked up by its digest, so the lookup's timing
    /// says nothing about valid ids).
    pub fn valid(&self, id: &str) -> bool {
        let key = digest(id);
        let mut table = self.table();
        match table.get(&key) {
            Some(until) if *until > Instant::now() => true,
            Some(_) => {
                table.remove(&key);
                false
            }
            None => false,
        }
    }

    /// Ends a session.
    pub fn remove(&self, id: &str) {
        self.table().remove(&digest(id));
    }
}
