//! Live server state as the balancers see it, and the in-flight guard.

use super::queue::Shared;
use super::{Server, Upstream};
use crate::balance::{ServerLoad, View};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Nanoseconds since the first call in this process: the clock of latency
/// estimates and slow-start ramps. Never 0 once called (0 means "never").
pub fn now_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64 + 1
}

/// The servers' live state at one instant: eligible means healthy, not
/// ejected, under `max_in_flight` and not already tried by this request.
pub struct LiveView<'a> {
    servers: &'a [Server],
    /// Read on first use: most picks never need the clock.
    now_ns: std::cell::OnceCell<u64>,
    /// `max_in_flight`, or u64::MAX without one.
    max: u64,
    /// The slow-start window in ns, 0 without one.
    ramp_ns: u64,
    tried: &'a [usize],
}

impl<'a> LiveView<'a> {
    /// The view a new request picks from.
    pub fn new(upstream: &'a Upstream) -> Self {
        Self {
            servers: &upstream.servers,
            now_ns: std::cell::OnceCell::new(),
            max: upstream.max_in_flight,
            ramp_ns: upstream.slow_start.map_or(0, |d| d.as_nanos() as u64),
            tried: &[],
        }
    }

    /// Eligibility by health alone (no limits, no ramps): keyspace shares.
    pub fn health(servers: &'a [Server]) -> Self {
        Self {
            servers,
            now_ns: std::cell::OnceCell::new(),
            max: u64::MAX,
            ramp_ns: 0,
            tried: &[],
        }
    }

    /// The same view with the servers already tried set aside.
    pub fn without(mut self, tried: &'a [usize]) -> Self {
        self.tried = tried;
        self
    }

    fn now(&self) -> u64 {
        *self.now_ns.get_or_init(now_ns)
    }

    /// Whether some untried server is healthy, full or not.
    pub fn any_healthy(&self) -> bool {
        (0..self.servers.len()).any(|i| !self.tried.contains(&i) && self.servers[i].health.eligible())
    }
}

impl View for LiveView<'_> {
    fn is_eligible(&self, index: usize) -> bool {
        !self.tried.contains(&index)
            && self
                .servers
                .get(index)
                .is_some_and(|s| s.health.eligible() && s.load.in_flight() < self.max)
    }

    fn all_eligible(&self) -> bool {
        self.tried.is_empty()
            && self
                .servers
                .iter()
                .all(|s| s.health.eligible() && s.load.in_flight() < self.max)
    }

    fn in_flight(&self, index: usize) -> u64 {
        self.servers[index].load.in_flight()
    }

    fn latency_ns(&self, index: usize) -> f64 {
        self.servers[index].load.latency_ns(self.now())
    }

    fn ramp(&self, index: usize) -> f64 {
        if self.ramp_ns == 0 {
            return 1.0;
        }
        let since = self.servers[index].health.eligible_since();
        if since == 0 {
            return 1.0;
        }
        ramp(since, self.now(), self.ramp_ns)
    }
}

/// Slow start's share of full weight: 10% when the server became eligible
/// (`since`, 0 = since start-up) rising linearly to 100% after `window_ns`.
pub fn ramp(since: u64, now: u64, window_ns: u64) -> f64 {
    if since == 0 {
        return 1.0;
    }
    let elapsed = now.saturating_sub(since);
    if elapsed >= window_ns {
        return 1.0;
    }
    0.1 + 0.9 * elapsed as f64 / window_ns as f64
}

/// One request in flight to a server: counted from creation until dropped,
/// which the proxy does when the response body ends (or the request fails).
/// In a pool with protections it also frees its slot to the queue's head
/// and, for a retry, its share of the retry budget.
#[derive(Debug)]
pub struct InFlight {
    load: Arc<ServerLoad>,
    started_ns: u64,
    shared: Option<Arc<Shared>>,
    retry: bool,
}

impl InFlight {
    pub fn start(load: &Arc<ServerLoad>) -> Self {
        load.start();
        Self {
            load: load.clone(),
            started_ns: now_ns(),
            shared: None,
            retry: false,
        }
    }

    /// Counts a request on server `index` unless it is at `max` (`retry`:
    /// the caller already counted it in `shared.retries`).
    pub(super) fn try_start(upstream: &Upstream, index: usize, retry: bool) -> Option<Self> {
        let load = &upstream.servers[index].load;
        if !load.try_start(upstream.max_in_flight) {
            return None;
        }
        Some(Self {
            load: load.clone(),
            started_ns: now_ns(),
            shared: upstream.guarded.then(|| upstream.shared.clone()),
            retry,
        })
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
        if let Some(shared) = &self.shared {
            if self.retry {
                shared.retries.fetch_sub(1, Ordering::Relaxed);
            }
            shared.released();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ramp_rises_from_a_tenth_to_full_weight_over_the_window() {
        assert_eq!(ramp(0, 5, 100), 1.0, "eligible since start-up: no ramp");
        assert!((ramp(10, 10, 100) - 0.1).abs() < 1e-9);
        assert!((ramp(10, 60, 100) - 0.55).abs() < 1e-9);
        assert_eq!(ramp(10, 110, 100), 1.0);
    }
}
