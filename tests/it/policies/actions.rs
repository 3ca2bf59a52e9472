//! `backends`, `redirect`, `respond`, and the new match conditions.

use crate::common::*;
use std::time::Duration;

#[tokio::test]
async fn backends_split_70_30_exactly_per_cycle_and_weight_0_takes_nothing() {
    let (a, b, c) = (
        spawn_backend("a").await,
        spawn_backend("b").await,
        spawn_backend("c").await,
    );
    let yaml = r#"
listeners: [{ address: "{LISTEN}" }]
upstreams:
  a: { servers: [{ address: "{b0}" }] }
  b: { servers: [{ address: "{b1}" }] }
  c: { servers: [{ address: "{b2}" }] }
routes:
  - backends:
      - { upstream: a, weight: 70 }
      - { upstream: b, weight: 30 }
      - { upstream: c, weight: 0 }
"#;
    let lb = spawn_lb(yaml, &[&a, &b, &c]).await;
    let cl = client();
    let mut counts = std::collections::HashMap::new();
    for i in 0..1000 {
        let r = send(&cl, lb.addr, "GET", "/", &[]).await;
        assert_eq!(r.status, 200);
        *counts.entry(r.body).or_insert(0) += 1;
        if i == 99 {
            // exact over each cycle of 100
            assert_eq!((counts["a"], counts["b"]), (70, 30), "{counts:?}");
        }
    }
    assert_eq!(counts.get("a"), Some(&700), "{counts:?}");
    assert_eq!(counts.get("b"), Some(&300), "{counts:?}");
    assert_eq!(counts.get("c"), None, "weight 0 takes no requests");
}

#[tokio::test]
async fn a_pool_without_eligible_servers_takes_no_share() {
    let (a, b) = (spawn_backend("a").await, spawn_backend("b").await);
    let yaml = r#"
listeners: [{ address: "{LISTEN}" }]
upstreams:
  a:
    servers: [{ address: "{b0}" }]
    health_check: { path: /healthz, interval: 100ms, timeout: 50ms, unhealthy_threshold: 1, healthy_threshold: 1 }
  b: { servers: [{ address: "{b1}" }] }
routes:
  - backends: [{ upstream: a, weight: 90 }, { upstream: b, weight: 10 }]
"#;
    let lb = spawn_lb(yaml, &[&a, &b]).await;
    a.set_healthz(500);
    let cl = client();
    // once a's only server is ineligible, every request goes to b
    eventually_async(Duration::from_secs(10), || async {
        let r = send(&cl, lb.addr, "GET", "/", &[]).await;
        (r.body == "b").then_some(())
    })
    .await;
    for _ in 0..50 {
        assert_eq!(send(&cl, lb.addr, "GET", "/", &[]).await.body, "b");
    }
}

const REDIRECTS: &str = r#"
listeners: [{ address: "{LISTEN}" }]
upstreams:
  web: { servers: [{ address: "{b0}" }] }
routes:
  - match: { path_prefix: /https/ }
    redirect: { scheme: https, status: 301 }
  - match: { path_prefix: /host/ }
    redirect: { host: www.example.com, status: 308 }
  - match: { path_prefix: /port/ }
    redirect: { port: 8443 }
  - match: { path: /full }
    redirect: { path: /new, status: 307 }
  - match: { path: /fullq }
    redirect: { path: "/new?a=b", status: 303 }
  - match: { path_prefix: /old/ }
    redirect: { path_prefix: /v2/ }
  - upstream: web
"#;

