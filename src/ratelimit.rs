//! Local rate limits (SPEC §2.5): a GCRA bucket per key value, at most
//! `max_keys` of them (least recently used dropped), so a flood of distinct
//! keys cannot grow memory without bound.
//!
//! GCRA keeps one number per key, the theoretical arrival time (TAT): each
//! request moves it one emission interval (period / rate) on from
//! max(TAT, now), and is refused when that would put it more than `burst`
//! intervals ahead of now. A fresh key admits `burst` at once, then `rate`
//! per period. Keys are hashed (xxh3) and only the hash is kept. The map is
//! split into shards, each behind its own lock, so workers rarely meet.

use crate::config::RateLimitConfig;
use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SHARDS: usize = 16;

/// One policy's buckets.
#[derive(Debug)]
pub struct Limiter {
    /// The config it was built from: a reload keeps the limiter while this is unchanged.
    pub config: RateLimitConfig,
    interval_ns: u64,
    /// How far ahead of now a TAT may be: burst x interval.
    tolerance_ns: u64,
    epoch: Instant,
    shards: Vec<Mutex<LruCache<u64, u64>>>,
}

/// A refused request: when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub retry_after: Duration,
}

impl Limiter {
    pub fn new(config: &RateLimitConfig) -> Self {
        let interval_ns = (config.period.as_nanos() as u64 / u64::from(config.rate)).max(1);
        let per_shard = config.max_keys.div_ceil(SHARDS).max(1);
        Self {
            config: config.clone(),
            interval_ns,
            tolerance_ns: interval_ns.saturating_mul(u64::from(config.burst)),
            epoch: Instant::now(),
            shards: (0..SHARDS)
                .map(|_| Mutex::new(LruCache::new(NonZeroUsize::new(per_shard).expect("at least 1"))))
                .collect(),
        }
    }

    /// The bucket key of a key value (None: no key in the request, one shared bucket).
    pub fn key(value: Option<&[u8]>) -> u64 {
        value.map_or(0, |v| xxhash_rust::xxh3::xxh3_64(v) | 1)
    }

    /// Admits or refuses one request of bucket `key` now.
    pub fn check(&self, key: u64) -> Result<(), Refused> {
        self.check_at(key, self.epoch.elapsed().as_nanos() as u64)
    }

    /// As `check`, at `now_ns` since the limiter's epoch (for tests).
    pub fn check_at(&self, key: u64, now_ns: u64) -> Result<(), Refused> {
        let now = now_ns;
        let shard = &self.shards[(key as usize >> 7) % SHARDS];
        let mut buckets = shard.lock().unwrap_or_else(|e| e.into_inner());
        let tat = buckets.get(&key).copied().unwrap_or(now).max(now);
        let next = tat + self.interval_ns;
        if next - now > self.tolerance_ns {
            let wait = next - now - self.tolerance_ns;
            return Err(Refused {
                retry_after: Duration::from_nanos(wait),
            });
        }
        buckets.put(key, next);
        Ok(())
    }

    /// Buckets tracked now.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().map_or(0, |b| b.len())).sum()
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
        })
    }

    #[test]
    fn a_fresh_bucket_admits_its_burst_then_the_rate() {
        let l = limiter("10/s", 5, 100);
        let k = Limiter::key(Some(b"a"));
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
        assert!(l.check_at(Limiter::key(Some(b"a")), 0).is_ok());
        assert!(l.check_at(Limiter::key(Some(b"b")), 0).is_ok());
        assert!(l.check_at(Limiter::key(Some(b"a")), 0).is_err());
        assert!(l.check_at(Limiter::key(None), 0).is_ok());
        assert!(
            l.check_at(Limiter::key(None), 0).is_err(),
            "one shared bucket without a key"
        );
    }

    #[test]
    fn at_most_max_keys_are_tracked() {
        let l = limiter("1/s", 1, 1000);
        for i in 0..100_000u64 {
            let _ = l.check_at(Limiter::key(Some(i.to_string().as_bytes())), 0);
        }
        assert!(l.len() <= 1000 + SHARDS, "{} buckets", l.len());
    }
}
