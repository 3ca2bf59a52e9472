//! The access log: one line per request with every field, JSON or text, rotated on SIGUSR1.

use crate::common;
use common::process::spawn_proc;
use common::*;
use std::time::Duration;

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lines_carry_every_field_one_per_request() {
    let b = spawn_backend("b").await;
    let yaml = "listeners: [{ address: \"{LISTEN}\" }]\naccess_log: { path: access.log, format: json }\nupstreams:\n  api: { balance: consistent_hash, hash: { key: header:x-user }, servers: [{ address: \"{b0}\" }] }\nroutes: [{ name: api, match: { path_prefix: /api }, upstream: api }]\n";
    let lb = spawn_lb_file(yaml, &[&b]).await;
    let log = lb.dir.0.join("access.log");
    let c = client();
    for i in 0..5 {
        send(
            &c,
            lb.addr,
            "GET",
            &format!("/api/{i}?q=1"),
            &[("x-user", "alice"), ("host", "shop.example")],
        )
        .await;
    }
    send(&c, lb.addr, "POST", "/api/none", &[]).await;
    send(&c, lb.addr, "GET", "/missing", &[]).await;
    eventually(Duration::from_secs(10), || (lines(&log).len() == 7).then_some(())).await;
    let parsed: Vec<serde_json::Value> = lines(&log).iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    let first = &parsed[0];
    assert_eq!(first["method"], "GET");
    assert_eq!(first["host"], "shop.example");
    assert_eq!(first["path"], "/api/0?q=1");
    assert_eq!(first["status"], 200);
    assert_eq!(first["route"], "api");
    assert_eq!(first["upstream"], "api");
    assert_eq!(first["server"], b.addr.to_string());
    assert_eq!(first["key"], "header:x-user");
    assert_eq!(first["bytes"], 1, "the body \"b\"");
    assert!(first["client"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert!(first["time"].as_str().unwrap().ends_with('Z'));
    assert!(first["duration_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(parsed[5]["key"], "fallback:random");
    assert_eq!(
        (parsed[6]["status"].as_u64(), parsed[6]["route"].as_str()),
        (Some(404), Some(""))
    );
    assert!(lb.shutdown().await);
}

#[tokio::test]
async fn request_ids_and_fulcrum_made_answers_are_logged() {
    let b = spawn_backend("b").await;
    let yaml = "listeners: [{ address: \"{LISTEN}\" }]\naccess_log: { path: access.log, format: json }\nrequest_id: { header: x-trace-id }\nupstreams:\n  api: { servers: [{ address: \"{b0}\" }] }\nroutes:\n  - { name: moved, match: { path: /old }, redirect: { path: /new } }\n  - { name: api, upstream: api }\n";
    let lb = spawn_lb_file(yaml, &[&b]).await;
    let log = lb.dir.0.join("access.log");
    let c = client();
    let kept = send(&c, lb.addr, "GET", "/x", &[("x-trace-id", "trace-7")]).await;
    assert_eq!(kept.headers["x-trace-id"], "trace-7");
    let moved = send(&c, lb.addr, "GET", "/old", &[]).await;
    assert_eq!(moved.status, 302);
    eventually(Duration::from_secs(10), || (lines(&log).len() == 2).then_some(())).await;
    let parsed: Vec<serde_json::Value> = lines(&log).iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(parsed[0]["request_id"], "trace-7");
    assert_eq!(b.seen()[0].headers["x-trace-id"], "trace-7");
    assert_eq!(parsed[1]["request_id"], moved.headers["x-trace-id"].to_str().unwrap());
    assert_eq!(
        (parsed[1]["route"].as_str(), parsed[1]["status"].as_u64()),
        (Some("moved"), Some(302))
    );
    assert_eq!(
        (parsed[1]["upstream"].as_str(), parsed[1]["server"].as_str()),
        (Some(""), Some(""))
    );
    assert!(lb.shutdown().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigusr1_reopens_the_file_after_rotation() {
    let b = spawn_backend("b").await;
    let yaml = "listeners: [{ address: 127.0.0.1:0 }]\naccess_log: { path: access.log, format: text }\nupstreams: { p: { servers: [{ address: \"{b0}\" }] } }\nroutes: [{ upstream: p }]\n";
    let lb = spawn_proc(&fill(yaml, &[&b]));
    let dir = lb.path.parent().unwrap().to_path_buf();
    let (log, rotated) = (dir.join("access.log"), dir.join("access.log.1"));
    let c = client();
    for _ in 0..3 {
        send(&c, lb.addr, "GET", "/before", &[]).await;
    }
    eventually(Duration::from_secs(10), || (lines(&log).len() == 3).then_some(())).await;
    std::fs::rename(&log, &rotated).unwrap();
    lb.signal("USR1");
    eventually(Duration::from_secs(10), || log.exists().then_some(())).await;
    for _ in 0..2 {
        send(&c, lb.addr, "GET", "/after", &[]).await;
    }
    eventually(Duration::from_secs(10), || (lines(&log).len() == 2).then_some(())).await;
    assert_eq!(lines(&rotated).len(), 3);
    assert!(lines(&log)[0].contains("\"GET 127.0.0.1"), "{:?}", lines(&log));
    assert!(
        lines(&log)[0].contains("/after\" 200 route=0 upstream=p"),
        "{:?}",
        lines(&log)
    );
}
