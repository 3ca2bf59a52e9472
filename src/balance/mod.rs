//! Balancing algorithms: pure structs behind one trait, no I/O, no clock, no tokio.
//!
//! An algorithm is built once per config snapshot from the pool's servers and
//! picks an index into that list. Eligibility (health, ejection) is decided by
//! the caller and passed in, so every algorithm treats it the same way.

mod bounded;
pub mod compare;
mod fallback;
mod least_conn;
mod load;
mod maglev;
mod p2c;
#[cfg(test)]
mod quality;
mod ring;
mod wrr;

pub use bounded::Bound;
pub use fallback::{RandomPick, RoundRobinPick};
pub use least_conn::LeastConnections;
pub use load::ServerLoad;
pub use maglev::{Maglev, DEFAULT_TABLE_SIZE};
pub use p2c::P2cEwma;
pub use ring::Ring;
pub use wrr::WeightedRoundRobin;

/// A server as an algorithm sees it: identity (address text) and weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The server's identity, e.g. `10.0.0.1:8080`. Hash algorithms place
    /// servers by it, so list order never matters to them.
    pub id: String,
    /// 1..=1000.
    pub weight: u32,
}

/// What an algorithm may read about the servers right now, by index.
/// Eligibility (healthy and not ejected) is decided by the caller, once, for
/// every algorithm alike; load figures default to "idle" for views without them.
pub trait View {
    fn is_eligible(&self, index: usize) -> bool;
    /// True when every server is eligible: lets scans skip per-server checks.
    fn all_eligible(&self) -> bool {
        false
    }
    /// Requests in flight to the server.
    fn in_flight(&self, _index: usize) -> u64 {
        0
    }
    /// Peak-EWMA latency estimate in ns; 0 when nothing was observed.
    fn latency_ns(&self, _index: usize) -> f64 {
        0.0
    }
    /// Slow start: the share of its weight the server takes now (0.1..=1.0).
    fn ramp(&self, _index: usize) -> f64 {
        1.0
    }
}

/// A source of random numbers, injected so randomised algorithms are deterministic in tests.
pub trait Random: Send + Sync + std::fmt::Debug {
    fn next_u64(&self) -> u64;
}

/// The production source: a fast thread-local generator.
#[derive(Debug, Default, Clone, Copy)]
pub struct ThreadRandom;

impl Random for ThreadRandom {
    #[inline]
    fn next_u64(&self) -> u64 {
        fastrand::u64(..)
    }
}

/// A deterministic source (SplitMix64 over a counter), for tests and benches.
#[derive(Debug, Default)]
pub struct Seeded(std::sync::atomic::AtomicU64);

impl Seeded {
    pub fn new(seed: u64) -> Self {
        Seeded(std::sync::atomic::AtomicU64::new(seed))
    }
}

impl Random for Seeded {
    fn next_u64(&self) -> u64 {
        let x = self
            .0
            .fetch_add(0x9E37_79B9_7F4A_7C15, std::sync::atomic::Ordering::Relaxed);
        let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Every server is eligible.
#[derive(Debug, Clone, Copy)]
pub struct All;

impl View for All {
    #[inline]
    fn is_eligible(&self, _: usize) -> bool {
        true
    }
    fn all_eligible(&self) -> bool {
        true
    }
}

impl View for Vec<bool> {
    #[inline]
    fn is_eligible(&self, index: usize) -> bool {
        self.get(index).copied().unwrap_or(false)
    }
}

impl<const N: usize> View for [bool; N] {
    #[inline]
    fn is_eligible(&self, index: usize) -> bool {
        self.get(index).copied().unwrap_or(false)
    }
}

/// One balancing algorithm over a fixed list of members.
pub trait Balancer: Send + Sync + std::fmt::Debug {
    /// Picks a member index. `key` is the request's hash key (64-bit, from
    /// [`hash_key`]); algorithms that do not hash ignore it. Returns `None`
    /// when no member is eligible (or the list is empty), and never returns an
    /// ineligible member.
    fn pick(&self, key: Option<u64>, eligible: &dyn View) -> Option<usize>;

    /// Keys sent past their home by a load bound so far (0 without one).
    fn overflows(&self) -> u64 {
        0
    }

    /// For hash algorithms: each member's exact share of the keyspace given
    /// who is eligible now (an ineligible member's keys counted where they go).
    fn keyspace_shares(&self, _view: &dyn View) -> Option<Vec<f64>> {
        None
    }
}

/// For each slot of a circular owner list, the first eligible owner at or
/// after it (None everywhere when nobody is eligible).
pub(crate) fn next_eligible(owners: &[u32], view: &dyn View) -> Vec<Option<u32>> {
    let n = owners.len();
    let mut out = vec![None; n];
    let mut next = None;
    for i in (0..2 * n).rev() {
        let o = owners[i % n];
        if view.is_eligible(o as usize) {
            next = Some(o);
        }
        if i < n {
            out[i] = next;
        }
    }
    out
}

/// The 64-bit hash of a request key: XXH3, stable across processes and machines.
#[inline]
pub fn hash_key(key: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key)
}