#[tokio::test]
async fn redirects_build_an_absolute_location_and_never_reach_an_upstream() {
    let web = spawn_backend("web").await;
    let lb = spawn_lb(REDIRECTS, &[&web]).await;
    let cl = client();
    let host = [("host", "a.example:8080")];
    type Case<'a> = (&'a str, u16, &'a str);
    let cases: &[Case] = &[
        ("/https/x?q=1", 301, "https://a.example/https/x?q=1"),
        ("/host/y", 308, "http://www.example.com:8080/host/y"),
        ("/port/z?k=v", 302, "http://a.example:8443/port/z?k=v"),
        ("/full?q=1", 307, "http://a.example:8080/new?q=1"),
        ("/fullq?q=1", 303, "http://a.example:8080/new?a=b"),
        ("/old/users/7?q=1", 302, "http://a.example:8080/v2/users/7?q=1"),
    ];
    for (path, status, location) in cases {
        let r = send(&cl, lb.addr, "GET", path, &host).await;
        assert_eq!(r.status, *status, "{path}");
        assert_eq!(r.headers["location"], *location, "{path}");
    }
    let plain = send(&cl, lb.addr, "GET", "/https/", &[("host", "a.example")]).await;
    assert_eq!(plain.headers["location"], "https://a.example/https/");
    assert_eq!(web.traffic(), 0, "no redirect contacted the upstream");
    assert_eq!(send(&cl, lb.addr, "GET", "/other", &host).await.body, "web");
}

#[tokio::test]
async fn respond_answers_fixed_responses_with_their_headers() {
    let web = spawn_backend("web").await;
    let yaml = r#"
listeners: [{ address: "{LISTEN}" }]
upstreams:
  web: { servers: [{ address: "{b0}" }] }
routes:
  - match: { path: /healthz }
    respond: { status: 200, body: "ok\n" }
  - match: { path_prefix: /down }
    respond:
      status: 503
      body: "down for maintenance\n"
      content_type: text/html
      headers: { retry-after: "120" }
    response_headers: { set: { x-frame-options: DENY } }
  - upstream: web
"#;
    let lb = spawn_lb(yaml, &[&web]).await;
    let cl = client();
    let ok = send(&cl, lb.addr, "GET", "/healthz", &[]).await;
    assert_eq!((ok.status.as_u16(), ok.body.as_str()), (200, "ok\n"));
    assert_eq!(ok.headers["content-type"], "text/plain; charset=utf-8");
    let down = send(&cl, lb.addr, "POST", "/down/x", &[]).await;
    assert_eq!(down.status, 503);
    assert_eq!(down.body, "down for maintenance\n");
    assert_eq!(down.headers["content-type"], "text/html");
    assert_eq!(down.headers["retry-after"], "120");
    assert_eq!(down.headers["x-frame-options"], "DENY");
    assert_eq!(web.traffic(), 0);
}

