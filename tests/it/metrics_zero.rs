//! Metrics that work from the first scrape (SPEC §5): the series the config
//! fixes exist at 0 before any event and again after a reload, duration
//! buckets start at 50 µs, and the standard `fulcrum_build_info` and
//! `process_*` series are exported.

use crate::common;
use common::prom::sample;
use common::*;

async fn scrape(lb: &LbFile) -> String {
    send(&client(), lb.admin.unwrap(), "GET", "/metrics", &[]).await.body
}

const YAML: &str = "listeners: [{ address: \"{LISTEN}\" }]\nadmin: { address: \"127.0.0.1:0\" }\nrate_limits: { per_ip: { key: client_ip, rate: 100/s } }\nupstreams:\n  api:\n    balance: consistent_hash\n    hash: { key: header:x-user, fallback: reject, bounded_load: 1.25 }\n    servers: [{ address: \"{b0}\" }]\n    health_check: { path: /healthz, interval: 1h }\n    outlier_detection: { consecutive_failures: 5 }\nroutes:\n  - { name: api, match: { path_prefix: /api }, upstream: api, rate_limit: per_ip, access: { allow: [127.0.0.1] } }\n  - { name: hello, match: { path: /hello }, respond: { status: 200, body: hi } }\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_fixed_series_exist_at_zero_before_the_first_request() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb_file(YAML, &[&b]).await;
    let m = scrape(&lb).await;
    let server = b.addr.to_string();
    let zero = |name: &str, labels: &[(&str, &str)]| {
        assert_eq!(
            sample(&m, name, labels),
            Some(0.0),
            "{name}{labels:?} missing or not 0:\n{m}"
        );
    };
    zero(
        "fulcrum_request_duration_seconds_count",
        &[("route", "api"), ("upstream", "api")],
    );
    zero(
        "fulcrum_request_duration_seconds_count",
        &[("route", "hello"), ("upstream", "")],
    );
    zero("fulcrum_rate_limited_total", &[("route", "api"), ("policy", "per_ip")]);
    zero("fulcrum_access_denied_total", &[("route", "api"), ("reason", "ip")]);
    zero(
        "fulcrum_hash_key_missing_total",
        &[("upstream", "api"), ("fallback", "reject")],
    );
    zero("fulcrum_bounded_load_overflow_total", &[("upstream", "api")]);
    zero(
        "fulcrum_outlier_ejections_total",
        &[("upstream", "api"), ("server", &server)],
    );
    zero("fulcrum_retries_total", &[("upstream", "api")]);
    zero("fulcrum_requests_rejected_total", &[("reason", "header_timeout")]);
    zero("fulcrum_requests_rejected_total", &[("reason", "proxy_protocol")]);
    zero("fulcrum_requests_rejected_total", &[("reason", "h2_flood")]);
    zero("fulcrum_requests_rejected_total", &[("reason", "abuse_ban")]);
    // labelled by the configured address
    zero("fulcrum_downstream_connections", &[("listener", "127.0.0.1:0")]);
    // one probe may have run already (interval 1h: the first is at start)
    for result in ["pass", "fail"] {
        assert!(
            sample(
                &m,
                "fulcrum_health_checks_total",
                &[("upstream", "api"), ("server", &server), ("result", result)]
            )
            .is_some(),
            "no health check series for {result}:\n{m}"
        );
    }
    // buckets from 50 µs
    let first = m
        .lines()
        .find(|l| l.starts_with("fulcrum_request_duration_seconds_bucket{"))
        .unwrap();
    assert!(first.contains("le=\"0.00005\""), "first bucket: {first}");
    assert_eq!(
        sample(&m, "fulcrum_build_info", &[("version", env!("CARGO_PKG_VERSION"))]),
        Some(1.0)
    );
    let rss = sample(&m, "process_resident_memory_bytes", &[]).expect("process collector");
    assert!(rss > 1e6, "RSS {rss}");
    assert!(sample(&m, "process_open_fds", &[]).unwrap() > 0.0);
    assert!(sample(&m, "process_start_time_seconds", &[]).unwrap() > 1.7e9);

    // a route added by a reload has its series at once
    let added = std::fs::read_to_string(&lb.path).unwrap().replace(
        "  - { name: hello,",
        "  - { name: added, match: { path: /added }, upstream: api }\n  - { name: hello,",
    );
    std::fs::write(&lb.path, added).unwrap();
    lb.handle.reload().await.unwrap();
    let m = scrape(&lb).await;
    assert_eq!(
        sample(
            &m,
            "fulcrum_request_duration_seconds_count",
            &[("route", "added"), ("upstream", "api")]
        ),
        Some(0.0),
        "{m}"
    );
}
