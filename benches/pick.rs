//! criterion: `pick()` per algorithm at 4, 100 and 1000 servers.
//! Inputs (members, balancers, keys, load views) are built outside the timed closures.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use fulcrum::balance::{
    hash_key, All, Balancer, LeastConnections, Maglev, Member, P2cEwma, RandomPick, Ring, RoundRobinPick, ServerLoad,
    View, WeightedRoundRobin, DEFAULT_TABLE_SIZE,
};
use std::hint::black_box;
use std::sync::Arc;

const SIZES: [usize; 3] = [4, 100, 1000];

fn members(n: usize, weighted: bool) -> Vec<Member> {
    (0..n)
        .map(|i| Member {
            id: format!("10.{}.{}.{}:8080", i / 65536, (i / 256) % 256, i % 256),
            weight: if weighted { 1 + (i % 5) as u32 } else { 1 },
        })
        .collect()
}

/// A view with varied in-flight counts and latencies, as a busy pool has.
struct Loaded {
    in_flight: Vec<u64>,
    latency: Vec<f64>,
}

impl View for Loaded {
    fn is_eligible(&self, _: usize) -> bool {
        true
    }
    fn in_flight(&self, i: usize) -> u64 {
        self.in_flight[i]
    }
    fn latency_ns(&self, i: usize) -> f64 {
        self.latency[i]
    }
}

fn loaded(n: usize) -> Loaded {
    Loaded {
        in_flight: (0..n as u64).map(|i| (i * 7) % 13).collect(),
        latency: (0..n).map(|i| 1e6 + (i % 17) as f64 * 1e5).collect(),
    }
}

fn bench_keyless(c: &mut Criterion, name: &str, build: fn(&[Member]) -> Box<dyn Balancer>) {
    let mut g = c.benchmark_group(name);
    for n in SIZES {
        let b = build(&members(n, true));
        let view = loaded(n);
        g.bench_with_input(BenchmarkId::from_parameter(n), &b, |bench, b| {
            bench.iter(|| black_box(b.pick(None, &view)))
        });
    }
    g.finish();
}

fn bench_keyless_all(c: &mut Criterion) {
    bench_keyless(c, "wrr_pick", |m| Box::new(WeightedRoundRobin::new(m)));
    bench_keyless(c, "round_robin_pick", |m| Box::new(RoundRobinPick::new(m)));
    bench_keyless(c, "random_pick", |m| Box::new(RandomPick::new(m)));
    bench_keyless(c, "least_connections_pick", |m| {
        let loads = (0..m.len() as u64)
            .map(|i| {
                let l = Arc::new(ServerLoad::default());
                (0..(i * 7) % 13).for_each(|_| l.start());
                l
            })
            .collect();
        Box::new(LeastConnections::new(m, loads))
    });
    bench_keyless(c, "p2c_ewma_pick", |m| Box::new(P2cEwma::new(m)));
}

fn bench_hashed(c: &mut Criterion, name: &str, build: fn(&[Member]) -> Box<dyn Balancer>) {
    // 16-byte keys, hashed inside the timed closure as the request path does.
    let keys: Vec<[u8; 16]> = (0..1024u64)
        .map(|i| {
            let mut k = [0u8; 16];
            k[..8].copy_from_slice(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes());
            k[8..].copy_from_slice(&i.to_le_bytes());
            k
        })
        .collect();
    let mut g = c.benchmark_group(name);
    for n in SIZES {
        let b = build(&members(n, false));
        let mut i = 0usize;
        g.bench_with_input(BenchmarkId::from_parameter(n), &b, |bench, b| {
            bench.iter(|| {
                i = (i + 1) & 1023;
                black_box(b.pick(Some(hash_key(&keys[i])), &All))
            })
        });
    }
    g.finish();
}

fn bench_hashed_all(c: &mut Criterion) {
    bench_hashed(c, "ring_pick_with_hash", |m| Box::new(Ring::new(m)));
    bench_hashed(c, "maglev_pick_with_hash", |m| {
        let size = if m.len() * 100 > DEFAULT_TABLE_SIZE {
            100_003
        } else {
            DEFAULT_TABLE_SIZE
        };
        Box::new(Maglev::new(m, size))
    });
}

criterion_group!(benches, bench_keyless_all, bench_hashed_all);
criterion_main!(benches);
