//! The wire: forwarded and hop-by-hop headers, errors, h2c, keep-alive reuse.

use crate::common;
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ONE: &str = r#"
listeners: [{ address: "{LISTEN}" }]
upstreams:
  pool:
    servers: [{ address: "{b0}" }]
    timeouts: { connect: 500ms, response: 300ms }
routes: [{ match: { path_prefix: / }, upstream: pool }]
"#;

#[tokio::test]
async fn forwarded_headers_added_hop_by_hop_removed_host_kept() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb(ONE, &[&b]).await;
    let resp = raw_exchange(
        lb.addr,
        b"GET /h HTTP/1.1\r\nHost: shop.example:8080\r\nConnection: X-Secret, close\r\nX-Secret: s\r\n\
          Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: h2c\r\n\
          X-Forwarded-For: 6.6.6.6\r\nX-Keep: yes\r\n\r\n",
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(
        !resp.to_ascii_lowercase().contains("keep-alive: timeout"),
        "response hop-by-hop removed: {resp}"
    );
    let seen = &b.seen()[0];
    let h = &seen.headers;
    assert_eq!(h["host"], "shop.example:8080");
    assert_eq!(
        h["x-forwarded-for"], "127.0.0.1",
        "an untrusted client's XFF is replaced"
    );
    assert_eq!(h["x-forwarded-proto"], "http");
    assert_eq!(h["x-forwarded-host"], "shop.example:8080");
    assert_eq!(h["x-keep"], "yes");
    for gone in [
        "x-secret",
        "keep-alive",
        "proxy-connection",
        "te",
        "upgrade",
        "transfer-encoding",
    ] {
        assert!(!h.contains_key(gone), "{gone} was forwarded: {h:?}");
    }
    // the connection header itself reaches upstream only as hyper's own keep-alive framing
    assert!(h.get("connection").is_none_or(|v| v != "X-Secret, close"));
}

#[tokio::test]
async fn refused_connection_is_502_in_words_without_the_servers_address() {
    let dead = closed_port();
    let yaml = ONE.replace("{b0}", &dead.to_string());
    let lb = spawn_lb(&yaml, &[]).await;
    let r = send(&client(), lb.addr, "GET", "/", &[]).await;
    assert_eq!(r.status, 502);
    assert_eq!(r.headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(r.body, "502 Bad Gateway: upstream pool: no server could be reached\n");
    assert!(
        !r.body.contains(&dead.port().to_string()),
        "no internal address: {}",
        r.body
    );
}

#[tokio::test]
async fn bad_upstream_response_is_502() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(b"NOT HTTP AT ALL\r\n\r\n").await;
        }
    });
    let lb = spawn_lb(&ONE.replace("{b0}", &addr.to_string()), &[]).await;
    let r = send(&client(), lb.addr, "GET", "/", &[]).await;
    assert_eq!(r.status, 502);
    assert_eq!(
        r.body,
        "502 Bad Gateway: upstream pool: the server sent no valid response\n"
    );
    assert!(!r.body.contains(&addr.port().to_string()), "{}", r.body);
}

#[tokio::test]
async fn slow_response_is_504_within_the_timeout() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb(ONE, &[&b]).await;
    let r = send(&client(), lb.addr, "GET", "/sleep/3000", &[]).await;
    assert_eq!(r.status, 504);
    assert_eq!(r.body, "504 Gateway Timeout: upstream pool: no response in time\n");
}

#[tokio::test]
async fn malformed_request_is_400_and_reaches_no_upstream() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb(ONE, &[&b]).await;
    for bad in [
        &b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        b"\x00\x01garbage\r\n\r\n",
    ] {
        let resp = raw_exchange(lb.addr, bad).await;
        assert!(
            resp.starts_with("HTTP/1.1 400"),
            "{:?} -> {resp}",
            String::from_utf8_lossy(bad)
        );
    }
    assert_eq!(b.accepted(), 0, "an upstream received bytes from a malformed request");
}

#[tokio::test]
async fn h2c_downstream_is_proxied_to_http1_upstream() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb(ONE, &[&b]).await;
    let c = h2_client();
    for _ in 0..3 {
        let r = send(&c, lb.addr, "GET", "/two?x=1", &[("cookie", "a=1")]).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body, "b");
    }
    let seen = &b.seen()[0];
    assert_eq!(seen.version, http::Version::HTTP_11);
    assert_eq!(seen.uri, "/two?x=1");
    assert_eq!(
        seen.headers["host"],
        lb.addr.to_string(),
        "Host set from the :authority"
    );
}

#[tokio::test]
async fn upstream_connections_are_reused() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb(&format!("workers: 1\n{ONE}"), &[&b]).await;
    let c = client();
    for _ in 0..30 {
        assert_eq!(send(&c, lb.addr, "GET", "/", &[]).await.status, 200);
    }
    // a fresh downstream connection per request still rides the upstream pool
    for _ in 0..20 {
        let r = raw_exchange(lb.addr, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 200"));
    }
    assert_eq!(b.seen().len(), 50);
    assert_eq!(
        b.accepted(),
        1,
        "50 sequential requests should share one upstream connection"
    );
}

#[tokio::test]
async fn each_worker_serves_connections_with_its_own_upstream_pool() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb(&format!("workers: 2\n{ONE}"), &[&b]).await;
    // connections are handed to the workers in turn; each worker reuses
    // the upstream connection of its own pool, never the other's
    for _ in 0..20 {
        let r = raw_exchange(lb.addr, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    }
    assert_eq!(b.seen().len(), 20);
    assert_eq!(b.accepted(), 2, "one upstream connection per worker");
}
