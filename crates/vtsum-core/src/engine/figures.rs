//! Reading VirusTotal's quota figures for the keys that want them: before a run's first
//! request (so a key used elsewhere today is known before it is spent) and after a
//! refusal. The `overall_quotas` call costs no lookup quota; it runs beside the requests,
//! never holding the pool's lock across the network.

use std::sync::Arc;

use tokio::task::JoinSet;

use super::Engine;
use crate::error::Result;
use crate::key::KeyId;
use crate::vt::{RemoteQuota, VtClient};

/// One key's figures, or why they could not be read.
pub type FiguresRead = (KeyId, std::result::Result<RemoteQuota, String>);

impl Engine {
    /// Starts reading the figures of every key that wants them; each lands in `reads`.
    /// Returns whether any read started.
    pub(super) fn start_figures(&self, reads: &mut JoinSet<FiguresRead>) -> bool {
        let keys = self.pool().wants_figures();
        if keys.is_empty() {
            return false;
        }
        // Marked as being read, so the next pass does not start them again.
        for key in &keys {
            self.pool().figures_pending(key.id());
        }
        for key in keys {
            let client: Arc<VtClient> = self.client.clone();
            reads.spawn(async move {
                let read = client.quota(&key).await.map_err(|e| e.to_string());
                (key.id().clone(), read)
            });
        }
        true
    }

    /// Applies one key's figures (or why they could not be read) to the pool.
    pub async fn apply_figures(&self, (key, read): FiguresRead) -> Result<()> {
        // The ledger is read outside the pool's lock (runs take leases meanwhile), on a
        // blocking thread.
        let ledger = {
            let key = key.clone();
            crate::store::blocking(&self.store, move |s| {
                s.ledger_used(&key, &crate::quota::utc_day())
            })
            .await?
        };
        self.pool().apply_figures(&key, read, ledger);
        Ok(())
    }

    /// Reads the figures of every key that wants them and waits for all of them.
    pub(super) async fn read_figures(&self) -> Result<()> {
        let mut reads = JoinSet::new();
        if !self.start_figures(&mut reads) {
            return Ok(());
        }
        while let Some(read) = reads.join_next().await {
            match read {
                Ok(read) => self.apply_figures(read).await?,
                Err(e) => tracing::debug!("quota figures task failed: {e}"),
            }
        }
        Ok(())
    }
}
