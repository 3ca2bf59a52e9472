//! Per-server load: in-flight requests and a peak-EWMA latency estimate.
//!
//! Atomics only, no clock: callers pass the time (nanoseconds since any fixed
//! epoch) so the decay is testable. One `ServerLoad` per server is shared by
//! the in-flight guard, the load-aware algorithms and the in-flight gauge.

use std::sync::atomic::{AtomicU64, Ordering};

/// Decay period of the latency estimate (linkerd and Finagle use 10 s).
pub const DECAY_NS: f64 = 10e9;

/// Live load of one server.
#[derive(Debug, Default)]
pub struct ServerLoad {
    in_flight: AtomicU64,
    /// Requests started, ever (kept across reloads).
    requests: AtomicU64,
    /// Peak-EWMA round-trip estimate in ns, as f64 bits; 0 until observed.
    ewma_bits: AtomicU64,
    /// When the estimate was last updated, ns.
    stamp_ns: AtomicU64,
}

impl ServerLoad {
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Requests started so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// One more request in flight; pair with [`ServerLoad::finish`].
    pub fn start(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// One more request in flight unless `max` are already; pair a success
    /// with [`ServerLoad::finish`].
    pub fn try_start(&self, max: u64) -> bool {
        if max == u64::MAX {
            self.start();
            return true;
        }
        let taken = self
            .in_flight
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| (n < max).then_some(n + 1));
        if taken.is_ok() {
            self.requests.fetch_add(1, Ordering::Relaxed);
        }
        taken.is_ok()
    }

    /// One request fewer in flight (saturating at zero).
    pub fn finish(&self) {
        let _ = self
            .in_flight
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    /// Records an observed round trip: a slower one than the estimate replaces
    /// it at once (peak); a faster one is blended in with weight decaying over
    /// `DECAY_NS` since the last update.
    pub fn observe(&self, rtt_ns: u64, now_ns: u64) {
        let raw = f64::from_bits(self.ewma_bits.load(Ordering::Relaxed));
        let rtt = rtt_ns as f64;
        let next = if rtt > raw {
            rtt
        } else {
            let elapsed = now_ns.saturating_sub(self.stamp_ns.load(Ordering::Relaxed)) as f64;
            let w = (-elapsed / DECAY_NS).exp();
            raw * w + rtt * (1.0 - w)
        };
        self.ewma_bits.store(next.to_bits(), Ordering::Relaxed);
        self.stamp_ns.store(now_ns, Ordering::Relaxed);
    }

    /// The estimate at `now_ns`, decayed toward zero since the last update so
    /// a server that was slow once is tried again after a while.
    pub fn latency_ns(&self, now_ns: u64) -> f64 {
        let ewma = f64::from_bits(self.ewma_bits.load(Ordering::Relaxed));
        if ewma == 0.0 {
            return 0.0;
        }
        let elapsed = now_ns.saturating_sub(self.stamp_ns.load(Ordering::Relaxed)) as f64;
        ewma * (-elapsed / DECAY_NS).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_counts_and_saturates() {
        let l = ServerLoad::default();
        l.start();
        l.start();
        l.finish();
        assert_eq!(l.in_flight(), 1);
        l.finish();
        l.finish();
        assert_eq!(l.in_flight(), 0);
    }

    #[test]
    fn try_start_stops_at_the_limit() {
        let l = ServerLoad::default();
        assert!(l.try_start(2) && l.try_start(2));
        assert!(!l.try_start(2), "a full server takes nothing more");
        assert_eq!((l.in_flight(), l.requests()), (2, 2));
        l.finish();
        assert!(l.try_start(2));
        assert!(l.try_start(u64::MAX), "no limit");
    }

    #[test]
    fn peak_ewma_jumps_up_and_decays_down() {
        let l = ServerLoad::default();
        assert_eq!(l.latency_ns(0), 0.0);
        l.observe(1_000_000, 1);
        assert_eq!(l.latency_ns(1), 1e6);
        l.observe(50_000_000, 2);
        assert_eq!(l.latency_ns(2), 5e7, "a slower sample takes over at once");
        l.observe(1_000_000, 2 + 1_000_000_000);
        let after = l.latency_ns(2 + 1_000_000_000);
        assert!(after < 5e7 && after > 1e6, "a faster one blends in: {after}");
        let later = l.latency_ns(2 + 1_000_000_000 + 30_000_000_000);
        assert!(later < after * 0.06, "idle decay: {later}");
    }
}
