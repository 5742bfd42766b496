//! Labelled hashes of one file (`MD5=…,SHA256=…`, see [`crate::extract`]) cost one request.
//!
//! A job holds every hash of such a group, strongest and weaker, so the report has a row
//! for each. While the strongest is pending in a run, its weaker hashes are held back;
//! when its answer lands they go back to the queue, where the look at the cache before
//! sending ([`Run::take_ready`](super::run::Run)) answers them from the file VirusTotal
//! just described, at no cost, when its md5 or sha1 is theirs. When VirusTotal's answer
//! disagrees (another file, or unknown), the cache has nothing for the weaker hash and it
//! is looked up on its own, as the issue asks.
//!
//! The groups live in the process that created the job ([`Engine::group_hashes`]), not in
//! the store: a job's spec is read on every progress poll, and a Sysmon export holds
//! thousands of groups. A run elsewhere (a worker, or after a restart) holds nothing
//! back; its weaker hashes still find the strong one's answer in the cache once that has
//! landed, so at worst a group pending at a crash costs its weaker hashes' requests.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use super::run::{Run, Work};
use super::Engine;
use crate::hash::Hash;
use crate::store::JobId;
use crate::target::Target;

/// Weak hash → strong hash, per job created in this process.
#[derive(Debug, Default)]
pub(super) struct Groups(Mutex<HashMap<JobId, Arc<HashMap<Hash, Hash>>>>);

impl Groups {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, Arc<HashMap<Hash, Hash>>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Engine {
    /// Notes that in job `id` each `(strong, weak)` names one file, so runs in this process
    /// send the weak hash only if the strong one's answer does not cover it.
    pub fn group_hashes(&self, id: &JobId, pairs: &[(Hash, Hash)]) {
        if pairs.is_empty() {
            return;
        }
        let map = pairs
            .iter()
            .map(|(strong, weak)| (weak.clone(), strong.clone()))
            .collect();
        self.groups.map().insert(id.clone(), Arc::new(map));
    }

    /// Forgets a job's groups once a run of the whole job is done. (Parts run from a work
    /// queue leave them until the process ends: one map per job created here.)
    pub(super) fn forget_groups(&self, id: &JobId) {
        self.groups.map().remove(id);
    }
}

impl Run<'_> {
    /// Moves out of `queue` the weak hashes whose strong hash is also in it.
    pub(super) fn hold_weak(&mut self, queue: VecDeque<Work>) -> VecDeque<Work> {
        let Some(groups) = self.engine.groups.map().get(&self.job.id).cloned() else {
            return queue;
        };
        let strong: HashSet<&Hash> = groups.values().collect();
        let pending: HashSet<Hash> = queue
            .iter()
            .filter_map(|w| w.target.hash())
            .filter(|h| strong.contains(h))
            .cloned()
            .collect();
        let mut kept = VecDeque::with_capacity(queue.len());
        for work in queue {
            let strong = work.target.hash().and_then(|h| groups.get(h));
            match strong.filter(|s| pending.contains(*s)) {
                Some(strong) => self
                    .held
                    .by_strong
                    .entry(strong.clone())
                    .or_default()
                    .push(work),
                None => kept.push_back(work),
            }
        }
        kept
    }

    /// A hash has its result: the weak hashes waiting for it may go.
    pub(super) fn release_weak(&mut self, target: &Target) {
        let Some(hash) = target.hash() else {
            return;
        };
        if let Some(works) = self.held.by_strong.remove(hash) {
            self.held.released.extend(works);
        }
    }

    /// Puts released weak hashes at the front of the queue. With nothing else left to
    /// wait for, every held one goes too: a strong hash that never lands in this run (its
    /// row was written elsewhere) must not keep its weak ones from their lookups.
    pub(super) fn requeue_weak(&mut self, queue: &mut VecDeque<Work>, idle: bool) {
        if idle {
            let rest: Vec<Work> = self.held.by_strong.drain().flat_map(|(_, w)| w).collect();
            self.held.released.extend(rest);
        }
        for work in self.held.released.drain(..).rev() {
            queue.push_front(work);
        }
    }
}
