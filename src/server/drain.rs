//! Graceful shutdown of served connections: every connection holds a
//! [`Watcher`] for its whole life (parked or serving); [`Drain::shutdown`]
//! tells them all to finish and resolves when the last one has dropped its
//! watcher.
//!
//! hyper-util's `GracefulShutdown` does the same but only for hyper's own
//! connection futures; a parked HTTP/1 connection (see `serve`) is no hyper
//! connection while it waits, and must still be counted and told.

use tokio::sync::watch;

/// The sending side, taken at shutdown.
#[derive(Debug)]
pub struct Drain {
    tx: watch::Sender<()>,
}

/// A connection's view of the drain.
#[derive(Debug)]
pub struct Watcher {
    rx: watch::Receiver<()>,
    told: bool,
}

impl Default for Drain {
    fn default() -> Self {
        Self {
            tx: watch::channel(()).0,
        }
    }
}

impl Drain {
    /// Counts one more connection until the watcher drops.
    pub fn watcher(&self) -> Watcher {
        Watcher {
            rx: self.tx.subscribe(),
            told: false,
        }
    }

    /// Tells every connection to finish; resolves once all have.
    pub async fn shutdown(self) {
        let _ = self.tx.send(());
        self.tx.closed().await;
    }
}

impl Watcher {
    /// Resolves once, when the drain starts (or its sender is gone);
    /// pending forever after that.
    pub async fn told(&mut self) {
        if self.told {
            return std::future::pending().await;
        }
        let _ = self.rx.changed().await;
        self.told = true;
    }

    /// Whether the drain has started.
    pub fn draining(&self) -> bool {
        self.told || self.rx.has_changed().unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn shutdown_tells_every_watcher_and_waits_for_the_last() {
        let drain = Drain::default();
        let (mut a, b) = (drain.watcher(), drain.watcher());
        assert!(!a.draining() && !b.draining());
        let done = tokio::spawn(drain.shutdown());
        a.told().await;
        assert!(a.draining() && b.draining());
        drop(a);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!done.is_finished(), "one watcher is still alive");
        drop(b);
        tokio::time::timeout(Duration::from_secs(5), done)
            .await
            .unwrap()
            .unwrap();
    }
}
