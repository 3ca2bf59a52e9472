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

    /// [`Watcher::told`] as a future of its own, to make once and poll
    /// across many waits (a connection's serving loop): a `told()` made per
    /// wait joined and left the channel's waiter list each time, about 270
    /// instructions a request.
    pub fn told_later(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        // a clone has seen what this watcher has seen
        let (mut rx, told) = (self.rx.clone(), self.told);
        async move {
            if told {
                return std::future::pending().await;
            }
            let _ = rx.changed().await;
        }
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

    #[tokio::test]
    async fn a_told_later_future_waits_across_polls_and_holds_the_drain_open() {
        let drain = Drain::default();
        let a = drain.watcher();
        let mut told = Box::pin(a.told_later());
        for _ in 0..3 {
            // polled and set aside, as the serving loop does between requests
            let waited = tokio::time::timeout(Duration::from_millis(10), &mut told).await;
            assert!(waited.is_err(), "no drain yet");
        }
        drop(a);
        assert_eq!(drain.tx.receiver_count(), 1, "the pending future holds the drain open");
        let done = tokio::spawn(drain.shutdown());
        tokio::time::timeout(Duration::from_secs(5), &mut told)
            .await
            .expect("told once the drain starts");
        // its receiver goes with the telling
        tokio::time::timeout(Duration::from_secs(5), done)
            .await
            .unwrap()
            .unwrap();
    }
}
