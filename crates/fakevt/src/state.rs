//! The fake's shared state: configuration, corpus, quotas, faults and counters, and the one
//! gate every API request passes through.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;

use crate::corpus::Corpus;
use crate::faults::{Fault, Faults};
use crate::quota::{KeyQuota, Limits};

/// One request as the fake saw it, timed on the fake's own clock.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Arrival {
    /// Milliseconds since the fake started, when the request arrived.
    pub at_ms: f64,
    pub key: String,
    /// The status answered (a faulted request shows the fault's status; a reset shows 0).
    pub status: u16,
    /// The hashes asked for (lower case).
    pub hashes: Vec<String>,
    /// The URL, domain or IP asked for, as `kind:id` (see [`Counters::requests_by_object`]);
    /// left out of the JSON when empty, so file-only counters read as before.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<String>,
}

/// What the fake has seen, for tests and benchmarks to read.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counters {
    /// Admitted requests per key (a v2 batch counts each hash).
    pub requests_by_key: BTreeMap<String, u64>,
    /// 429s (v2: 204s) per key.
    pub quota_refusals_by_key: BTreeMap<String, u64>,
    /// Requests with a missing or wrong key.
    pub unauthorized: u64,
    /// Times each hash was asked for in an admitted request.
    pub requests_by_hash: BTreeMap<String, u64>,
    /// Times each URL, domain or IP address was asked for in an admitted request, keyed
    /// `url:<sha256 of the URL>`, `domain:<lower-case name>`, `ip_address:<canonical IP>`
    /// (a malformed identifier is counted under its first 100 characters as sent).
    pub requests_by_object: BTreeMap<String, u64>,
    /// Every request with a key, admitted or not, in arrival order.
    pub arrivals: Vec<Arrival>,
    /// `overall_quotas` calls per key: they cost no quota, as on VirusTotal.
    pub quota_calls_by_key: BTreeMap<String, u64>,
}

/// The gate's decision for one request.
pub(crate) enum Gate {
    Unauthorized,
    OverQuota,
    Admitted {
        arrival: usize,
        fault: Option<Fault>,
    },
}

pub(crate) struct State {
    pub keys: Vec<String>,
    pub limits: Limits,
    pub corpus: Corpus,
    pub faults: Faults,
    pub base_url: String,
    started: Instant,
    quotas: Mutex<HashMap<String, KeyQuota>>,
    /// When set, `overall_quotas` answers 403 as for a key without access to it.
    pub hide_figures: std::sync::atomic::AtomicBool,
    /// Daily allowances of keys that differ from `limits.daily` (a premium key, a new
    /// account).
    allowances: Mutex<HashMap<String, u32>>,
    counters: Mutex<Counters>,
    /// Files whose analysis a test changed (`changes.rs`).
    pub(crate) changes: Mutex<HashMap<String, crate::corpus::CorpusFile>>,
}

impl State {
    pub fn new(keys: Vec<String>, limits: Limits, corpus: Corpus, base_url: String) -> State {
        State {
            keys,
            limits,
            corpus,
            faults: Faults::default(),
            base_url,
            started: Instant::now(),
            quotas: Mutex::new(HashMap::new()),
            allowances: Mutex::new(HashMap::new()),
            hide_figures: std::sync::atomic::AtomicBool::new(false),
            counters: Mutex::new(Counters::default()),
            changes: Default::default(),
        }
    }

