//! `slow_start`: a server back from being unhealthy ramps from 10% to 100%
//! of its share over the window.

use super::common::*;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_readmitted_server_ramps_up_over_the_window() {
    let a = spawn_backend("a").await;
    let b = spawn_backend("b").await;
    let yaml = "listeners: [{ address: \"{LISTEN}\" }]\nadmin: { address: \"127.0.0.1:0\" }\n\
                upstreams: { p: { balance: round_robin, slow_start: 3s, \
                health_check: { path: /healthz, interval: 100ms, timeout: 50ms, healthy_threshold: 1, unhealthy_threshold: 1 }, \
                servers: [{ address: \"{b0}\" }, { address: \"{b1}\" }] } }\nroutes: [{ upstream: p }]\n";
    let lb = spawn_lb_file(yaml, &[&a, &b]).await;
    let admin = lb.admin.unwrap();
    let healthy = move |want: f64| async move {
        let labels = [("upstream", "p"), ("server", &b.addr.to_string()[..])];
        let text = send(&client(), admin, "GET", "/metrics", &[]).await.body;
        (prom::sample(&text, "fulcrum_upstream_server_healthy", &labels) == Some(want)).then_some(())
    };
    let b_addr = b.addr;
    b.set_healthz(500);
    eventually_async(Duration::from_secs(5), || healthy(0.0)).await;
    b.set_healthz(200);
    eventually_async(Duration::from_secs(5), || healthy(1.0)).await;
    let start = Instant::now();
    let _ = b_addr;
    // four clients send requests for the whole window; each answer is
    // binned by the third of the window it came back in
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let addr = lb.addr;
            tokio::spawn(async move {
                let c = client();
                let mut bins = [[0u32; 2]; 3];
                while start.elapsed() < Duration::from_millis(2950) {
                    let r = send(&c, addr, "GET", "/", &[]).await;
                    let third = (start.elapsed().as_millis() / 1000).min(2) as usize;
                    bins[third][(r.body == "b") as usize] += 1;
                }
                bins
            })
        })
        .collect();
    let mut bins = [[0u32; 2]; 3];
    for t in tasks {
        for (total, part) in bins.iter_mut().zip(t.await.unwrap()) {
            total[0] += part[0];
            total[1] += part[1];
        }
    }
    // b's share relative to its full share (a half of two equal servers)
    let relative: Vec<f64> = bins
        .iter()
        .map(|[to_a, to_b]| 2.0 * *to_b as f64 / (*to_a + *to_b).max(1) as f64)
        .collect();
    let within = |x: f64, lo: f64, hi: f64| (lo..=hi).contains(&x);
    assert!(
        within(relative[0], 0.10, 0.40) && within(relative[1], 0.40, 0.70) && within(relative[2], 0.70, 1.0),
        "b's share of its full share by third of the window: {relative:?} (bins {bins:?})"
    );
    let counted: u32 = bins.iter().map(|b| b[0] + b[1]).sum();
    assert!(counted > 300, "enough requests to measure: {counted}");
}
