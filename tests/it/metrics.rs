//! Every metric family moves as it should, errors included; /status and /lookup agree with traffic.

use crate::common;
use common::prom::{sample, sum};
use common::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn scrape(lb: &LbFile) -> String {
    send(&client(), lb.admin.unwrap(), "GET", "/metrics", &[]).await.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_counters_are_exact_with_the_right_labels() {
    let bs = [spawn_backend("a").await, spawn_backend("b").await];
    let dead = closed_port();
    let yaml = format!(
        "listeners: [{{ address: \"{{LISTEN}}\" }}]\nadmin: {{ address: \"127.0.0.1:0\" }}\nupstreams:\n  web: {{ balance: round_robin, servers: [{{ address: \"{{b0}}\" }}, {{ address: \"{{b1}}\" }}] }}\n  api:\n    balance: consistent_hash\n    hash: {{ key: header:x-user, fallback: round_robin }}\n    servers: [{{ address: \"{{b0}}\" }}, {{ address: \"{{b1}}\" }}]\n  strict:\n    balance: maglev\n    hash: {{ key: header:x-user, fallback: reject }}\n    servers: [{{ address: \"{{b0}}\" }}]\n  dead: {{ servers: [{{ address: \"{dead}\" }}] }}\n  gone:\n    servers: [{{ address: \"{{b1}}\" }}]\n    outlier_detection: {{ consecutive_failures: 1, base_ejection_time: 1m, max_ejection_percent: 100 }}\nroutes:\n  - {{ name: api, match: {{ path_prefix: /api }}, upstream: api }}\n  - {{ name: strict, match: {{ path_prefix: /strict }}, upstream: strict }}\n  - {{ name: dead, match: {{ path_prefix: /dead }}, upstream: dead }}\n  - {{ name: gone, match: {{ path_prefix: /gone }}, upstream: gone }}\n  - {{ match: {{ path_prefix: /web }}, upstream: web }}\n"
    );
    let lb = spawn_lb_file(&yaml, &[&bs[0], &bs[1]]).await;
    let c = client();
    for _ in 0..10 {
        assert_eq!(send(&c, lb.addr, "GET", "/web", &[]).await.status, 200);
    }
    for u in 0..6 {
        send(&c, lb.addr, "GET", "/api", &[("x-user", &format!("u{u}"))]).await;
    }
    for _ in 0..4 {
        send(&c, lb.addr, "GET", "/api", &[]).await;
    }
    for _ in 0..3 {
        assert_eq!(send(&c, lb.addr, "GET", "/nowhere", &[]).await.status, 404);
    }
    assert_eq!(send(&c, lb.addr, "GET", "/strict", &[]).await.status, 400);
    assert_eq!(send(&c, lb.addr, "GET", "/dead", &[]).await.status, 502);
    bs[1].set_failing(true);
    assert_eq!(send(&c, lb.addr, "GET", "/gone", &[]).await.status, 500);
    bs[1].set_failing(false);
    assert_eq!(send(&c, lb.addr, "GET", "/gone", &[]).await.status, 503);
    let m = scrape(&lb).await;
    let total = |labels: &[(&str, &str)]| sample(&m, "fulcrum_requests_total", labels).unwrap_or(0.0);
    let (a, b) = (bs[0].addr.to_string(), bs[1].addr.to_string());
    assert_eq!(
        total(&[("route", "4"), ("upstream", "web"), ("server", &a), ("code", "200")]),
        5.0
    );
    assert_eq!(
        total(&[("route", "4"), ("upstream", "web"), ("server", &b), ("code", "200")]),
        5.0
    );
    assert_eq!(
        total(&[("route", ""), ("upstream", ""), ("server", ""), ("code", "404")]),
        3.0
    );
    assert_eq!(
        total(&[
            ("route", "strict"),
            ("upstream", "strict"),
            ("server", ""),
            ("code", "400")
        ]),
        1.0
    );
    assert_eq!(
        total(&[
            ("route", "dead"),
            ("upstream", "dead"),
            ("server", &dead.to_string()),
            ("code", "502")
        ]),
        1.0
    );
    assert_eq!(
        total(&[("route", "gone"), ("upstream", "gone"), ("server", &b), ("code", "500")]),
        1.0
    );
    assert_eq!(
        total(&[("route", "gone"), ("upstream", "gone"), ("server", ""), ("code", "503")]),
        1.0
    );
    assert_eq!(sum(&m, "fulcrum_requests_total"), 27.0);
    assert_eq!(
        sample(
            &m,
            "fulcrum_request_duration_seconds_count",
            &[("route", "4"), ("upstream", "web")]
        ),
        Some(10.0)
    );
    assert_eq!(
        sample(
            &m,
            "fulcrum_hash_key_missing_total",
            &[("upstream", "api"), ("fallback", "round_robin")]
        ),
        Some(4.0)
    );
    assert_eq!(
        sample(
            &m,
            "fulcrum_hash_key_missing_total",
            &[("upstream", "strict"), ("fallback", "reject")]
        ),
        Some(1.0),
        "the keyless request a reject pool answered with 400"
    );
    assert_eq!(
        sample(&m, "fulcrum_upstream_in_flight", &[("upstream", "web"), ("server", &a)]),
        Some(0.0)
    );
    assert_eq!(sample(&m, "fulcrum_retries_total", &[("upstream", "web")]), Some(0.0));
    assert_eq!(
        sample(
            &m,
            "fulcrum_outlier_ejections_total",
            &[("upstream", "gone"), ("server", &b)]
        ),
        Some(1.0)
    );
    let gauge = |name: &str, u: &str, s: &str| sample(&m, name, &[("upstream", u), ("server", s)]);
    assert_eq!(
        gauge("fulcrum_upstream_server_healthy", "gone", &b),
        Some(0.0),
        "ejected is not eligible"
    );
    assert_eq!(gauge("fulcrum_upstream_server_ejected", "gone", &b), Some(1.0));
    assert_eq!(gauge("fulcrum_upstream_server_healthy", "web", &a), Some(1.0));
    assert_eq!(gauge("fulcrum_upstream_server_ejected", "web", &a), Some(0.0));
    let shares: Vec<f64> = [&a, &b]
        .iter()
        .map(|s| sample(&m, "fulcrum_hash_keyspace_share", &[("upstream", "api"), ("server", s)]).unwrap())
        .collect();
    assert!(
        (shares[0] + shares[1] - 1.0).abs() < 1e-9 && shares[0] > 0.3,
        "{shares:?}"
    );
    assert_eq!(
        sample(
            &m,
            "fulcrum_hash_keyspace_share",
            &[("upstream", "strict"), ("server", &a)]
        ),
        Some(1.0)
    );
    assert!(sample(
        &m,
        "fulcrum_hash_keyspace_share",
        &[("upstream", "web"), ("server", &a)]
    )
    .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_rejections_and_keyspace_after_health_change() {
    let bs = [spawn_backend("a").await, spawn_backend("b").await];
    let yaml = "listeners: [{ address: \"{LISTEN}\" }]\nadmin: { address: \"127.0.0.1:0\" }\nupstreams:\n  api:\n    balance: consistent_hash\n    hash: { key: header:x-user }\n    servers: [{ address: \"{b0}\" }, { address: \"{b1}\" }]\n    outlier_detection: { consecutive_failures: 1, base_ejection_time: 1m, max_ejection_percent: 50 }\nroutes: [{ upstream: api }]\n";
    let lb = spawn_lb_file(yaml, &[&bs[0], &bs[1]]).await;
    let mut raw = tokio::net::TcpStream::connect(lb.addr).await.unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 512];
    let _ = raw.read(&mut buf).await.unwrap();
    let listener = "127.0.0.1:0";
    let open = |m: &str| sample(m, "fulcrum_downstream_connections", &[("listener", listener)]);
    assert!(open(&scrape(&lb).await) >= Some(1.0));
    drop(raw);
    let mut bad = tokio::net::TcpStream::connect(lb.addr).await.unwrap();
    bad.write_all(b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n").await.unwrap();
    let mut out = Vec::new();
    let _ = bad.read_to_end(&mut out).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let m = scrape(&lb).await;
        if sample(&m, "fulcrum_requests_rejected_total", &[("reason", "bad_request")]) == Some(1.0)
            && open(&m) == Some(0.0)
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{m}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // eject b: its keyspace moves to a
    bs[1].set_failing(true);
    let c = client();
    for u in 0..20 {
        send(&c, lb.addr, "GET", "/", &[("x-user", &format!("u{u}"))]).await;
    }
    let m = scrape(&lb).await;
    let a = sample(
        &m,
        "fulcrum_hash_keyspace_share",
        &[("upstream", "api"), ("server", &bs[0].addr.to_string())],
    );
    let b = sample(
        &m,
        "fulcrum_hash_keyspace_share",
        &[("upstream", "api"), ("server", &bs[1].addr.to_string())],
    );
    assert_eq!((a, b), (Some(1.0), Some(0.0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_lists_every_server_and_lookup_agrees_with_traffic_for_50_keys() {
    let mut bs = Vec::new();
    for n in ["a", "b", "c", "d"] {
        bs.push(spawn_backend(n).await);
    }
    let yaml = "listeners: [{ address: \"{LISTEN}\" }]\nadmin: { address: \"127.0.0.1:0\" }\nupstreams:\n  api:\n    balance: maglev\n    hash: { key: [header:x-user, cookie:sid] }\n    servers: [{ address: \"{b0}\" }, { address: \"{b1}\" }, { address: \"{b2}\" }, { address: \"{b3}\", weight: 2 }]\nroutes: [{ upstream: api }]\n";
    let refs: Vec<&Backend> = bs.iter().collect();
    let lb = spawn_lb_file(yaml, &refs).await;
    let c = client();
    let admin = lb.admin.unwrap();
    let status: serde_json::Value = serde_json::from_str(&send(&c, admin, "GET", "/status", &[]).await.body).unwrap();
    let listed: Vec<String> = status["upstreams"]["api"]["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["address"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, bs.iter().map(|b| b.addr.to_string()).collect::<Vec<_>>());
    for k in 0..50 {
        let (q, h) = if k % 2 == 0 {
            (
                format!("/lookup?path=/&header=x-user:k{k}"),
                ("x-user", format!("k{k}")),
            )
        } else {
            (
                format!("/lookup?path=/&cookie=sid:k{k}"),
                ("cookie", format!("sid=k{k}")),
            )
        };
        let found: serde_json::Value = serde_json::from_str(&send(&c, admin, "GET", &q, &[]).await.body).unwrap();
        let went = send(&c, lb.addr, "GET", "/", &[(h.0, &h.1)]).await.body;
        let server = bs.iter().find(|b| b.name == went).unwrap().addr.to_string();
        assert_eq!(found["server"], server, "key k{k}");
    }
    let r = send(&c, admin, "GET", "/lookup?header=nocolon", &[]).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("NAME:VALUE"), "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_accepts_the_exposition() {
    let Some(promtool) = common::process::tool("promtool") else {
        return;
    };
    let b = spawn_backend("a").await;
    let yaml = "listeners: [{ address: \"{LISTEN}\" }]\nadmin: { address: \"127.0.0.1:0\" }\nupstreams:\n  p:\n    balance: consistent_hash\n    hash: { key: path, bounded_load: 1.5 }\n    servers: [{ address: \"{b0}\" }]\n    health_check: { path: /healthz, interval: 100ms, timeout: 50ms }\nroutes: [{ upstream: p }]\n";
    let lb = spawn_lb_file(yaml, &[&b]).await;
    for _ in 0..3 {
        send(&client(), lb.addr, "GET", "/x", &[]).await;
    }
    send(&client(), lb.addr, "GET", "/x", &[("x", "y")]).await;
    let text = scrape(&lb).await;
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool: {said}\n{text}");
    assert!(!said.contains("error"), "{said}");
}
