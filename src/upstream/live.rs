//! Live server state as the balancers see it, and the in-flight guard.

use super::Server;
use crate::balance::{ServerLoad, View};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Nanoseconds since the first call in this process: the clock of latency estimates.
pub fn now_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// The servers' live load and eligibility (healthy and not ejected) at one instant.
pub struct LiveView<'a> {
    servers: &'a [Server],
    now_ns: u64,
}

impl<'a> LiveView<'a> {
    pub fn new(servers: &'a [Server]) -> Self {
        Self {
            servers,
            now_ns: now_ns(),
        }
    }
}

impl View for LiveView<'_> {
    fn is_eligible(&self, index: usize) -> bool {
        self.servers.get(index).is_some_and(|s| s.health.eligible())
    }

    fn all_eligible(&self) -> bool {
        self.servers.iter().all(|s| s.health.eligible())
    }

    fn in_flight(&self, index: usize) -> u64 {
        self.servers[index].load.in_flight()
    }

    fn latency_ns(&self, index: usize) -> f64 {
        self.servers[index].load.latency_ns(self.now_ns)
    }
}

/// One request in flight to a server: counted from creation until dropped,
/// which the proxy does when the response body ends (or the request fails).
#[derive(Debug)]
pub struct InFlight {
    load: Arc<ServerLoad>,
    started_ns: u64,
}

impl InFlight {
    pub fn start(load: &Arc<ServerLoad>) -> Self {
        load.start();
        Self {
            load: load.clone(),
            started_ns: now_ns(),
        }
    }

    /// Records the time to the response head in the server's latency estimate.
    pub fn response_head(&self) {
        let now = now_ns();
        self.load.observe(now.saturating_sub(self.started_ns), now);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.load.finish();
    }
}
