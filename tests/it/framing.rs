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
