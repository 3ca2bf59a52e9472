//! Balancing algorithms: pure structs behind one trait, no I/O, no clock, no tokio.
//!
//! An algorithm is built once per config snapshot from the pool's servers and
//! picks an index into that list. Eligibility (health, ejection) is decided by
//! the caller and passed in, so every algorithm treats it the same way.

mod fallback;
mod ring;
mod wrr;

pub use fallback::{RandomPick, RoundRobinPick};
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

/// Which servers may be picked right now, by index.
pub trait Eligible {
    fn is_eligible(&self, index: usize) -> bool;
}

/// Every server is eligible.
#[derive(Debug, Clone, Copy)]
pub struct All;

impl Eligible for All {
    #[inline]
    fn is_eligible(&self, _: usize) -> bool {
        true
    }
}

impl Eligible for Vec<bool> {
    #[inline]
    fn is_eligible(&self, index: usize) -> bool {
        self.get(index).copied().unwrap_or(false)
    }
}

impl<const N: usize> Eligible for [bool; N] {
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
    fn pick(&self, key: Option<u64>, eligible: &dyn Eligible) -> Option<usize>;
}

/// The 64-bit hash of a request key: XXH3, stable across processes and machines.
#[inline]
pub fn hash_key(key: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key)
}
