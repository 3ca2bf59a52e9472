//! criterion: `pick()` per algorithm at 4, 100 and 1000 servers.
//! Inputs (members, balancers, keys) are built outside the timed closures.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use fulcrum::balance::{hash_key, All, Balancer, Member, Ring, WeightedRoundRobin};
use std::hint::black_box;

const SIZES: [usize; 3] = [4, 100, 1000];

fn members(n: usize, weighted: bool) -> Vec<Member> {
    (0..n)
        .map(|i| Member {
            id: format!("10.{}.{}.{}:8080", i / 65536, (i / 256) % 256, i % 256),
            weight: if weighted { 1 + (i % 5) as u32 } else { 1 },
        })
        .collect()
}

fn bench_wrr(c: &mut Criterion) {
    let mut g = c.benchmark_group("wrr_pick");
    for n in SIZES {
        let b = WeightedRoundRobin::new(&members(n, true));
        g.bench_with_input(BenchmarkId::from_parameter(n), &b, |bench, b| {
            bench.iter(|| black_box(b.pick(None, &All)))
        });
    }
    g.finish();
}

fn bench_ring(c: &mut Criterion) {
    // 16-byte keys, hashed inside the timed closure as the request path does.
    let keys: Vec<[u8; 16]> = (0..1024u64)
        .map(|i| {
            let mut k = [0u8; 16];
            k[..8].copy_from_slice(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes());
            k[8..].copy_from_slice(&i.to_le_bytes());
            k
        })
        .collect();
    let mut g = c.benchmark_group("ring_pick_with_hash");
    for n in SIZES {
        let ring = Ring::new(&members(n, false));
        let mut i = 0usize;
        g.bench_with_input(BenchmarkId::from_parameter(n), &ring, |bench, ring| {
            bench.iter(|| {
                i = (i + 1) & 1023;
                black_box(ring.pick(Some(hash_key(&keys[i])), &All))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_wrr, bench_ring);
criterion_main!(benches);
