//! A cancellation signal that a front end (Ctrl-C, a web request) gives a running job.

use tokio::sync::watch;

/// Cloneable; `cancel()` on any clone stops every run holding one.
#[derive(Debug, Clone)]
pub struct Cancel {
    tx: std::sync::Arc<watch::Sender<bool>>,
}

impl Default for Cancel {
    fn default() -> Self {
        Cancel::new()
    }
}

impl Cancel {
    pub fn new() -> Cancel {
        Cancel {
            tx: std::sync::Arc::new(watch::channel(false).0),
        }
    }

    /// Asks every run holding this signal to stop after its requests in flight.
    pub fn cancel(&self) {
        self.tx.send_replace(true);
    }

    pub fn is_cancelled(&self) -> bool {
        *self.tx.borrow()
    }

    /// Resolves once cancelled.
    pub async fn cancelled(&self) {
        let mut rx = self.tx.subscribe();
        // An error means the sender is gone, which cannot happen while `self` holds it.
        let _ = rx.wait_for(|&c| c).await;
    }
}
