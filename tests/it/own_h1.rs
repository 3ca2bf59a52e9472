//! fulcrum's own HTTP/1 server (`server::h1`) in front of hyper's: bodiless
//! GETs are served by it, everything else by hyper from the bytes it read,
//! on the same connection and in order.

use crate::common;
use crate::park::{response, yaml};
use common::*;
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[tokio::test]
async fn pipelined_gets_around_a_post_in_one_write_are_answered_in_order() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb(&yaml("", &b), &[]).await;
    let mut s = TcpStream::connect(lb.addr).await.unwrap();
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n");
    let post = "POST /sha HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello";
    // own, own, hyper's (a body), and the GET after it
    let all = [get("/a"), get("/b"), post.to_string(), get("/c")].concat();
    s.write_all(all.as_bytes()).await.unwrap();
    let mut pending = Vec::new();
    let mut bodies = Vec::new();
    for _ in 0..4 {
        let r = response(&mut s, &mut pending).await;
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        bodies.push(r.split("\r\n\r\n").nth(1).unwrap().to_string());
    }
    let sha = format!("5 {:x}", Sha256::digest(b"hello"));
    assert_eq!(bodies, ["b", "b", sha.as_str(), "b"]);
    let uris: Vec<String> = b.seen().iter().map(|r| r.uri.clone()).collect();
    assert_eq!(uris, ["/a", "/b", "/sha", "/c"]);
}

#[tokio::test]
async fn a_head_sent_a_byte_at_a_time_is_served() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb(&yaml("", &b), &[]).await;
    let mut s = TcpStream::connect(lb.addr).await.unwrap();
    for byte in b"GET /slow HTTP/1.1\r\nhost: x\r\nx-a: 1\r\n\r\n" {
        s.write_all(&[*byte]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let r = response(&mut s, &mut Vec::new()).await;
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n") && r.ends_with("\r\n\r\nb"), "{r}");
    let seen = b.seen();
    assert_eq!((seen.len(), seen[0].uri.as_str()), (1, "/slow"));
    assert_eq!(seen[0].headers["x-a"], "1");
}

#[tokio::test]
async fn a_body_of_unknown_length_goes_out_chunked_and_whole() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb(&yaml("", &b), &[]).await;
    let c = client();
    let req = http::Request::get(format!("http://{}/drip/3/5", lb.addr))
        .body(common::backend::pattern_body(0))
        .unwrap();
    let resp = c.request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["transfer-encoding"], "chunked");
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    let chunk = 64 * 1024;
    assert_eq!(body.len(), 3 * chunk);
    for i in 0..3 {
        let expected = common::backend::pattern_chunk((i * chunk) as u64, chunk);
        assert!(body[i * chunk..(i + 1) * chunk] == expected[..], "chunk {i} altered");
    }
    // and the connection is kept for the next request
    let reply = send(&c, lb.addr, "GET", "/", &[]).await;
    assert_eq!(reply.body, "b");
}

#[tokio::test]
async fn answers_carry_a_date_and_the_same_head_as_hypers() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb(&yaml("", &b), &[]).await;
    // the same request, once served by the own server and once by hyper
    // (an explicit `Content-Length: 0` makes it hyper's)
    let own = one(
        lb.addr,
        "GET /nope HTTP/1.1\r\nhost: x\r\nconnection: keep-alive\r\n\r\n",
    )
    .await;
    let hypers = one(lb.addr, "GET /nope HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n").await;
    let lines = |r: &str| {
        let head = r.split("\r\n\r\n").next().unwrap().to_string();
        let mut lines: Vec<String> = head
            .lines()
            .filter(|l| !l.starts_with("date: "))
            .map(str::to_string)
            .collect();
        lines.sort();
        (lines, r.contains("\r\ndate: "))
    };
    assert_eq!(lines(&own), lines(&hypers), "own:\n{own}\nhyper's:\n{hypers}");
    assert!(lines(&own).1, "a date line: {own}");
}

/// One request on a fresh connection, and its response.
async fn one(addr: std::net::SocketAddr, req: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    response(&mut s, &mut Vec::new()).await
}

/// The upstream's header lines pass through the own server as they came on
/// a route that reads no response header, and the client sees what hyper's
/// server writes from the map: the same lines (hop-by-hop ones and those
/// `Connection` names gone, the upstream's date kept), repeats of a name in
/// the upstream's order. With a response header rule the map is used.
#[tokio::test]
async fn upstream_header_lines_pass_through_as_the_map_would_write_them() {
    let heads: [&'static [u8]; 3] = [
        b"HTTP/1.1 200 OK\r\nServer: up\r\nSet-Cookie: a=1\r\nX-Up: 1\r\nSet-Cookie: b=2\r\n\
          Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Type: text/plain\r\n\
          Content-Length: 5\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Up: 2\r\nTrailer: x-sum\r\n\r\n\
          5\r\nhello\r\n0\r\nx-sum: 5\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nConnection: X-Secret, keep-alive\r\nX-Secret: 1\r\nX-Up: 3\r\n\
          content-length: 5\r\n\r\nhello",
    ];
    for reply in heads {
        let up = spawn_raw_server(reply).await;
        for rule in ["", "\n    response_headers: { set: { x-rule: on } }"] {
            let yaml = format!(
                "listeners: [{{ address: \"127.0.0.1:0\" }}]\nupstreams: {{ p: {{ servers: [{{ address: \"{}\" }}] }} }}\nroutes:\n  - upstream: p{rule}\n",
                up.addr
            );
            let lb = spawn_lb(&yaml, &[]).await;
            let own = one(lb.addr, "GET / HTTP/1.1\r\nhost: x\r\n\r\n").await;
            let hypers = one(lb.addr, "GET / HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n").await;
            let sorted = |r: &str| {
                let (head, body) = r.split_once("\r\n\r\n").unwrap();
                let mut lines: Vec<String> = head.lines().map(str::to_string).collect();
                let first = lines.remove(0);
                lines.retain(|l| !l.starts_with("date: ") || l.contains("1994"));
                lines.sort();
                (first, lines, body.to_string())
            };
            let (first, lines, body) = sorted(&own);
            assert_eq!(
                (first, lines.clone(), body),
                sorted(&hypers),
                "own:\n{own}\nhyper's:\n{hypers}"
            );
            assert!(own.contains("\r\nx-up: "), "{own}");
            assert_eq!(own.matches("date: ").count(), 1, "one date: {own}");
            for gone in ["connection", "keep-alive", "x-secret", "trailer"] {
                assert!(!lines.iter().any(|l| l.starts_with(gone)), "{gone} in {own}");
            }
            assert_eq!(rule.is_empty(), !own.contains("x-rule: on"), "{own}");
            if reply.starts_with(b"HTTP/1.1 200 OK\r\nServer") {
                assert!(own.contains("date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"), "{own}");
                let at = |line: &str| own.find(line).unwrap();
                let (a, b, x) = (at("set-cookie: a=1"), at("set-cookie: b=2"), at("x-up: 1"));
                assert!(a < b, "{own}");
                // the lines keep the upstream's order; the map groups a name's repeats
                assert_eq!(
                    rule.is_empty(),
                    a < x && x < b,
                    "passed through: {}\n{own}",
                    rule.is_empty()
                );
            }
        }
    }
}
