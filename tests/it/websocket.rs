//! Upgrade (WebSocket) requests are tunnelled both ways after the upstream's 101.

use crate::common;
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Reads until the end of an HTTP head.
async fn head(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).await.unwrap() == 0 {
            break;
        }
        buf.push(byte[0]);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// An upstream that answers an upgrade with 101 and then echoes, upper-cased.
async fn echo_upstream() -> (std::net::SocketAddr, tokio::sync::oneshot::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let request = head(&mut s).await;
        let _ = tx.send(request);
        s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 64];
        loop {
            let n = s.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            s.write_all(&buf[..n].to_ascii_uppercase()).await.unwrap();
        }
    });
    (addr, rx)
}

#[tokio::test]
async fn an_upgrade_is_tunnelled_both_ways_after_101() {
    let (up, seen) = echo_upstream().await;
    let yaml = format!(
        "listeners: [{{ address: \"127.0.0.1:0\" }}]\nupstreams: {{ ws: {{ servers: [{{ address: \"{up}\" }}] }} }}\nroutes: [{{ upstream: ws }}]\n"
    );
    let lb = spawn_lb(&yaml, &[]).await;
    let mut s = TcpStream::connect(lb.addr).await.unwrap();
    s.write_all(b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").await.unwrap();
    let response = head(&mut s).await;
    assert!(response.starts_with("HTTP/1.1 101"), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("upgrade: websocket"),
        "{response}"
    );
    let request = seen.await.unwrap().to_ascii_lowercase();
    assert!(
        request.contains("upgrade: websocket") && request.contains("connection: upgrade"),
        "{request}"
    );
    assert!(
        request.contains("sec-websocket-key: dghlihnhbxbszsbub25jzq=="),
        "{request}"
    );
    for word in ["hello", "tunnel"] {
        s.write_all(word.as_bytes()).await.unwrap();
        let mut got = vec![0u8; word.len()];
        s.read_exact(&mut got).await.unwrap();
        assert_eq!(got, word.to_ascii_uppercase().as_bytes());
    }
}

#[tokio::test]
async fn upgrade_headers_are_not_forwarded_without_a_connection_upgrade() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb("listeners: [{ address: \"{LISTEN}\" }]\nupstreams: { p: { servers: [{ address: \"{b0}\" }] } }\nroutes: [{ upstream: p }]\n", &[&b]).await;
    let r = raw_exchange(
        lb.addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(!b.seen()[0].headers.contains_key("upgrade"));
}