#[tokio::test]
async fn exact_path_regex_and_query_matches() {
    let (exact, re, q, rest) = (
        spawn_backend("exact").await,
        spawn_backend("re").await,
        spawn_backend("q").await,
        spawn_backend("rest").await,
    );
    let yaml = r#"
listeners: [{ address: "{LISTEN}" }]
limits: { max_header_bytes: 200000 }
upstreams:
  exact: { servers: [{ address: "{b0}" }] }
  re: { servers: [{ address: "{b1}" }] }
  q: { servers: [{ address: "{b2}" }] }
  rest: { servers: [{ address: "{b3}" }] }
routes:
  - { match: { path: /api/login }, upstream: exact }
  - { match: { path_regex: '^/users/[0-9]+$' }, upstream: re }
  - { match: { path_prefix: /api/, query: { version: "2" } }, upstream: q }
  - upstream: rest
"#;
    let lb = spawn_lb(yaml, &[&exact, &re, &q, &rest]).await;
    let cl = client();
    for (path, want) in [
        ("/api/login", "exact"),
        ("/api/login?x=1", "exact"),
        ("/api/login/x", "rest"),
        ("/users/123", "re"),
        ("/users/12a", "rest"),
        ("/api/x?version=2", "q"),
        ("/api/x?a=1&version=2", "q"),
        ("/api/x?version=22", "rest"),
    ] {
        assert_eq!(send(&cl, lb.addr, "GET", path, &[]).await.body, want, "{path}");
    }
    // a path near 64 KiB (the most an HTTP URI type holds is 65,534 bytes)
    // is matched in linear time: answered like any other
    for (tail, want) in [("", "re"), ("x", "rest")] {
        let path = format!("/users/{}{tail}", "1".repeat(65_000));
        let raw = format!("GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        let reply = raw_exchange(lb.addr, raw.as_bytes()).await;
        assert!(
            reply.starts_with("HTTP/1.1 200") && reply.ends_with(want),
            "{want}: {}",
            &reply[..reply.len().min(200)]
        );
    }
}

#[tokio::test]
async fn explain_and_lookup_show_the_action_and_policies() {
    let yaml = r#"
listeners: [{ address: "127.0.0.1:0" }]
upstreams:
  v1: { servers: [{ address: "127.0.0.1:9001" }] }
  v2: { servers: [{ address: "127.0.0.1:9002" }] }
routes:
  - match: { path_prefix: /old/ }
    redirect: { scheme: https, path_prefix: /new/, status: 301 }
  - match: { path: /maint }
    respond: { status: 503, body: "later" }
  - name: canary
    backends: [{ upstream: v1, weight: 90 }, { upstream: v2, weight: 10 }]
    response_headers: { remove: [server] }
    timeout: 5s
    compress: true
"#;
    let config = fulcrum::config::parse(yaml).unwrap();
    let ask = |path: &str| {
        let req = fulcrum::explain::Described {
            method: http::Method::GET,
            uri: path.parse().unwrap(),
            headers: {
                let mut h = http::HeaderMap::new();
                h.insert("host", "a.example".parse().unwrap());
                h
            },
            client_ip: [127, 0, 0, 1].into(),
        };
        fulcrum::explain::explain(&config, &req)
    };
    let r = ask("/old/x?q=1");
    assert_eq!((r.status, r.action), (301, Some("redirect")));
    assert_eq!(r.location.as_deref(), Some("https://a.example/new/x?q=1"));
    let m = ask("/maint");
    assert_eq!((m.status, m.action), (503, Some("respond")));
    let c = ask("/");
    assert_eq!(c.action, Some("backends"));
    assert_eq!(
        c.upstream.as_deref(),
        Some("v1"),
        "the heavier pool is the cycle's first pick"
    );
    assert!(c.why.contains("v1 90/100, v2 10/100"), "{}", c.why);
    assert_eq!(c.policies, ["response_headers", "timeout", "compress"]);
    let text = c.to_string();
    assert!(text.contains("action: backends") && text.contains("policies: response_headers, timeout, compress"));
}

#[tokio::test]
async fn lookup_shows_the_live_action() {
    let (v1, v2) = (spawn_backend("v1").await, spawn_backend("v2").await);
    let yaml = r#"
listeners: [{ address: "{LISTEN}" }]
admin: { address: "127.0.0.1:0" }
upstreams:
  v1: { servers: [{ address: "{b0}" }] }
  v2: { servers: [{ address: "{b1}" }] }
routes:
  - match: { path: /maint }
    respond: { status: 503, body: "later" }
  - backends: [{ upstream: v1, weight: 1 }, { upstream: v2, weight: 3 }]
    request_headers: { set: { x-a: b } }
"#;
    let lb = spawn_lb_file(yaml, &[&v1, &v2]).await;
    let cl = client();
    let get = |q: &'static str| {
        let cl = cl.clone();
        let admin = lb.admin.unwrap();
        async move { serde_json::from_str::<serde_json::Value>(&send(&cl, admin, "GET", q, &[]).await.body).unwrap() }
    };
    let m = get("/lookup?path=/maint").await;
    assert_eq!(
        (m["status"].as_u64(), m["action"].as_str()),
        (Some(503), Some("respond"))
    );
    let b = get("/lookup?path=/x").await;
    assert_eq!(b["action"], "backends");
    assert_eq!(b["upstream"], "v2");
    assert_eq!(b["policies"], serde_json::json!(["request_headers"]));
    // asking does not move the live split: 1 of every 4 still goes to v1
    for _ in 0..3 {
        get("/lookup?path=/x").await;
    }
    let bodies: Vec<String> = futures_seq(&cl, lb.addr, 8).await;
    assert_eq!(bodies.iter().filter(|b| *b == "v1").count(), 2, "{bodies:?}");
}

async fn futures_seq(cl: &TestClient, addr: std::net::SocketAddr, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(send(cl, addr, "GET", "/x", &[]).await.body);
    }
    out
}
