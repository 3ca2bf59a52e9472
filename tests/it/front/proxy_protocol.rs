//! `listeners[].proxy_protocol`: v1 and v2 headers before HTTP (and TLS),
//! the source becoming the client address; bad or missing headers close
//! the connection without an answer and are counted.

use super::common::*;
use super::{last_xff, metric};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn yaml(extra: &str) -> String {
    format!(
        "listeners: [{{ address: \"{{LISTEN}}\", proxy_protocol: true }}]\nadmin: {{ address: \"127.0.0.1:0\" }}\n\
         limits: {{ header_read_timeout: 500ms }}\n{extra}upstreams: {{ p: {{ servers: [{{ address: \"{{b0}}\" }}] }} }}\n\
         routes: [{{ upstream: p }}]\n"
    )
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// Writes `header` then a GET in `chunk`-byte writes; returns what came back (empty: closed unanswered).
async fn exchange(addr: std::net::SocketAddr, header: &[u8], chunk: usize) -> String {
    send_raw(addr, &[header, GET].concat(), chunk).await
}

/// Writes `bytes` in `chunk`-byte writes and reads until closed (or 5 s).
async fn send_raw(addr: std::net::SocketAddr, bytes: &[u8], chunk: usize) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.set_nodelay(true).unwrap();
    for part in bytes.chunks(chunk) {
        if s.write_all(part).await.is_err() {
            break;
        }
        if chunk < bytes.len() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn v2(src: [u8; 4], command: u8) -> Vec<u8> {
    let addrs = ppp::v2::IPv4::new(src, [10, 0, 0, 1], 40001, 443);
    ppp::v2::Builder::with_addresses(0x20 | command, ppp::v2::Protocol::Stream, addrs)
        .write_tlv(0xE0, b"an unknown TLV")
        .unwrap()
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_and_v2_headers_give_the_upstream_the_real_client() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb_file(&yaml(""), &[&b]).await;
    let v1 = b"PROXY TCP4 203.0.113.7 10.0.0.1 40000 8080\r\n";
    assert!(exchange(lb.addr, v1, 4096).await.starts_with("HTTP/1.1 200"));
    assert_eq!(last_xff(&b), "203.0.113.7");
    let v1_six = b"PROXY TCP6 2001:db8::7 2001:db8::1 40000 8080\r\n";
    assert!(exchange(lb.addr, v1_six, 4096).await.starts_with("HTTP/1.1 200"));
    assert_eq!(last_xff(&b), "2001:db8::7");
    // v2 by hand: signature, PROXY over TCP/IPv4, 12 address bytes
    let mut by_hand = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c".to_vec();
    by_hand.extend_from_slice(&[198, 51, 100, 9, 10, 0, 0, 1, 0x9c, 0x41, 0x01, 0xbb]);
    assert!(exchange(lb.addr, &by_hand, 4096).await.starts_with("HTTP/1.1 200"));
    assert_eq!(last_xff(&b), "198.51.100.9");
    // the library's encoder, with a TLV fulcrum does not know, a byte per write
    assert!(exchange(lb.addr, &v2([198, 51, 100, 4], 1), 1)
        .await
        .starts_with("HTTP/1.1 200"));
    assert_eq!(last_xff(&b), "198.51.100.4");
    // LOCAL (the balancer's own health check) and UNKNOWN keep the peer
    assert!(exchange(lb.addr, &v2([198, 51, 100, 4], 0), 4096)
        .await
        .starts_with("HTTP/1.1 200"));
    assert_eq!(last_xff(&b), "127.0.0.1");
    assert!(exchange(lb.addr, b"PROXY UNKNOWN\r\n", 4096)
        .await
        .starts_with("HTTP/1.1 200"));
    assert_eq!(last_xff(&b), "127.0.0.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_or_missing_headers_close_the_connection_unanswered() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb_file(&yaml(""), &[&b]).await;
    let whole = v2([198, 51, 100, 4], 1);
    let mut unix = b"\r\n\r\n\0\r\nQUIT\n\x21\x31\x00\xd8".to_vec();
    unix.extend_from_slice(&[0u8; 216]);
    let mut too_long = whole.clone();
    too_long[14..16].copy_from_slice(&60000u16.to_be_bytes());
    // each sent alone: what follows a cut header would be read as its rest
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("no header, plain HTTP", GET.to_vec()),
        ("garbage", b"\x16\x03\x01garbage garbage\r\n".to_vec()),
        ("a truncated v1", b"PROXY TCP4 203.0.113.7".to_vec()),
        (
            "a v1 with a bad address",
            b"PROXY TCP4 300.1.1.1 10.0.0.1 1 2\r\n".to_vec(),
        ),
        ("a truncated v2", whole[..whole.len() - 4].to_vec()),
        ("a v2 length beyond the buffer", too_long),
        ("a v2 for a UNIX socket", unix),
    ];
    for (name, header) in &cases {
        let got = send_raw(lb.addr, header, 4096).await;
        assert_eq!(got, "", "{name}: closed without a response");
    }
    assert_eq!(b.traffic(), 0, "nothing reached the upstream");
    let admin = lb.admin.unwrap();
    let counted = metric(
        admin,
        "fulcrum_requests_rejected_total",
        &[("reason", "proxy_protocol")],
    )
    .await;
    assert_eq!(counted, cases.len() as f64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_without_proxy_protocol_takes_a_header_for_a_bad_request() {
    let b = spawn_backend("b").await;
    let plain = yaml("").replace(", proxy_protocol: true", "");
    let lb = spawn_lb_file(&plain, &[&b]).await;
    let got = exchange(lb.addr, b"PROXY TCP4 203.0.113.7 10.0.0.1 40000 8080\r\n", 4096).await;
    assert!(got.starts_with("HTTP/1.1 400"), "{got}");
    assert_eq!(b.traffic(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_tls_listener_the_header_comes_before_the_handshake() {
    let b = spawn_backend("b").await;
    let ca = tls::Ca::new("test ca");
    let leaf = ca.leaf(&["a.test"]);
    let dir = process::TempDir::new();
    std::fs::write(dir.0.join("a.pem"), &leaf.cert).unwrap();
    std::fs::write(dir.0.join("a.key"), &leaf.key).unwrap();
    let yaml = yaml("").replace(
        "proxy_protocol: true }",
        "proxy_protocol: true, tls: { certificates: [{ cert: a.pem, key: a.key }] } }",
    );
    let lb = spawn_lb_file_in(dir, &yaml, &[&b]).await;
    let mut tcp = TcpStream::connect(lb.addr).await.unwrap();
    tcp.write_all(&v2([192, 0, 2, 55], 1)).await.unwrap();
    let opts = tls::ClientOpts {
        ca: Some(&ca.pem),
        sni: "a.test",
        alpn: &["http/1.1"],
        client_cert: None,
    };
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(tls::client_config(&opts)));
    let name = rustls::pki_types::ServerName::try_from("a.test".to_string()).unwrap();
    let mut conn = connector.connect(name, tcp).await.expect("handshake after the header");
    conn.write_all(GET).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut out)).await;
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200"));
    assert_eq!(last_xff(&b), "192.0.2.55");
}
