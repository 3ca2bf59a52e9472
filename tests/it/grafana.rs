//! `deploy/grafana/fulcrum.json` against a real Prometheus that scrapes a
//! real fulcrum under traffic: every PromQL expression of every panel runs
//! without an error, and the core panels (traffic, errors, latency, upstream
//! health, process) return data.

use crate::common;
use common::prom_server::Prometheus;
use common::*;
use std::time::{Duration, Instant};

const CORE: [&str; 6] = [
    "Request rate by route",
    "5xx ratio by route",
    "Latency quantiles by route",
    "Eligible servers per pool",
    "Server eligibility",
    "Process CPU",
];

/// Every (panel title, expression) of the dashboard, with Grafana's
/// variables filled in as Grafana would for "All".
fn expressions() -> Vec<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/grafana/fulcrum.json");
    let dash: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = Vec::new();
    for panel in dash["panels"].as_array().unwrap() {
        let title = panel["title"].as_str().unwrap();
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            out.push((
                title.to_string(),
                expr.replace("$__rate_interval", "15s").replace("$instance", ".*"),
            ));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_runs_and_the_core_panels_have_data() {
    let exprs = expressions();
    for core in CORE {
        assert!(exprs.iter().any(|(t, _)| t == core), "no panel {core}");
    }
    let (a, b, c) = (
        spawn_backend("a").await,
        spawn_backend("b").await,
        spawn_backend("c").await,
    );
    let dead = closed_port();
    let yaml = format!(
        "listeners: [{{ address: \"{{LISTEN}}\" }}]\nadmin: {{ address: \"127.0.0.1:0\" }}\n\
         upstreams:\n  web: {{ servers: [{{ address: \"{{b0}}\" }}, {{ address: \"{{b1}}\" }}] }}\n  \
         api: {{ balance: consistent_hash, hash: {{ key: header:x-user }}, servers: [{{ address: \"{{b2}}\" }}] }}\n  \
         gone: {{ servers: [{{ address: \"{dead}\" }}] }}\n\
         routes:\n  - {{ name: api, match: {{ path_prefix: /api }}, upstream: api }}\n  \
         - {{ name: gone, match: {{ path_prefix: /gone }}, upstream: gone }}\n  \
         - {{ name: web, match: {{ path_prefix: / }}, upstream: web }}\n"
    );
    let lb = spawn_lb_file(&yaml, &[&a, &b, &c]).await;
    let Some(prom) = Prometheus::scraping(lb.admin.unwrap()) else {
        return;
    };
    let addr = lb.addr;
    let traffic = tokio::spawn(async move {
        let c = client();
        for i in 0u64.. {
            let path = match i % 5 {
                0 => "/gone",
                1 | 2 => "/api/x",
                _ => "/",
            };
            send(&c, addr, "GET", path, &[("x-user", &format!("u{}", i % 7))]).await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut missing: Vec<String>;
    loop {
        missing = Vec::new();
        for (title, expr) in &exprs {
            let Some(v) = prom.query(expr).await else {
                missing.push(format!("{title}: Prometheus not answering"));
                continue;
            };
            // a query error fails at once: no amount of waiting fixes PromQL
            assert_eq!(v["status"], "success", "{title}: {expr}: {v}");
            let empty = v["data"]["result"].as_array().is_none_or(|r| r.is_empty());
            if empty && CORE.contains(&title.as_str()) {
                missing.push(format!("{title}: {expr}"));
            }
        }
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "core panels without data after 90s: {missing:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    traffic.abort();
}
