//! Downstream limits with the real bytes: 431, 413, slowloris, max_connections; trusted proxies.

use crate::common;
use common::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn yaml(limits: &str, trusted: &str) -> String {
    format!(
        "listeners: [{{ address: \"{{LISTEN}}\" }}]\nlimits: {{ {limits} }}\ntrusted_proxies: [{trusted}]\nupstreams: {{ p: {{ servers: [{{ address: \"{{b0}}\" }}] }} }}\nroutes: [{{ upstream: p }}]\n"
    )
}

#[tokio::test]
async fn oversized_heads_get_431_and_reach_no_upstream() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb(&yaml("max_header_bytes: 8192, max_headers: 5", ""), &[&b]).await;
    let big = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(10_000));
    assert!(raw_exchange(lb.addr, big.as_bytes()).await.starts_with("HTTP/1.1 431"));
    let many: String = (0..10).map(|i| format!("X-H{i}: v\r\n")).collect();
    let req = format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    assert!(raw_exchange(lb.addr, req.as_bytes()).await.starts_with("HTTP/1.1 431"));
    assert_eq!(b.accepted(), 0);
    let ok = raw_exchange(lb.addr, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb(&yaml("max_body_bytes: 1000", ""), &[&b]).await;
    let declared = format!(
        "POST /sha HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n{}",
        "a".repeat(5000)
    );
    let r = raw_exchange(lb.addr, declared.as_bytes()).await;
    assert!(r.starts_with("HTTP/1.1 413"), "{r}");
    assert!(r.contains("max_body_bytes (1000 bytes)"), "{r}");
    assert_eq!(b.accepted(), 0, "refused before anything was forwarded");
    let chunk = format!("{:x}\r\n{}\r\n", 800, "b".repeat(800));
    let chunked = format!(
        "POST /sha HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunk}{chunk}0\r\n\r\n"
    );
    let r = raw_exchange(lb.addr, chunked.as_bytes()).await;
    assert!(r.starts_with("HTTP/1.1 413"), "{r}");
    let small = "POST /sha HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc";
    let r = raw_exchange(lb.addr, small.as_bytes()).await;
    assert!(r.starts_with("HTTP/1.1 200") && r.contains("\r\n\r\n3 "), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_head_is_cut_off_while_others_are_served() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb(&yaml("header_read_timeout: 300ms", ""), &[&b]).await;
    let mut slow = TcpStream::connect(lb.addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let c = client();
    for _ in 0..5 {
        assert_eq!(send(&c, lb.addr, "GET", "/", &[]).await.status, 200);
    }
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if slow.write_all(b"X-Drip: 1\r\n").await.is_err() {
                return;
            }
            if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(1), slow.read_to_end(&mut rest)).await {
                return;
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the slowloris connection was never closed");
    assert_eq!(b.traffic(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_connections_holds_new_connections_until_one_closes() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb(&yaml("max_connections: 2", ""), &[&b]).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(lb.addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 256];
        assert!(s.read(&mut buf).await.unwrap() > 0);
        held.push(s);
    }
    let mut third = TcpStream::connect(lb.addr).await.unwrap();
    third
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let early = tokio::time::timeout(Duration::from_millis(300), third.read_to_end(&mut buf)).await;
    assert!(
        early.is_err() && buf.is_empty(),
        "a third connection was served past max_connections"
    );
    drop(held.pop());
    tokio::time::timeout(Duration::from_secs(10), third.read_to_end(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn x_forwarded_for_follows_trusted_proxies() {
    let b = spawn_backend("b").await;
    let c = client();
    let trusting = spawn_lb(&yaml("", "\"127.0.0.0/8\""), &[&b]).await;
    send(&c, trusting.addr, "GET", "/", &[("x-forwarded-for", "203.0.113.7")]).await;
    let other = spawn_lb(&yaml("", "\"10.0.0.0/8\""), &[&b]).await;
    send(&c, other.addr, "GET", "/", &[("x-forwarded-for", "203.0.113.7")]).await;
    let seen = b.seen();
    assert_eq!(seen[0].headers["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
    assert_eq!(seen[1].headers["x-forwarded-for"], "127.0.0.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_requests_meet_the_same_limits() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb(
        &yaml("max_header_bytes: 8192, max_headers: 5, max_body_bytes: 1000", ""),
        &[&b],
    )
    .await;
    let c = h2_client();
    let big = "a".repeat(10_000);
    let many: Vec<(String, &str)> = (0..10).map(|i| (format!("x-h{i}"), "v")).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    for (what, headers) in [("bytes", vec![("x-big", big.as_str())]), ("count", many)] {
        let req = headers
            .iter()
            .fold(http::Request::get(format!("http://{}/", lb.addr)), |r, (k, v)| {
                r.header(*k, *v)
            })
            .body(http_body_util::BodyExt::boxed(http_body_util::Full::new(
                bytes::Bytes::new(),
            )))
            .unwrap();
        match c.request(req).await {
            Ok(resp) => assert_eq!(resp.status(), 431, "over max_header_{what}"),
            Err(e) => panic!("over max_header_{what}: {e:?}"),
        }
    }
    let req = http::Request::post(format!("http://{}/sha", lb.addr))
        .body(http_body_util::BodyExt::boxed(http_body_util::Full::new(
            bytes::Bytes::from(vec![b'a'; 5000]),
        )))
        .unwrap();
    assert_eq!(c.request(req).await.unwrap().status(), 413);
    assert_eq!(b.traffic(), 0, "nothing over a limit was forwarded");
    assert_eq!(send(&c, lb.addr, "GET", "/", &[]).await.status, 200);
}