    fn quotas(&self) -> std::sync::MutexGuard<'_, HashMap<String, KeyQuota>> {
        self.quotas.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn counters_mut(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.counters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks the key and the quota of a file request that arrived at `now`, and counts it.
    pub fn gate(&self, key: Option<&str>, hashes: &[String], now: Instant) -> Gate {
        self.admit(key, hashes, &[], now)
    }

    /// The same for a request about one URL, domain or IP (`kind:id`): it costs one
    /// request of quota, exactly like a file.
    pub fn gate_object(&self, key: Option<&str>, object: &str, now: Instant) -> Gate {
        self.admit(key, &[], &[object.to_string()], now)
    }

    fn admit(
        &self,
        key: Option<&str>,
        hashes: &[String],
        objects: &[String],
        now: Instant,
    ) -> Gate {
        let cost = (hashes.len() + objects.len()).max(1);
        let at_ms = now.duration_since(self.started).as_secs_f64() * 1000.0;
        let Some(key) = key.filter(|k| self.keys.iter().any(|known| known == k)) else {
            let mut c = self.counters_mut();
            c.unauthorized += 1;
            c.arrivals.push(Arrival {
                at_ms,
                key: String::new(),
                status: 401,
                hashes: hashes.to_vec(),
                objects: objects.to_vec(),
            });
            return Gate::Unauthorized;
        };
        // The quota lock is held while counting so arrivals are logged in admission order.
        let daily = self.daily_allowance(key);
        let mut quotas = self.quotas();
        let admitted =
            quotas
                .entry(key.to_string())
                .or_default()
                .admit(&self.limits, daily, now, cost as u32);
        let mut c = self.counters_mut();
        if !admitted {
            *c.quota_refusals_by_key.entry(key.to_string()).or_default() += 1;
            c.arrivals.push(Arrival {
                at_ms,
                key: key.to_string(),
                status: 429,
                hashes: hashes.to_vec(),
                objects: objects.to_vec(),
            });
            return Gate::OverQuota;
        }
        *c.requests_by_key.entry(key.to_string()).or_default() += cost as u64;
        for h in hashes {
            *c.requests_by_hash.entry(h.clone()).or_default() += 1;
        }
        for o in objects {
            *c.requests_by_object.entry(o.clone()).or_default() += 1;
        }
        let fault = self.faults.take();
        c.arrivals.push(Arrival {
            at_ms,
            key: key.to_string(),
            status: 200,
            hashes: hashes.to_vec(),
            objects: objects.to_vec(),
        });
        Gate::Admitted {
            arrival: c.arrivals.len() - 1,
            fault,
        }
    }

    /// Records the status finally answered for an admitted request.
    pub fn answered(&self, arrival: usize, status: u16) {
        if let Some(a) = self.counters_mut().arrivals.get_mut(arrival) {
            a.status = status;
        }
    }

    pub fn counters(&self) -> Counters {
        self.counters_mut().clone()
    }

    pub fn reset(&self) {
        *self.counters_mut() = Counters::default();
        self.quotas().clear();
        self.allowances
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.faults.clear();
        self.changes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    pub fn set_daily_used(&self, key: &str, used: u64) {
        self.quotas()
            .entry(key.to_string())
            .or_default()
            .set_used_today(used);
    }

    pub fn set_month_used(&self, key: &str, used: u64) {
        self.quotas()
            .entry(key.to_string())
            .or_default()
            .set_used_month(used);
    }

    /// Gives `key` its own daily allowance.
    pub fn set_daily_allowance(&self, key: &str, allowed: u32) {
        self.allowances
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string(), allowed);
    }

    /// A key's daily allowance: its preset, else the limits' own.
    fn daily_allowance(&self, key: &str) -> Option<u32> {
        let presets = self.allowances.lock().unwrap_or_else(|e| e.into_inner());
        presets.get(key).copied().or(self.limits.daily)
    }

    /// Counts an `overall_quotas` call.
    pub fn quota_call(&self, key: &str) {
        *self
            .counters_mut()
            .quota_calls_by_key
            .entry(key.to_string())
            .or_default() += 1;
    }

    /// (used, allowed) for the hour, day and month of a key.
    pub fn usage(&self, key: &str) -> [(u64, u64); 3] {
        let daily = self.daily_allowance(key).map_or(u64::MAX, u64::from);
        let mut quotas = self.quotas();
        let q = quotas.entry(key.to_string()).or_default();
        let per_hour = self
            .limits
            .windows
            .iter()
            .map(|(n, w)| (f64::from(*n) * 3600.0 / w.as_secs_f64()) as u64)
            .min()
            .unwrap_or(u64::MAX);
        [
            (q.used_hour(), per_hour.min(daily)),
            (q.used_today(), daily),
            (q.used_month(), daily.saturating_mul(31)),
        ]
    }
}
