//! How fulcrum reads an HTTP/1 upstream's response (RFC 9112 §6.3): chunked
//! bodies with extensions and trailers, close-delimited bodies, HEAD and
//! interim responses, heads and bodies arriving in pieces; and the
//! desync cases, where the framing is ambiguous (502, never forwarded) or
//! the upstream sends more than it framed (the extra bytes are never taken
//! as the next request's response: the connection is not reused).

use crate::common;
use crate::upstream_faults::one_pool;
use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An upstream that answers every request head on a connection with
/// `reply`, written `piece` bytes at a time; counts connections and requests.
struct Scripted {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

async fn scripted(reply: &'static [u8], piece: usize) -> Scripted {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let s = Scripted {
        addr: listener.local_addr().unwrap(),
        connections: Default::default(),
        requests: Default::default(),
    };
    let (connections, requests) = (s.connections.clone(), s.requests.clone());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            connections.fetch_add(1, Ordering::SeqCst);
            let requests = requests.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        requests.fetch_add(1, Ordering::SeqCst);
                        for part in reply.chunks(piece) {
                            if sock.write_all(part).await.is_err() {
                                return;
                            }
                        }
                    }
                    let mut chunk = [0u8; 4096];
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    s
}

/// fulcrum with one worker (one pool: a test client's second connection
/// would otherwise land on the other worker's pool) in front of `scripted`.
async fn behind(reply: &'static [u8], piece: usize) -> (Lb, Scripted) {
    let up = scripted(reply, piece).await;
    let yaml = format!(
        "workers: 1\n{}",
        one_pool(&up.addr.to_string(), "    retries: { attempts: 0 }\n")
    );
    (spawn_lb(&yaml, &[]).await, up)
}

const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-sum\r\n\r\n5;ext=1\r\nhello\r\nA\r\n, world!!!\r\n0\r\nx-sum: 15\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_bodies_pass_whole_in_any_pieces_on_one_connection() {
    for piece in [1, 7, CHUNKED.len()] {
        let (lb, up) = behind(CHUNKED, piece).await;
        let c = client();
        for _ in 0..3 {
            let r = send(&c, lb.addr, "GET", "/", &[]).await;
            assert_eq!(
                (r.status.as_u16(), r.body.as_str()),
                (200, "hello, world!!!"),
                "pieces of {piece}"
            );
        }
        assert_eq!(up.connections.load(Ordering::SeqCst), 1, "pieces of {piece}: reused");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trailers_of_a_chunked_http1_response_reach_an_http2_client() {
    let (lb, _up) = behind(CHUNKED, 16).await;
    let req = http::Request::get(format!("http://{}/", lb.addr))
        .body(BodyExt::boxed(Full::new(Bytes::new())))
        .unwrap();
    let resp = h2_client().request(req).await.unwrap();
    let collected = resp.into_body().collect().await.unwrap();
    let trailers = collected.trailers().cloned().expect("trailers");
    assert_eq!(trailers["x-sum"], "15");
    assert_eq!(collected.to_bytes().as_ref(), b"hello, world!!!");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_delimited_body_is_read_to_the_end_and_never_pooled() {
    let up = spawn_raw_server(b"HTTP/1.1 200 OK\r\nX-Kind: close-delimited\r\n\r\nall of it, until the close").await;
    let lb = spawn_lb(&one_pool(&up.addr.to_string(), ""), &[]).await;
    let c = client();
    for _ in 0..2 {
        let r = send(&c, lb.addr, "GET", "/", &[]).await;
        assert_eq!(
            (r.status.as_u16(), r.body.as_str()),
            (200, "all of it, until the close")
        );
    }
    assert_eq!(up.connections.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_and_interim_responses_keep_the_connection_in_step() {
    let (lb, up) = behind(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody",
        5,
    )
    .await;
    let c = client();
    let r = send(&c, lb.addr, "GET", "/", &[]).await;
    assert_eq!(
        (r.status.as_u16(), r.body.as_str()),
        (200, "body"),
        "the 100 was skipped"
    );
    // to a HEAD the same upstream sends a head announcing 4 bytes and none
    let (lb2, up2) = behind(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n", 64).await;
    let r = send(&c, lb2.addr, "HEAD", "/", &[]).await;
    assert_eq!(
        (r.status.as_u16(), r.headers["content-length"].to_str().unwrap()),
        (200, "4")
    );
    let r = send(&c, lb2.addr, "HEAD", "/", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        up2.connections.load(Ordering::SeqCst),
        1,
        "the HEAD exchange left it reusable"
    );
    assert_eq!(up.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_framing_is_a_502_and_nothing_of_it_is_forwarded() {
    for reply in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nevil"[..],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n4\r\nevil\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4\r\nevil\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -4\r\n\r\nevil",
        b"HTTP/1.1 200 OK\r\nContent-Length : 4\r\n\r\nevil",
    ] {
        let leaked: &'static [u8] = reply;
        let (lb, _up) = behind(leaked, 64).await;
        let raw = raw_exchange(lb.addr, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        let what = String::from_utf8_lossy(reply);
        assert!(raw.starts_with("HTTP/1.1 502"), "{what:?}: {raw}");
        assert!(!raw.contains("evil"), "{what:?}: {raw}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_past_the_framed_end_are_never_the_next_response() {
    // each answer carries a second, unasked-for response after its body
    for piece in [1024, 1] {
        let (lb, up) = behind(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled",
            piece,
        )
        .await;
        let c = client();
        for i in 0..4 {
            let r = send(&c, lb.addr, "GET", "/", &[]).await;
            assert_eq!(
                (r.status.as_u16(), r.body.as_str()),
                (200, "ok"),
                "request {i}, pieces of {piece}"
            );
        }
        assert_eq!(
            up.connections.load(Ordering::SeqCst),
            4,
            "pieces of {piece}: never reused"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_cut_short_is_a_truncation_not_a_clean_end() {
    let up =
        spawn_raw_server(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n100\r\nnot all").await;
    let lb = spawn_lb(&one_pool(&up.addr.to_string(), ""), &[]).await;
    let raw = raw_exchange(lb.addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(
        !raw.ends_with("0\r\n\r\n"),
        "the chunked body must not be ended cleanly: {raw:?}"
    );
    let req = http::Request::get(format!("http://{}/", lb.addr))
        .body(BodyExt::boxed(Full::new(Bytes::new())))
        .unwrap();
    let resp = h2_client().request(req).await.unwrap();
    assert!(resp.into_body().collect().await.is_err(), "HTTP/2: the stream is reset");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_pooled_connection_its_server_closed_is_closed_without_waiting_for_a_request() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let (mut buf, mut got) = ([0u8; 4096], Vec::new());
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = sock.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before a request");
            got.extend_from_slice(&buf[..n]);
        }
        sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .await
            .unwrap();
        // the server's keep-alive timeout: its FIN reaches a connection idle in fulcrum's pool
        sock.shutdown().await.unwrap();
        let _ = tx.send(sock.read(&mut buf).await.ok());
    });
    let lb = spawn_lb(&one_pool(&addr.to_string(), ""), &[]).await;
    let r = send(&client(), lb.addr, "GET", "/", &[]).await;
    assert_eq!((r.status.as_u16(), r.body.as_str()), (200, "ok"));
    // no further request: fulcrum must notice the close on its own
    let closed = tokio::time::timeout(std::time::Duration::from_secs(5), rx).await;
    assert_eq!(
        closed
            .expect("fulcrum kept the closed connection open (CLOSE_WAIT)")
            .unwrap(),
        Some(0),
        "fulcrum closed its end"
    );
}
