//! Upstream protocols and failures: h2c pools with trailers (gRPC style), a
//! response cut mid-body reaching the client as a truncation, an invalid
//! status line answered 502, and bad connections never pooled.

use crate::common;
use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// One pool `p` of one server, `extra` lines inside the pool, one route to it.
pub(crate) fn one_pool(server: &str, extra: &str) -> String {
    format!(
        "listeners: [{{ address: \"{{LISTEN}}\" }}]\nupstreams:\n  p:\n    servers: [{{ address: \"{server}\" }}]\n{extra}routes: [{{ upstream: p }}]\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_pools_speak_http2_and_pass_trailers_through() {
    let b = spawn_backend("b").await;
    // one worker, so one pool: exactly one upstream connection below
    let yaml = format!("workers: 1\n{}", one_pool("{b0}", "    protocol: h2c\n"));
    let lb = spawn_lb(&yaml, &[&b]).await;
    let c = h2_client();
    let req = http::Request::post(format!("http://{}/grpc", lb.addr))
        .header("te", "trailers")
        .header("content-type", "application/grpc")
        .body(BodyExt::boxed(Full::new(Bytes::from_static(b"\0\0\0\0\x05hello"))))
        .unwrap();
    let resp = c.request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let collected = resp.into_body().collect().await.unwrap();
    let trailers = collected.trailers().cloned().expect("trailers reached the client");
    assert_eq!(collected.to_bytes().as_ref(), b"\0\0\0\0\x05hello");
    assert_eq!(trailers["grpc-status"], "0");
    assert_eq!(
        trailers["x-te"], "trailers",
        "TE: trailers was passed to the h2c upstream"
    );
    assert_eq!(trailers["x-received"], "10");
    // an HTTP/1.1 client is served over the same HTTP/2 upstream connection
    assert_eq!(send(&client(), lb.addr, "GET", "/", &[]).await.body, "b");
    let seen = b.seen();
    assert!(seen.iter().all(|r| r.version == http::Version::HTTP_2), "{seen:?}");
    assert_eq!(b.accepted(), 1, "one multiplexed connection");
}

/// An upstream that answers every request with `reply` and then closes;
/// counts its connections.
async fn spawn_raw_upstream(reply: &'static [u8]) -> (SocketAddr, Arc<AtomicUsize>) {
    let server = spawn_raw_server(reply).await;
    (server.addr, server.connections)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_cut_short_reaches_the_client_as_a_truncation() {
    let (up, conns) =
        spawn_raw_upstream(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly forty bytes of the hundred promised")
            .await;
    let b = spawn_backend("b").await;
    let lb = spawn_lb(&one_pool(&up.to_string(), ""), &[&b]).await;
    // HTTP/1.1: the head promises 100 bytes, the connection closes before them
    for _ in 0..2 {
        let raw = raw_exchange(lb.addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{raw}");
        assert!(head.to_ascii_lowercase().contains("content-length: 100"), "{head}");
        assert!(body.len() < 100, "the client must see fewer bytes than promised");
    }
    // HTTP/2: the stream is reset, never ended cleanly
    let resp = h2_client()
        .request(
            http::Request::get(format!("http://{}/", lb.addr))
                .body(BodyExt::boxed(Full::new(Bytes::new())))
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(
        resp.into_body().collect().await.is_err(),
        "a clean end after a truncation"
    );
    assert_eq!(
        conns.load(Ordering::SeqCst),
        3,
        "the cut connection was pooled and reused"
    );
}

#[tokio::test]
async fn an_invalid_status_line_is_502() {
    for reply in [
        &b"HTTP/1.1 2000 OK\r\n\r\n"[..],
        b"HTTP/1.1 OK\r\nContent-Length: 0\r\n\r\n",
        b"\x00\x01garbage\r\n\r\n",
    ] {
        let (up, conns) = spawn_raw_upstream(reply).await;
        let lb = spawn_lb(&one_pool(&up.to_string(), ""), &[]).await;
        let c = client();
        for _ in 0..2 {
            let r = send(&c, lb.addr, "GET", "/", &[]).await;
            assert_eq!(r.status, 502, "{reply:?}: {}", r.body);
            assert_eq!(
                r.body,
                "502 Bad Gateway: upstream p: the server sent no valid response\n"
            );
        }
        assert_eq!(
            conns.load(Ordering::SeqCst),
            2,
            "a bad connection went back to the pool"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_never_accepts_is_502_after_the_connect_timeout() {
    // a listener whose backlog is full: the kernel drops further SYNs
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        match tokio::time::timeout(
            std::time::Duration::from_millis(200),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(s)) => fillers.push(s),
            _ => break,
        }
    }
    let lb = spawn_lb(
        &one_pool(
            &addr.to_string(),
            "    timeouts: { connect: 300ms }\n    retries: { attempts: 0 }\n",
        ),
        &[],
    )
    .await;
    let start = std::time::Instant::now();
    let r = send(&client(), lb.addr, "GET", "/", &[]).await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.body, "502 Bad Gateway: upstream p: no server could be reached\n");
    // it waited for the connect (not refused at once), and far less than the
    // kernel's own connect timeout (the upper bound is generous against noise)
    let took = start.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(250),
        "refused, not timed out: {took:?}"
    );
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
    drop(listener);
}

/// fulcrum, retries off, in front of an upstream that answers one request
/// per connection as keep-alive and then closes it; counts its connections.
async fn behind_a_closing_upstream() -> (Lb, Arc<AtomicUsize>) {
    let (up, conns) = spawn_raw_upstream(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
    let lb = spawn_lb(&one_pool(&up.to_string(), "    retries: { attempts: 0 }\n"), &[]).await;
    (lb, conns)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pooled_connection_the_server_closed_is_replaced_transparently() {
    let (lb, conns) = behind_a_closing_upstream().await;
    let c = client();
    for _ in 0..5 {
        let r = send(&c, lb.addr, "GET", "/", &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        // let the server's close reach the idle pooled connection
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        conns.load(Ordering::SeqCst),
        5,
        "each request needed a fresh connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_to_back_requests_survive_a_server_closing_every_connection() {
    // the close races the next request: either the pool sees it first and
    // connects anew, or the request comes back unsent and goes on a new
    // connection; with retries off, neither may cost the client a response
    let (lb, conns) = behind_a_closing_upstream().await;
    let c = client();
    for i in 0..30 {
        let r = send(&c, lb.addr, "GET", "/", &[]).await;
        assert_eq!(r.status, 200, "request {i}: {}", r.body);
    }
    assert!(conns.load(Ordering::SeqCst) >= 30, "one connection per request");
}
