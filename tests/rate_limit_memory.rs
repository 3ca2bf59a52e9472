//! A flood of distinct rate-limit keys cannot grow memory without bound:
//! 1,000,000 distinct keys through a limiter of `max_keys: 100000` leave
//! its bucket count at the bound and the process's RSS flat once the bound
//! is reached. A test binary of its own, so no other test moves the RSS.

use fulcrum::config::RateLimitConfig;
use fulcrum::ratelimit::Limiter;
use std::time::Duration;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_million_distinct_keys_keep_memory_bounded() {
    let limiter = Limiter::new(&RateLimitConfig {
        name: "per_ip".into(),
        keys: vec![],
        rate: 100,
        period: Duration::from_secs(1),
        burst: 50,
        max_keys: 100_000,
        store: fulcrum::config::Store::Local,
    });
    let flood = |from: u64, to: u64| {
        for i in from..to {
            let _ = limiter.check(limiter.key(Some(format!("198.51.{}.{}", i / 256, i % 256).as_bytes())));
        }
    };
    flood(0, 200_000);
    let at_bound = rss_kib();
    flood(200_000, 1_000_000);
    let after = rss_kib();
    assert!(limiter.len() <= 100_016, "{} buckets tracked", limiter.len());
    // 800,000 more keys unbounded would take some 50 MB more
    assert!(
        after <= at_bound + 4 * 1024,
        "RSS grew from {at_bound} KiB to {after} KiB over 800,000 more distinct keys"
    );
}
