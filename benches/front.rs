//! criterion: the front door's per-request checks. One local rate-limit
//! check against a limiter holding 100,000 live keys, and one access check
//! against 1,000 CIDRs (merged sorted ranges, binary search), with a linear
//! scan of the same CIDRs as the baseline it replaces.

use criterion::{criterion_group, criterion_main, Criterion};
use fulcrum::config::{Cidr, RateLimitConfig};
use fulcrum::ipset::IpSet;
use fulcrum::ratelimit::Limiter;
use std::hint::black_box;
use std::net::IpAddr;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let limiter = Limiter::new(&RateLimitConfig {
        name: "per_ip".into(),
        keys: vec![],
        rate: 1_000_000,
        period: Duration::from_secs(1),
        burst: 1_000_000,
        max_keys: 100_000,
        store: fulcrum::config::Store::Local,
    });
    let keys: Vec<u64> = (0..100_000u32)
        .map(|i| limiter.key(Some(IpAddr::from(i.to_be_bytes()).to_string().as_bytes())))
        .collect();
    for &k in &keys {
        let _ = limiter.check(k);
    }
    let mut g = c.benchmark_group("front");
    let mut i = 0usize;
    g.bench_function("rate_limit_check/100k_keys", |b| {
        b.iter(|| {
            i = (i + 7919) % keys.len();
            black_box(limiter.check(black_box(keys[i])).is_ok())
        })
    });
    // the same check on a handful of keys, all in cache: the cost without memory misses
    let few = &keys[..16];
    let mut f = 0usize;
    g.bench_function("rate_limit_check/16_keys", |b| {
        b.iter(|| {
            f = (f + 1) & 15;
            black_box(limiter.check(black_box(few[f])).is_ok())
        })
    });
    let cidrs: Vec<Cidr> = (0..1000u32)
        .map(|n| Cidr::parse(&format!("{}.{}.{}.0/24", 10 + n % 200, (n * 7) % 256, (n * 13) % 256)).unwrap())
        .collect();
    let set = IpSet::new(&cidrs);
    let probes: Vec<IpAddr> = (0..1024u32)
        .map(|n| IpAddr::from((n.wrapping_mul(2_654_435_761)).to_be_bytes()))
        .collect();
    let mut j = 0usize;
    g.bench_function("access_check/1000_cidrs", |b| {
        b.iter(|| {
            j = (j + 1) & 1023;
            black_box(set.contains(black_box(probes[j])))
        })
    });
    g.bench_function("access_check/1000_cidrs_linear_scan", |b| {
        b.iter(|| {
            j = (j + 1) & 1023;
            black_box(cidrs.iter().any(|c| c.contains(black_box(probes[j]))))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
