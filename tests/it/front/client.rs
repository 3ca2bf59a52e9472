//! One client address behind trusted proxies: the rightmost untrusted
//! `X-Forwarded-For` entry, used by `${client_ip}`, `client_ip` hashing,
//! access rules and the access log alike.

use super::common::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_cdn_the_client_is_the_rightmost_untrusted_entry() {
    let b = spawn_backend("b").await;
    let dir = process::TempDir::new();
    let log = dir.0.join("access.log");
    let yaml = format!(
        "listeners: [{{ address: \"{{LISTEN}}\" }}]\ntrusted_proxies: [127.0.0.0/8, 10.0.0.0/8]\n\
         access_log: {{ path: {} }}\n\
         upstreams: {{ p: {{ servers: [{{ address: \"{{b0}}\" }}] }} }}\n\
         routes:\n  - {{ match: {{ path_prefix: /inside }}, upstream: p, access: {{ allow: [192.0.2.0/24] }} }}\n  \
         - {{ upstream: p, request_headers: {{ set: {{ x-client: \"${{client_ip}}\" }} }} }}\n",
        log.display()
    );
    let lb = spawn_lb_file_in(dir, &yaml, &[&b]).await;
    let c = client();
    // CDN edge 10.1.1.1 forwarded for 203.0.113.7, which a client spoofed 1.1.1.1 before
    let xff = [("x-forwarded-for", "1.1.1.1, 203.0.113.7, 10.1.1.1")];
    assert_eq!(send(&c, lb.addr, "GET", "/", &xff).await.status, 200);
    let seen = b.seen();
    let last = seen.last().unwrap();
    assert_eq!(last.headers["x-client"], "203.0.113.7");
    assert_eq!(
        last.headers["x-forwarded-for"], "1.1.1.1, 203.0.113.7, 10.1.1.1, 127.0.0.1",
        "the chain is kept and the peer appended"
    );
    // access rules judge the same address
    let inside = [("x-forwarded-for", "192.0.2.10, 10.1.1.1")];
    assert_eq!(send(&c, lb.addr, "GET", "/inside", &inside).await.status, 200);
    assert_eq!(send(&c, lb.addr, "GET", "/inside", &xff).await.status, 403);
    // and the access log writes it
    let line = eventually(Duration::from_secs(5), || {
        let text = std::fs::read_to_string(&log).ok()?;
        text.lines().next().map(str::to_string)
    })
    .await;
    let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(entry["client"], "203.0.113.7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_peer_cannot_choose_its_address() {
    let b = spawn_backend("b").await;
    let yaml = "listeners: [{ address: \"{LISTEN}\" }]\ntrusted_proxies: [10.0.0.0/8]\n\
                upstreams: { p: { servers: [{ address: \"{b0}\" }] } }\n\
                routes: [{ upstream: p, access: { allow: [192.0.2.0/24] } }]\n";
    let lb = spawn_lb(yaml, &[&b]).await;
    let r = send(&client(), lb.addr, "GET", "/", &[("x-forwarded-for", "192.0.2.10")]).await;
    assert_eq!(
        r.status, 403,
        "127.0.0.1 is not trusted, so its X-Forwarded-For counts for nothing"
    );
}
