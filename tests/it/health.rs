//! Health over real sockets: active checks flip servers, outlier detection
//! ejects, nothing eligible means 503 without a connection, state survives reload.

use crate::common;
use common::*;
use std::collections::HashMap;
use std::time::Duration;

/// interval 100 ms x threshold 2 + generous slack for a busy machine.
const DEADLINE: Duration = Duration::from_secs(10);

fn checked(balance: &str, servers: usize) -> String {
    let list: Vec<String> = (0..servers).map(|i| format!("{{ address: \"{{b{i}}}\" }}")).collect();
    let hash = if balance == "round_robin" {
        ""
    } else {
        "    hash: { key: header:x-user }\n"
    };
    format!(
        "listeners: [{{ address: \"{{LISTEN}}\" }}]\nadmin: {{ address: \"127.0.0.1:0\" }}\nupstreams:\n  p:\n    balance: {balance}\n{hash}    servers: [{}]\n    health_check: {{ path: /healthz, interval: 100ms, timeout: 50ms, healthy_threshold: 2, unhealthy_threshold: 2 }}\nroutes: [{{ upstream: p }}]\n",
        list.join(", ")
    )
}

async fn spread(addr: std::net::SocketAddr, n: usize) -> HashMap<String, usize> {
    let c = client();
    let mut out = HashMap::new();
    for _ in 0..n {
        let r = send(&c, addr, "GET", "/", &[]).await;
        *out.entry(format!("{} {}", r.status.as_u16(), r.body)).or_default() += 1;
    }
    out
}

async fn metric(lb: &LbFile, needle: &str) -> bool {
    send(&client(), lb.admin.unwrap(), "GET", "/metrics", &[])
        .await
        .body
        .contains(needle)
}

