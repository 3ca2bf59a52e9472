//! Local rate limits (SPEC §2.5): a GCRA bucket per key value, at most
//! `max_keys` of them, so a flood of distinct keys cannot grow memory
//! without bound.
//!
//! GCRA keeps one number per key, the theoretical arrival time (TAT): each
//! request moves it one emission interval (period / rate) on from
//! max(TAT, now), and is refused when that would put it more than `burst`
//! intervals ahead of now. A fresh key admits `burst` at once, then `rate`
//! per period. Keys are hashed (xxh3 with a random seed per limiter, so
//! clients cannot choose colliding keys) and only the hash is kept.
//!
//! The buckets live in fixed tables of (key, TAT) pairs, 16 bytes each,
//! `max_keys` in all, split into shards behind their own locks. A key may
//! sit in one of 8 neighbouring slots; when all 8 are taken by others, the
//! one with the earliest TAT gives way. That is the least recently used
//! there, and a bucket whose TAT has passed is full again, the same as one
//! never seen, so dropping it changes nothing. One check touches one or two
//! cache lines (an LRU list touched five, and cost twice as much with
//! 100,000 keys).

mod shared;

pub use shared::{Checked, Shared};

use crate::config::{RateLimitConfig, Store};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SHARDS: usize = 16;
/// Slots a key may occupy.
const WINDOW: usize = 8;
/// The bucket of requests without a key value.
const KEYLESS: u64 = 1;

/// One policy's buckets.
#[derive(Debug)]
pub struct Limiter {
    /// The config it was built from: a reload keeps the limiter while this is unchanged.
    pub config: RateLimitConfig,
    interval_ns: u64,
    /// How far ahead of now a TAT may be: burst x interval.
    tolerance_ns: u64,
    epoch: Instant,
    seed: u64,
    shards: Vec<Mutex<Vec<(u64, u64)>>>,
    /// With `store: redis`, the buckets live there instead.
    pub shared: Option<Shared>,
}

/// A refused request: when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub retry_after: Duration,
}

impl Limiter {
    pub fn new(config: &RateLimitConfig) -> Self {
        let interval_ns = (config.period.as_nanos() as u64 / u64::from(config.rate)).max(1);
        let per_shard = config.max_keys.div_ceil(SHARDS).max(WINDOW);
        Self {
            config: config.clone(),
            interval_ns,
            tolerance_ns: interval_ns.saturating_mul(u64::from(config.burst)),
            epoch: Instant::now(),
            seed: fastrand::u64(..),
            shards: match config.store {
                Store::Local => (0..SHARDS).map(|_| Mutex::new(vec![(0, 0); per_shard])).collect(),
                Store::Redis { .. } => Vec::new(),
            },
            shared: match &config.store {
                Store::Local => None,
                Store::Redis { url, timeout } => Some(Shared::new(&config.name, url, *timeout)),
            },
        }
    }

    /// One emission interval and the tolerance (burst x interval).
    pub fn gcra(&self) -> (Duration, Duration) {
        (
            Duration::from_nanos(self.interval_ns),
            Duration::from_nanos(self.tolerance_ns),
        )
    }

    /// The bucket key of a key value (None: no key in the request, one shared bucket).
    pub fn key(&self, value: Option<&[u8]>) -> u64 {
        value.map_or(KEYLESS, |v| xxhash_rust::xxh3::xxh3_64_with_seed(v, self.seed) | 2)
    }

    /// Admits or refuses one request of bucket `key` now.
    pub fn check(&self, key: u64) -> Result<(), Refused> {
        self.check_at(key, self.epoch.elapsed().as_nanos() as u64)
    }

    /// As `check`, at `now_ns` since the limiter's epoch (for tests).
    pub fn check_at(&self, key: u64, now_ns: u64) -> Result<(), Refused> {
        let now = now_ns;
        // the top bits pick the shard, the low ones the slot
        let shard = &self.shards[(key >> 60) as usize % SHARDS];
        let mut slots = shard.lock().unwrap_or_else(|e| e.into_inner());
        let n = slots.len();
        let start = ((u128::from(key as u32) * n as u128) >> 32) as usize;
        let (mut at, mut found) = (start, false);
        let mut earliest = u64::MAX;
        for i in 0..WINDOW {
            let s = (start + i) % n;
            let (k, tat) = slots[s];
            if k == key || k == 0 {
                (at, found) = (s, k == key);
                break;
            }
            if tat < earliest {
                (at, earliest) = (s, tat);
            }
        }
        let tat = if found { slots[at].1 } else { now };
        let next = tat.max(now) + self.interval_ns;
        let ahead = next - now;
        if ahead > self.tolerance_ns {
            return Err(Refused {
                retry_after: Duration::from_nanos(ahead - self.tolerance_ns),
            });
        }
        slots[at] = (key, next);
        Ok(())
    }

    /// Buckets tracked now.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map_or(0, |t| t.iter().filter(|(k, _)| *k != 0).count()))
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rate: &str, burst: u32, max_keys: usize) -> Limiter {
        let (rate, period) = crate::config::parse_rate(rate).unwrap();
        Limiter::new(&RateLimitConfig {
            name: "t".into(),
            keys: vec![],
            rate,
            period,
            burst,
            max_keys,
            store: crate::config::Store::Local,
        })
    }

    #[test]
    fn a_fresh_bucket_admits_its_burst_then_the_rate() {
        let l = limiter("10/s", 5, 100);
        let k = l.key(Some(b"a"));
        for i in 0..5 {
            assert!(l.check_at(k, 0).is_ok(), "burst request {i}");
        }
        let refused = l.check_at(k, 0).unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_millis(100), "one interval to wait");
        assert!(l.check_at(k, 100_000_000).is_ok(), "one more after one interval");
        assert!(l.check_at(k, 100_000_000).is_err());
        // over 10 s: burst + rate x time, within one
        let mut admitted = 0;
        let l = limiter("10/s", 5, 100);
        for ms in (0..10_000).step_by(10) {
            admitted += l.check_at(k, ms * 1_000_000).is_ok() as u32;
        }
        assert!((104..=106).contains(&admitted), "{admitted}");
    }

    #[test]
    fn keys_are_separate_and_the_keyless_share_one() {
        let l = limiter("1/m", 1, 100);
        assert!(l.check_at(l.key(Some(b"a")), 0).is_ok());
        assert!(l.check_at(l.key(Some(b"b")), 0).is_ok());
        assert!(l.check_at(l.key(Some(b"a")), 0).is_err());
        assert!(l.check_at(l.key(None), 0).is_ok());
        assert!(l.check_at(l.key(None), 0).is_err(), "one shared bucket without a key");
    }

    #[test]
    fn a_busy_key_is_not_pushed_out_by_a_flood_of_others() {
        let l = limiter("1/m", 2, 1000);
        let busy = l.key(Some(b"busy"));
        assert!(l.check_at(busy, 0).is_ok() && l.check_at(busy, 0).is_ok());
        for i in 0..100_000u64 {
            let _ = l.check_at(l.key(Some(i.to_string().as_bytes())), 1);
        }
        // its TAT is two minutes ahead, the flood's one minute: they give way first
        assert!(l.check_at(busy, 2).is_err(), "the spent bucket was kept");
    }

    #[test]
    fn at_most_max_keys_are_tracked() {
        let l = limiter("1/s", 1, 1000);
        for i in 0..100_000u64 {
            let _ = l.check_at(l.key(Some(i.to_string().as_bytes())), 0);
        }
        assert!(l.len() <= 1000 + SHARDS, "{} buckets", l.len());
        assert!(l.len() > 900, "the table fills: {}", l.len());
    }
}
