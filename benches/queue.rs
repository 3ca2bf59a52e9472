//! criterion: taking and giving back a server slot (SPEC §2.4), the cost
//! `max_in_flight` adds to every request: `Upstream::acquire` and the
//! guard's drop, uncontended, for a 4-server round-robin pool with and
//! without `max_in_flight`; the slot alone (take, give back, tell the
//! queue); and the queue's join and leave.

use criterion::{criterion_group, criterion_main, Criterion};
use fulcrum::upstream::{KeyInput, Shared, Upstream};
use std::hint::black_box;

fn pool(protect: &str) -> Upstream {
    let yaml = format!(
        "listeners: [{{ address: \"127.0.0.1:0\" }}]\n\
         upstreams: {{ p: {{ balance: round_robin, {protect} servers: [{{ address: \"10.0.0.1:80\" }}, \
         {{ address: \"10.0.0.2:80\" }}, {{ address: \"10.0.0.3:80\" }}, {{ address: \"10.0.0.4:80\" }}] }} }}\n\
         routes: [{{ upstream: p }}]\n"
    );
    let config = fulcrum::config::parse(&yaml).expect("valid");
    Upstream::new(&config.upstreams[0], None)
}

fn bench(c: &mut Criterion) {
    let headers = http::HeaderMap::new();
    let input = KeyInput {
        headers: &headers,
        path: "/",
        query: None,
        host: None,
        client_ip: [127, 0, 0, 1].into(),
    };
    let mut g = c.benchmark_group("slot");
    for (name, protect) in [
        ("acquire_release/no_limit", ""),
        ("acquire_release/max_in_flight", "max_in_flight: 100,"),
    ] {
        let upstream = pool(protect);
        g.bench_function(name, |b| {
            b.iter(|| {
                let picked = upstream.acquire(black_box(&input), &[], false).expect("a free slot");
                black_box(picked.0);
                drop(picked);
            })
        });
    }
    // the slot itself: what max_in_flight adds to a request once picked
    let load = fulcrum::balance::ServerLoad::default();
    let shared = Shared::default();
    g.bench_function("slot_take_give_back", |b| {
        b.iter(|| {
            assert!(load.try_start(black_box(100)));
            load.finish();
            shared.released();
        })
    });
    g.bench_function("queue_join_leave", |b| {
        b.iter(|| drop(black_box(shared.join(1000).expect("room"))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