async fn until_only(lb: &LbFile, body: &str) {
    let deadline = std::time::Instant::now() + DEADLINE;
    loop {
        let s = spread(lb.addr, 6).await;
        if s.len() == 1 && s.contains_key(&format!("200 {body}")) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "never only {body}: {s:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_checks_take_a_server_out_and_passing_ones_bring_it_back() {
    let bs = [spawn_backend("a").await, spawn_backend("b").await];
    let lb = spawn_lb_file(&checked("round_robin", 2), &[&bs[0], &bs[1]]).await;
    assert_eq!(spread(lb.addr, 4).await.len(), 2);
    bs[1].set_healthz(503);
    until_only(&lb, "a").await;
    let b = bs[1].addr;
    assert!(
        metric(
            &lb,
            &format!("fulcrum_upstream_server_healthy{{server=\"{b}\",upstream=\"p\"}} 0")
        )
        .await
    );
    assert!(
        metric(
            &lb,
            &format!("fulcrum_health_checks_total{{result=\"fail\",server=\"{b}\",upstream=\"p\"}}")
        )
        .await
    );
    bs[1].set_healthz(200);
    let deadline = std::time::Instant::now() + DEADLINE;
    while spread(lb.addr, 4).await.len() < 2 {
        assert!(std::time::Instant::now() < deadline, "b never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        metric(
            &lb,
            &format!("fulcrum_upstream_server_healthy{{server=\"{b}\",upstream=\"p\"}} 1")
        )
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_check_and_a_closed_port_both_count_as_failures() {
    let bs = [spawn_backend("a").await, spawn_backend("hangs").await];
    let yaml = checked("round_robin", 3).replace("{b2}", &closed_port().to_string());
    let lb = spawn_lb_file(&yaml, &[&bs[0], &bs[1]]).await;
    bs[1].set_healthz(0);
    until_only(&lb, "a").await;
    let status = send(&client(), lb.admin.unwrap(), "GET", "/status", &[]).await.body;
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let healthy: Vec<bool> = status["upstreams"]["p"]["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["healthy"].as_bool().unwrap())
        .collect();
    assert_eq!(healthy, [true, false, false]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_5xx_ejects_for_a_while_and_the_server_returns() {
    let bs = [spawn_backend("a").await, spawn_backend("b").await];
    let yaml = "listeners: [{ address: \"{LISTEN}\" }]\nadmin: { address: \"127.0.0.1:0\" }\nupstreams:\n  p:\n    balance: round_robin\n    servers: [{ address: \"{b0}\" }, { address: \"{b1}\" }]\n    outlier_detection: { consecutive_failures: 3, base_ejection_time: 400ms, max_ejection_percent: 50 }\nroutes: [{ upstream: p }]\n";
    let lb = spawn_lb_file(yaml, &[&bs[0], &bs[1]]).await;
    bs[1].set_failing(true);
    let first = spread(lb.addr, 6).await;
    assert_eq!(first.get("500 status 500"), Some(&3), "{first:?}");
    let during = spread(lb.addr, 10).await;
    assert_eq!(during.get("200 a"), Some(&10), "b is ejected: {during:?}");
    let b = bs[1].addr;
    assert!(
        metric(
            &lb,
            &format!("fulcrum_outlier_ejections_total{{server=\"{b}\",upstream=\"p\"}} 1")
        )
        .await
    );
    bs[1].set_failing(false);
    let deadline = std::time::Instant::now() + DEADLINE;
    while !spread(lb.addr, 4).await.contains_key("200 b") {
        assert!(std::time::Instant::now() < deadline, "b never returned");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_eligible_is_503_without_a_connection_attempt() {
    let bs = [spawn_backend("a").await, spawn_backend("b").await];
    let yaml = "listeners: [{ address: \"{LISTEN}\" }]\nupstreams:\n  p:\n    balance: round_robin\n    servers: [{ address: \"{b0}\" }, { address: \"{b1}\" }]\n    outlier_detection: { consecutive_failures: 1, base_ejection_time: 1m, max_ejection_percent: 100 }\nroutes: [{ upstream: p }]\n";
    let lb = spawn_lb(yaml, &[&bs[0], &bs[1]]).await;
    bs[0].set_failing(true);
    bs[1].set_failing(true);
    let c = client();
    assert_eq!(send(&c, lb.addr, "GET", "/", &[]).await.status, 500);
    assert_eq!(send(&c, lb.addr, "GET", "/", &[]).await.status, 500);
    let (conns, reqs) = (bs[0].accepted() + bs[1].accepted(), bs[0].traffic() + bs[1].traffic());
    for _ in 0..5 {
        let r = send(&client(), lb.addr, "GET", "/", &[]).await;
        assert_eq!(r.status, 503);
        assert!(r.body.contains("upstream p: no eligible server"), "{}", r.body);
    }
    assert_eq!(bs[0].accepted() + bs[1].accepted(), conns, "a connection was attempted");
    assert_eq!(bs[0].traffic() + bs[1].traffic(), reqs);
}

/// Maps 1,000 keys through the live snapshot (its health included).
fn keys_to_servers(lb: &LbFile) -> Vec<usize> {
    let snap = lb.handle.shared().state.load();
    let u = &snap.upstreams[0];
    (0..1000).map(|k| pick_for_user(u, &format!("user-{k}"))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hash_server_leaving_moves_only_its_keys_and_they_return() {
    for balance in ["consistent_hash", "maglev"] {
        let bs = [
            spawn_backend("a").await,
            spawn_backend("b").await,
            spawn_backend("c").await,
        ];
        let lb = spawn_lb_file(&checked(balance, 3), &[&bs[0], &bs[1], &bs[2]]).await;
        let before = keys_to_servers(&lb);
        bs[1].set_healthz(500);
        until_unhealthy(&lb, 1).await;
        let during = keys_to_servers(&lb);
        for (b, d) in before.iter().zip(&during) {
            assert_ne!(*d, 1);
            if *b != 1 {
                assert_eq!(b, d, "{balance}: a key of a staying server moved");
            }
        }
        assert!(before.iter().filter(|&&b| b == 1).count() > 200);
        bs[1].set_healthz(200);
        let deadline = std::time::Instant::now() + DEADLINE;
        while keys_to_servers(&lb) != before {
            assert!(std::time::Instant::now() < deadline, "{balance}: keys never returned");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn until_unhealthy(lb: &LbFile, server: usize) {
    let deadline = std::time::Instant::now() + DEADLINE;
    while lb.handle.shared().state.load().upstreams[0].servers[server]
        .health
        .healthy()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "server {server} never turned unhealthy"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_survives_reload_and_new_servers_start_healthy() {
    let bs = [
        spawn_backend("a").await,
        spawn_backend("b").await,
        spawn_backend("c").await,
    ];
    let lb = spawn_lb_file(&checked("round_robin", 2), &[&bs[0], &bs[1]]).await;
    bs[1].set_healthz(500);
    until_unhealthy(&lb, 1).await;
    std::fs::write(&lb.path, fill(&checked("round_robin", 3), &[&bs[0], &bs[1], &bs[2]])).unwrap();
    lb.handle.reload().await.unwrap();
    let snap = lb.handle.shared().state.load();
    let servers = &snap.upstreams[0].servers;
    assert!(!servers[1].health.healthy(), "b stayed unhealthy across the reload");
    assert!(servers[2].health.healthy(), "the new server starts healthy");
    let s = spread(lb.addr, 6).await;
    assert_eq!((s.get("200 a"), s.get("200 c")), (Some(&3), Some(&3)), "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_of_a_removed_server_stop() {
    let bs = [spawn_backend("a").await, spawn_backend("b").await];
    let lb = spawn_lb_file(&checked("round_robin", 2), &[&bs[0], &bs[1]]).await;
    let checks = |b: &Backend| b.seen().iter().filter(|r| r.uri == "/healthz").count();
    eventually(DEADLINE, || (checks(&bs[1]) >= 2).then_some(())).await;
    std::fs::write(&lb.path, fill(&checked("round_robin", 1), &[&bs[0]])).unwrap();
    lb.handle.reload().await.unwrap();
    let (a0, b0) = (checks(&bs[0]), checks(&bs[1]));
    eventually(DEADLINE, || (checks(&bs[0]) >= a0 + 4).then_some(())).await;
    assert!(checks(&bs[1]) <= b0 + 1, "b is still being checked after its removal");
}
