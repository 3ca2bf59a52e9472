//! Routing over real sockets: host, path prefix, headers, methods, first match, strip_prefix, 404.

use crate::common;
use common::*;

const YAML: &str = r#"
listeners: [{ address: "{LISTEN}" }]
upstreams:
  exact: { servers: [{ address: "{b0}" }] }
  wild: { servers: [{ address: "{b1}" }] }
  canary: { servers: [{ address: "{b2}" }] }
  rest: { servers: [{ address: "{b3}" }] }
routes:
  - name: exact
    match: { host: api.example.com, path_prefix: /api/ }
    upstream: exact
    strip_prefix: true
  - match: { host: "*.example.com" }
    upstream: wild
  - name: canary
    match: { headers: { x-canary: "1" }, methods: [POST] }
    upstream: canary
  - match: { path_prefix: /site }
    upstream: rest
"#;

/// One backend per upstream, named like it, behind fulcrum serving YAML.
async fn setup() -> ([Backend; 4], Lb) {
    let bs = [
        spawn_backend("exact").await,
        spawn_backend("wild").await,
        spawn_backend("canary").await,
        spawn_backend("rest").await,
    ];
    let lb = spawn_lb(YAML, &[&bs[0], &bs[1], &bs[2], &bs[3]]).await;
    (bs, lb)
}

#[tokio::test]
async fn routes_by_host_path_header_method_first_match_wins() {
    let (_bs, lb) = setup().await;
    let c = client();
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        ("GET", "/api/users", &[("host", "api.example.com")], "exact"),
        ("GET", "/api/users", &[("host", "API.Example.com:8080")], "exact"),
        ("GET", "/other", &[("host", "api.example.com")], "wild"),
        ("GET", "/api/x", &[("host", "a.b.example.com")], "wild"),
        ("POST", "/site", &[("host", "example.com"), ("x-canary", "1")], "canary"),
        ("GET", "/site", &[("host", "example.com"), ("x-canary", "1")], "rest"),
        ("POST", "/site/a", &[("host", "example.com"), ("x-canary", "2")], "rest"),
    ];
    for (method, path, headers, want) in cases {
        let r = send(&c, lb.addr, method, path, headers).await;
        assert_eq!(r.status, 200, "{method} {path} {headers:?}");
        assert_eq!(r.body, *want, "{method} {path} {headers:?}");
    }
}

#[tokio::test]
async fn strip_prefix_rewrites_the_path_and_keeps_the_query() {
    let (bs, lb) = setup().await;
    let c = client();
    send(
        &c,
        lb.addr,
        "GET",
        "/api/users/7?full=1",
        &[("host", "api.example.com")],
    )
    .await;
    send(&c, lb.addr, "GET", "/site/page?x=2", &[]).await;
    assert_eq!(bs[0].seen()[0].uri, "/users/7?full=1");
    assert_eq!(bs[3].seen()[0].uri, "/site/page?x=2", "no strip without strip_prefix");
}

#[tokio::test]
async fn no_route_is_404_with_a_plain_text_body_and_reaches_no_backend() {
    let (bs, lb) = setup().await;
    let r = send(&client(), lb.addr, "GET", "/nowhere", &[("host", "example.org")]).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.headers["content-type"], "text/plain; charset=utf-8");
    assert!(r.body.contains("no route for GET example.org/nowhere"), "{}", r.body);
    assert!(bs.iter().all(|b| b.seen().is_empty()));
}
