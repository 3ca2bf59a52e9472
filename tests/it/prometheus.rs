//! The real thing: a Prometheus server on loopback scrapes fulcrum's admin
//! listener every second, and its query API must count exactly the requests sent.

use crate::common;
use common::prom_server::Prometheus;
use common::*;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_counts_exactly_the_requests_sent() {
    let b = spawn_backend("b").await;
    let yaml = "listeners: [{ address: \"{LISTEN}\" }]\nadmin: { address: \"127.0.0.1:0\" }\nupstreams: { p: { servers: [{ address: \"{b0}\" }] } }\nroutes: [{ match: { path_prefix: /ok }, upstream: p }]\n";
    let lb = spawn_lb_file(yaml, &[&b]).await;
    let Some(prom) = Prometheus::scraping(lb.admin.unwrap()) else {
        return;
    };
    let c = client();
    let sent: u64 = 137;
    for i in 0..sent {
        let path = if i % 10 == 0 { "/nowhere" } else { "/ok" };
        send(&c, lb.addr, "GET", path, &[]).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = serde_json::Value::Null;
    loop {
        if let Some(v) = prom.query("sum(fulcrum_requests_total)").await {
            if v["data"]["result"][0]["value"][1]
                .as_str()
                .and_then(|n| n.parse::<u64>().ok())
                == Some(sent)
            {
                return;
            }
            last = v;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never saw {sent} requests; last answer: {last}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
