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
