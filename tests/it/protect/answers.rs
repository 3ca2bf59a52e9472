//! What a client sees when fulcrum answers itself (SPEC §3): the cause in
//! words, never an internal address; `error_pages` replacing the body; and
//! hyper's own answers to bad heads carrying their cause too.

use super::common::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_pages_replace_fulcrums_own_bodies_by_status_then_class() {
    let dir = process::TempDir::new();
    std::fs::create_dir(dir.0.join("errors")).unwrap();
    std::fs::write(dir.0.join("errors/502.html"), "<h1>we will be right back</h1>\n").unwrap();
    std::fs::write(dir.0.join("errors/5xx.json"), "{\"error\":\"unavailable\"}\n").unwrap();
    std::fs::write(dir.0.join("errors/4xx.txt"), "not here\n").unwrap();
    let dead = closed_port();
    // accepts in the kernel, never answers: a 504 after the response timeout
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let yaml = [
        "listeners: [{ address: \"{LISTEN}\" }]",
        "error_pages: { \"502\": { file: errors/502.html }, \"5xx\": { file: errors/5xx.json }, 4xx: { file: errors/4xx.txt } }",
        "upstreams:",
        &format!("  dead: {{ servers: [{{ address: \"{dead}\" }}], retries: {{ attempts: 0 }} }}"),
        &format!("  silent: {{ servers: [{{ address: \"{silent_addr}\" }}], timeouts: {{ response: 200ms }} }}"),
        "routes:",
        "  - { match: { path_prefix: /dead }, upstream: dead }",
        "  - { match: { path_prefix: /silent }, upstream: silent }",
        "  - { match: { path_prefix: /ok }, respond: { status: 503, body: mine } }",
        "  - { match: { host: nowhere }, upstream: dead }",
    ]
    .join("\n");
    let lb = spawn_lb_file_in(dir, &yaml, &[]).await;
    let c = client();
    let r = send(&c, lb.addr, "GET", "/dead", &[]).await;
    assert_eq!(
        (r.status.as_u16(), r.body.as_str()),
        (502, "<h1>we will be right back</h1>\n")
    );
    assert_eq!(r.headers["content-type"], "text/html; charset=utf-8");
    let r = send(&c, lb.addr, "GET", "/silent", &[]).await;
    assert_eq!(
        (r.status.as_u16(), r.body.as_str()),
        (504, "{\"error\":\"unavailable\"}\n"),
        "the 5xx page"
    );
    assert_eq!(r.headers["content-type"], "application/json");
    let r = send(&c, lb.addr, "GET", "/nothing", &[]).await;
    assert_eq!(
        (r.status.as_u16(), r.body.as_str()),
        (404, "not here\n"),
        "a class page"
    );
    assert_eq!(r.headers["content-type"], "text/plain; charset=utf-8");
    let r = send(&c, lb.addr, "GET", "/ok", &[]).await;
    assert_eq!(
        (r.status.as_u16(), r.body.as_str()),
        (503, "mine"),
        "a configured respond is the operator's own"
    );
    // a page that goes missing makes the reload fail; the old pages keep serving
    std::fs::remove_file(lb.dir.0.join("errors/502.html")).unwrap();
    let e = lb.handle.reload().await.expect_err("a missing page is a config error");
    assert!(e.to_string().contains("error_pages.502.file"), "{e}");
    assert!(e.to_string().contains("No such file or directory"), "{e}");
    let r = send(&c, lb.addr, "GET", "/dead", &[]).await;
    assert_eq!(r.body, "<h1>we will be right back</h1>\n");
}

#[test]
fn bad_error_pages_are_config_errors() {
    let base = "listeners: [{ address: \"127.0.0.1:0\" }]\nupstreams: { p: { servers: [{ address: \"127.0.0.1:9001\" }] } }\nroutes: [{ upstream: p }]\n";
    let cases = [
        (
            "error_pages: { \"200\": { file: a.html } }",
            "error_pages.200 (line 4): not a status 400..=599 or a class 4xx/5xx",
        ),
        (
            "error_pages: { \"502\": { file: a.png } }",
            "the content type follows the extension, one of .html, .json, .txt",
        ),
        (
            "error_pages: { \"502\": { file: missing.html } }",
            "error_pages.502.file (line 4): cannot read",
        ),
    ];
    for (extra, want) in cases {
        let err = fulcrum::config::parse(&format!("{base}{extra}\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{extra}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_too_large_head_and_a_folded_header_are_answered_with_their_cause() {
    let b = spawn_backend("b").await;
    let yaml = "listeners: [{ address: \"{LISTEN}\" }]\nlimits: { max_header_bytes: 8192 }\n\
                upstreams: { p: { servers: [{ address: \"{b0}\" }] } }\nroutes: [{ upstream: p }]\n";
    let lb = spawn_lb(yaml, &[&b]).await;
    let big = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(10_000));
    let folded = b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n".to_vec();
    for (bytes, status, cause) in [
        (big.into_bytes(), "431", "request head too large"),
        (folded, "400", "obs-folded header"),
    ] {
        let resp = raw_exchange(lb.addr, &bytes).await;
        let (head, body) = resp.split_once("\r\n\r\n").expect("a whole response");
        assert!(head.starts_with(&format!("HTTP/1.1 {status}")), "{resp}");
        assert!(head.contains("content-type: text/plain; charset=utf-8"), "{head}");
        assert!(head.contains(&format!("content-length: {}", body.len())), "{head}");
        assert!(body.starts_with(status) && body.contains(cause), "{body}");
    }
    assert_eq!(b.traffic(), 0);
    // an upstream's own empty error answers on a kept-alive connection stay as they were
    let raw = spawn_raw_server(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").await;
    let yaml = format!(
        "listeners: [{{ address: \"127.0.0.1:0\" }}]\nupstreams: {{ p: {{ servers: [{{ address: \"{}\" }}] }} }}\nroutes: [{{ upstream: p }}]\n",
        raw.addr
    );
    let lb = spawn_lb(&yaml, &[]).await;
    let mut s = tokio::net::TcpStream::connect(lb.addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    s.write_all(b"GET /?status=404 HTTP/1.1\r\nHost: x\r\n\r\nGET /?status=404 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.matches("HTTP/1.1 404").count(), 2, "{out}");
    assert_eq!(out.matches("content-length: 0\r\n").count(), 2, "{out}");
    assert!(!out.contains("request head"), "{out}");
}
