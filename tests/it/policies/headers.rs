//! Header rules, placeholders, request IDs and rewrites.

use crate::common::*;
use std::collections::HashSet;

const YAML: &str = r#"
listeners: [{ address: "{LISTEN}" }]
request_id: {}
upstreams:
  web: { servers: [{ address: "{b0}" }] }
  dead: { servers: [{ address: "{b1}" }], retries: { attempts: 0 } }
routes:
  - name: dead
    match: { path_prefix: /dead }
    upstream: dead
    response_headers:
      set: { strict-transport-security: "max-age=63072000", x-id: "${request_id}" }
  - name: app
    match: { path_prefix: /app/ }
    upstream: web
    rewrite: { path_prefix: /internal/, host: web.internal }
    request_headers:
      set: { x-env: prod, x-real-ip: "${client_ip}", x-seen: "${scheme}://${host} $$5 ${request_id}" }
      add: { via: "1.1 fulcrum" }
      remove: [x-debug, x-forwarded-proto]
    response_headers:
      set: { strict-transport-security: "max-age=63072000" }
      add: { x-served-by: fulcrum }
      remove: [server, x-powered-by]
  - name: regex
    match: { path_prefix: /old/ }
    upstream: web
    rewrite: { path_regex: { pattern: '^/old/(.*)$', replacement: '/new/$1' } }
"#;

#[tokio::test]
async fn request_and_response_rules_with_placeholders() {
    let web = spawn_backend("web").await;
    let dead = closed_port();
    let yaml = YAML.replace("{b1}", &dead.to_string());
    let lb = spawn_lb(&yaml, &[&web]).await;
    let cl = client();
    let headers = [
        ("host", "shop.example:8080"),
        ("x-debug", "1"),
        ("via", "1.0 cdn"),
        ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        ("tracestate", "congo=t61rcWkgMzE"),
        ("x-request-id", "client-id-1"),
    ];
    let r = send(
        &cl,
        lb.addr,
        "GET",
        "/app/doc/10?h.server=backend&h.x-powered-by=php&q=1",
        &headers,
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.headers.get("server").is_none() && r.headers.get("x-powered-by").is_none());
    assert_eq!(r.headers["strict-transport-security"], "max-age=63072000");
    assert_eq!(r.headers["x-served-by"], "fulcrum");
    assert_eq!(r.headers["x-request-id"], "client-id-1", "a valid incoming ID is kept");
    let seen = web.seen().pop().unwrap();
    assert!(
        seen.uri.starts_with("/internal/doc/10?"),
        "rewritten path keeps the query: {}",
        seen.uri
    );
    let h = &seen.headers;
    assert_eq!(h["host"], "web.internal");
    assert_eq!(
        h["x-forwarded-host"], "shop.example:8080",
        "X-Forwarded-Host keeps the client's host"
    );
    assert_eq!(h["x-env"], "prod");
    assert_eq!(h["x-real-ip"], "127.0.0.1");
    assert_eq!(h["x-seen"], "http://shop.example $5 client-id-1");
    let via: Vec<_> = h.get_all("via").iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(via, ["1.0 cdn", "1.1 fulcrum"]);
    assert!(h.get("x-debug").is_none());
    assert!(
        h.get("x-forwarded-proto").is_none(),
        "rules run after fulcrum's own headers"
    );
    assert_eq!(h["x-request-id"], "client-id-1");
    assert_eq!(h["traceparent"], headers[3].1);
    assert_eq!(h["tracestate"], headers[4].1);

    // fulcrum's own answer on a route carries its response rules
    let bad = send(&cl, lb.addr, "GET", "/dead", &[("x-request-id", "bad id")]).await;
    assert_eq!(bad.status, 502);
    assert_eq!(bad.headers["strict-transport-security"], "max-age=63072000");
    let id = bad.headers["x-request-id"].to_str().unwrap().to_string();
    assert_ne!(id, "bad id", "an ID with a space is replaced");
    assert_eq!(bad.headers["x-id"], id.as_str(), "${{request_id}} is the same ID");

    let old = send(&cl, lb.addr, "GET", "/old/a/b?z=9", &[]).await;
    assert_eq!(old.status, 200);
    assert_eq!(web.seen().pop().unwrap().uri, "/new/a/b?z=9");
}

#[tokio::test]
async fn request_ids_are_generated_unique_and_match_upstream() {
    let web = spawn_backend("web").await;
    let lb = spawn_lb(YAML.replace("{b1}", &closed_port().to_string()).as_str(), &[&web]).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let addr = lb.addr;
        tasks.push(tokio::spawn(async move {
            let cl = client();
            let mut ids = Vec::new();
            for _ in 0..1250 {
                let r = send(&cl, addr, "GET", "/regex-miss", &[]).await;
                assert_eq!(r.status, 404);
                ids.push(r.headers["x-request-id"].to_str().unwrap().to_string());
            }
            ids
        }));
    }
    let mut all = HashSet::new();
    for t in tasks {
        for id in t.await.unwrap() {
            assert_eq!(id.len(), 32, "{id}");
            assert!(
                id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{id}"
            );
            all.insert(id);
        }
    }
    assert_eq!(all.len(), 10_000, "every generated ID is unique");
    let cl = client();
    let r = send(&cl, lb.addr, "GET", "/app/x", &[]).await;
    let id = r.headers["x-request-id"].clone();
    assert_eq!(
        web.seen().pop().unwrap().headers["x-request-id"],
        id,
        "the upstream got the same ID"
    );
    let long = "a".repeat(201);
    let r = send(&cl, lb.addr, "GET", "/app/x", &[("x-request-id", &long)]).await;
    assert_eq!(
        r.headers["x-request-id"].len(),
        32,
        "an ID over 200 characters is replaced"
    );
}
