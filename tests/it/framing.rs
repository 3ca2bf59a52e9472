//! Framing attacks get 400 and a closed connection and never reach an upstream.
//! Both Content-Length and Transfer-Encoding (which hyper alone would
//! normalise to chunked) are caught by fulcrum's own head scan.

use crate::common;
use common::*;

const ONE: &str = "listeners: [{ address: \"{LISTEN}\" }]\nupstreams: { p: { servers: [{ address: \"{b0}\" }] } }\nroutes: [{ upstream: p }]\n";

#[tokio::test]
async fn ambiguous_or_invalid_framing_is_400_and_forwards_nothing() {
    let cases: &[(&str, &[u8])] = &[
        (
            "differing CLs",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        ),
        (
            "CL +5",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
        ),
        (
            "unknown coding",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nhello",
        ),
        (
            "doubled chunked",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
        ),
        (
            "bad chunk size",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        ),
        (
            "CL then TE",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ),
        (
            "TE then CL",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        ),
        ("bare LF in value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\nb\r\n\r\n"),
        ("obs-fold", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n"),
        ("NUL in value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n"),
        ("bare CR in value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n"),
        ("space before colon", b"GET / HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n"),
    ];
    let mut failures = Vec::new();
    for (name, bytes) in cases {
        let b = spawn_backend("b").await;
        let lb = spawn_lb(ONE, &[&b]).await;
        let start = std::time::Instant::now();
        let resp = raw_exchange(lb.addr, bytes).await;
        // raw_exchange gives up after 5 s: sooner means fulcrum closed the connection
        let closed = start.elapsed() < std::time::Duration::from_secs(4);
        let forwarded = b.traffic();
        // a well-behaved client is still served after each attack
        let good = send(&client(), lb.addr, "GET", "/", &[]).await.status;
        if !resp.starts_with("HTTP/1.1 400") || forwarded != 0 || !closed || good != 200 {
            failures.push(format!(
                "{name}: answered {:?}, upstream saw {forwarded}",
                resp.lines().next().unwrap_or("")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_body_that_looks_like_ambiguous_headers_is_just_a_body() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb(ONE, &[&b]).await;
    // head and body in one write: the scan must stop at the head's blank line
    let body = "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
    let req = format!(
        "POST /sha HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let resp = raw_exchange(lb.addr, req.as_bytes()).await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(
        resp.contains(&format!("{} ", body.len())),
        "the body reached the upstream whole: {resp}"
    );
    assert_eq!(b.traffic(), 1);
}

/// An HTTP/1 answer given before the request body was read (here a 502:
/// the only server refuses connections) says `Connection: close`, since the
/// connection closes after it: a client that already sent the whole body
/// would otherwise reuse the connection and lose its next request (found by
/// the chaos soak). An answer after the body was read keeps the connection.
#[tokio::test]
async fn an_answer_before_the_body_was_read_closes_and_says_so() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let b = spawn_backend("b").await;
    let refused = closed_port();
    let yaml = format!(
        "listeners: [{{ address: \"{{LISTEN}}\" }}]\nupstreams:\n  p: {{ servers: [{{ address: \"{{b0}}\" }}] }}\n  down: {{ servers: [{{ address: \"{refused}\" }}] }}\nroutes:\n  - {{ match: {{ path_prefix: /down }}, upstream: down }}\n  - {{ upstream: p }}\n"
    );
    let lb = spawn_lb(&yaml, &[&b]).await;
    async fn head(addr: std::net::SocketAddr, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let body = "x".repeat(1000);
        let req = format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{body}");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = s.read(&mut buf).await.unwrap();
        String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase()
    }
    let early = head(lb.addr, "/down").await;
    assert!(early.starts_with("http/1.1 502"), "{early}");
    assert!(early.contains("connection: close"), "{early}");
    let read = head(lb.addr, "/sha").await;
    assert!(read.starts_with("http/1.1 200"), "{read}");
    assert!(!read.contains("connection: close"), "{read}");
    let get = send(&client(), lb.addr, "GET", "/down", &[]).await;
    assert_eq!(get.status, 502);
    assert!(
        get.headers.get("connection").is_none(),
        "a GET had no body to leave unread"
    );
}
