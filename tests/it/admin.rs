//! The admin listener: healthz, metrics, status, lookup, reload.

use crate::common;
use common::*;

const YAML: &str = r#"
listeners: [{ address: "{LISTEN}" }]
admin: { address: "127.0.0.1:0" }
upstreams:
  api:
    balance: consistent_hash
    hash: { key: header:x-user }
    servers: [{ address: "{b0}" }, { address: "{b1}" }]
routes: [{ name: api, upstream: api }]
"#;

#[tokio::test]
async fn healthz_metrics_status_lookup() {
    let bs = [spawn_backend("a").await, spawn_backend("b").await];
    let lb = spawn_lb_file(YAML, &[&bs[0], &bs[1]]).await;
    let admin = lb.admin.expect("admin bound");
    let c = client();
    let r = send(&c, admin, "GET", "/healthz", &[]).await;
    assert_eq!((r.status.as_u16(), r.body.as_str()), (200, "ok\n"));

    let r = send(&c, admin, "GET", "/metrics", &[]).await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("# TYPE fulcrum_config_reloads_total counter"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("fulcrum_config_reloads_total{result=\"failure\"} 0"),
        "{}",
        r.body
    );

    for _ in 0..3 {
        send(&c, lb.addr, "GET", "/", &[("x-user", "alice")]).await;
    }
    let r = send(&c, admin, "GET", "/status", &[]).await;
    let status: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(status["version"], 1);
    let servers = status["upstreams"]["api"]["servers"].as_array().unwrap();
    let total: u64 = servers.iter().map(|s| s["requests"].as_u64().unwrap()).sum();
    assert_eq!(total, 3);
    assert!(servers
        .iter()
        .all(|s| s["in_flight"] == 0 && s["healthy"] == true && s["weight"] == 1));

    let r = send(&c, admin, "GET", "/lookup?path=/x&header=x-user:alice", &[]).await;
    let found: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let alice_went = send(&c, lb.addr, "GET", "/", &[("x-user", "alice")]).await.body;
    let alice_server = if alice_went == "a" { bs[0].addr } else { bs[1].addr };
    assert_eq!(found["route"], "api");
    assert_eq!(found["server"], alice_server.to_string());
    assert_eq!(found["why"], "hash of header:x-user = \"alice\"");

    let r = send(&c, admin, "GET", "/lookup?bogus=1", &[]).await;
    assert_eq!(r.status, 400);
    let r = send(&c, admin, "GET", "/lookup?header=x-user:alice", &[]).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("missing parameter: path"), "{}", r.body);
    assert_eq!(send(&c, admin, "GET", "/nope", &[]).await.status, 404);
    assert_eq!(send(&c, admin, "GET", "/reload", &[]).await.status, 405);
}

#[tokio::test]
async fn post_reload_applies_or_reports_the_validation_error() {
    let bs = [spawn_backend("a").await, spawn_backend("b").await];
    let lb = spawn_lb_file(YAML, &[&bs[0], &bs[1]]).await;
    let admin = lb.admin.unwrap();
    let c = client();
    std::fs::write(
        &lb.path,
        fill(
            &YAML.replace("{b1}", "{b0}").replace(", { address: \"{b0}\" }", ""),
            &[&bs[0]],
        ),
    )
    .unwrap();
    let r = send(&c, admin, "POST", "/reload", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, "{\"version\":2}");
    std::fs::write(
        &lb.path,
        "listeners: [{ address: 127.0.0.1:0 }]\nupstreams: {}\nroutes: [{ upstream: gone }]\n",
    )
    .unwrap();
    let r = send(&c, admin, "POST", "/reload", &[]).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("routes[0].upstream (line 3)"), "{}", r.body);
    assert_eq!(lb.handle.version(), 2, "the failed reload changed nothing");
    let m = send(&c, admin, "GET", "/metrics", &[]).await.body;
    assert!(m.contains("fulcrum_config_reloads_total{result=\"failure\"} 1"), "{m}");
    assert!(m.contains("fulcrum_config_reloads_total{result=\"success\"} 1"), "{m}");
    for _ in 0..4 {
        assert_eq!(send(&c, lb.addr, "GET", "/", &[("x-user", "zed")]).await.body, "a");
    }
}
