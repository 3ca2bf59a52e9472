//! TLS listeners and upstreams with certificates made at test time: SNI,
//! ALPN, rotation under a live connection, mTLS, upstream verification, and
//! clients that do not speak TLS.

use crate::common;
use common::tls::*;
use common::*;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// A TLS listener with `a.test` (the default) and `b.test`, plus `extra` tls keys.
fn tls_yaml(extra: &str) -> String {
    format!(
        "listeners:\n  - address: \"{{LISTEN}}\"\n    tls:\n      certificates:\n        - {{ cert: a.pem, key: a.key }}\n        - {{ cert: b.pem, key: b.key }}\n{extra}admin: {{ address: \"127.0.0.1:0\" }}\nlimits: {{ header_read_timeout: 500ms }}\nupstreams: {{ p: {{ servers: [{{ address: \"{{b0}}\" }}] }} }}\nroutes: [{{ upstream: p }}]\n"
    )
}

/// Writes the certificates next to where spawn_lb_file puts its config.
async fn spawn_tls_lb(yaml: &str, b: &Backend, files: &[(&str, &str)]) -> LbFile {
    // spawn_lb_file validates at once, so the files must exist first: write
    // them into a fresh directory and load the config from there
    let dir = process::TempDir::new();
    for (name, text) in files {
        write(&dir.0, name, text);
    }
    spawn_lb_file_in(dir, yaml, &[b]).await
}

/// `yaml` in front of `b` with leaves for `a.test` and `b.test` signed by
/// `ca`, for tests that only need the listener to speak TLS.
async fn spawn_ab_tls_lb(yaml: &str, ca: &Ca, b: &Backend) -> LbFile {
    let f = files(&[pair("a", &ca.leaf(&["a.test"])), pair("b", &ca.leaf(&["b.test"]))]);
    spawn_tls_lb(yaml, b, &refs(&f)).await
}

fn pair(prefix: &str, leaf: &Leaf) -> [(String, String); 2] {
    [
        (format!("{prefix}.pem"), leaf.cert.clone()),
        (format!("{prefix}.key"), leaf.key.clone()),
    ]
}

fn files(pairs: &[[(String, String); 2]]) -> Vec<(String, String)> {
    pairs.iter().flatten().cloned().collect()
}

fn refs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

fn opts<'a>(ca: Option<&'a str>, sni: &'a str, alpn: &'a [&'a str]) -> ClientOpts<'a> {
    ClientOpts {
        ca,
        sni,
        alpn,
        client_cert: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sni_picks_the_certificate_and_alpn_the_protocol() {
    let ca = Ca::new("test ca");
    let (a, bcert) = (ca.leaf(&["a.test"]), ca.leaf(&["b.test", "*.b.test"]));
    let b = spawn_backend("b").await;
    let f = files(&[pair("a", &a), pair("b", &bcert)]);
    let lb = spawn_tls_lb(&tls_yaml(""), &b, &refs(&f)).await;
    for (sni, want) in [
        ("a.test", &a),
        ("b.test", &bcert),
        ("x.b.test", &bcert),
        ("unknown.test", &a),
    ] {
        let conn = connect(lb.addr, &opts(None, sni, &["http/1.1"])).await.unwrap();
        assert_eq!(presented(&conn), der_of(&want.cert), "SNI {sni}");
    }
    for alpn in ["h2", "http/1.1"] {
        let conn = connect(lb.addr, &opts(Some(&ca.pem), "a.test", &[alpn])).await.unwrap();
        assert_eq!(conn.get_ref().1.alpn_protocol(), Some(alpn.as_bytes()));
        let mut s = handshake(conn).await;
        assert_eq!(s.get("a.test", "/").await.unwrap(), (200, "b".to_string()));
        let seen = b.seen().pop().unwrap();
        assert_eq!(seen.headers["x-forwarded-proto"], "https");
    }
    let m = send(&client(), lb.admin.unwrap(), "GET", "/metrics", &[]).await.body;
    let label = "127.0.0.1:0"; // listeners are labelled by their configured address
    let ok = prom::sample(
        &m,
        "fulcrum_tls_handshakes_total",
        &[("listener", label), ("result", "success")],
    );
    assert!(ok.is_some_and(|n| n >= 6.0), "{m}");
    let not_after = prom::sample(
        &m,
        "fulcrum_tls_certificate_not_after_timestamp_seconds",
        &[("listener", label), ("name", "b.test")],
    );
    assert!(
        not_after.is_some_and(|t| t > 1.9e9),
        "rcgen's default notAfter is in 4096: {m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_do_not_speak_tls_are_closed_and_counted() {
    let ca = Ca::new("test ca");
    let b = spawn_backend("b").await;
    let lb = spawn_ab_tls_lb(&tls_yaml(""), &ca, &b).await;
    // plain HTTP on the TLS port: closed, no HTTP answer
    let plain = raw_exchange(lb.addr, b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n").await;
    assert!(!plain.contains("HTTP/1.1"), "{plain}");
    // garbage, and a client that stalls mid-handshake
    let garbage = raw_exchange(lb.addr, &[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]).await;
    assert!(!garbage.contains("HTTP"), "{garbage}");
    let mut stalled = tokio::net::TcpStream::connect(lb.addr).await.unwrap();
    stalled.write_all(&[0x16, 0x03, 0x01]).await.unwrap();
    let mut buf = Vec::new();
    let cut = tokio::time::timeout(Duration::from_secs(10), stalled.read_to_end(&mut buf)).await;
    assert!(cut.is_ok(), "a stalled handshake was never cut");
    // meanwhile a real client is served
    let conn = connect(lb.addr, &opts(Some(&ca.pem), "a.test", &["h2"])).await.unwrap();
    assert_eq!(handshake(conn).await.get("a.test", "/").await.unwrap().0, 200);
    let m = send(&client(), lb.admin.unwrap(), "GET", "/metrics", &[]).await.body;
    let label = "127.0.0.1:0"; // listeners are labelled by their configured address
    let failed = prom::sample(
        &m,
        "fulcrum_tls_handshakes_total",
        &[("listener", label), ("result", "failure")],
    );
    assert_eq!(failed, Some(3.0), "{m}");
    assert_eq!(b.traffic(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_certificate_serves_new_handshakes_and_spares_live_connections() {
    let ca = Ca::new("test ca");
    let (old, new) = (ca.leaf(&["a.test"]), ca.leaf(&["a.test"]));
    let b = spawn_backend("b").await;
    let f = files(&[pair("a", &old), pair("b", &ca.leaf(&["b.test"]))]);
    let lb = spawn_tls_lb(&tls_yaml(""), &b, &refs(&f)).await;
    let conn = connect(lb.addr, &opts(Some(&ca.pem), "a.test", &["http/1.1"]))
        .await
        .unwrap();
    assert_eq!(presented(&conn), der_of(&old.cert));
    let mut live = handshake(conn).await;
    assert_eq!(live.get("a.test", "/").await.unwrap().0, 200);
    let dir = lb.path.parent().unwrap().to_path_buf();
    write(&dir, "a.pem", &new.cert);
    write(&dir, "a.key", &new.key);
    // the file watch notices the rotation though the YAML did not change
    eventually_async(Duration::from_secs(10), || async {
        let conn = connect(lb.addr, &opts(Some(&ca.pem), "a.test", &["http/1.1"]))
            .await
            .ok()?;
        (presented(&conn) == der_of(&new.cert)).then_some(())
    })
    .await;
    assert_eq!(
        live.get("a.test", "/").await.unwrap().0,
        200,
        "the live connection was disturbed"
    );
    // a broken rotation keeps the good certificate serving
    write(
        &dir,
        "a.key",
        "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
    );
    let err = lb.handle.reload().await.unwrap_err().to_string();
    assert!(
        err.contains("listeners[0].tls.certificates[0].key") && err.contains("a.key"),
        "{err}"
    );
    let conn = connect(lb.addr, &opts(Some(&ca.pem), "a.test", &["http/1.1"]))
        .await
        .unwrap();
    assert_eq!(presented(&conn), der_of(&new.cert));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_serves_only_clients_signed_by_the_client_ca() {
    let (ca, clients, stranger) = (Ca::new("server ca"), Ca::new("client ca"), Ca::new("other ca"));
    let b = spawn_backend("b").await;
    let mut f = files(&[pair("a", &ca.leaf(&["a.test"])), pair("b", &ca.leaf(&["b.test"]))]);
    f.push(("clients.pem".into(), clients.pem.clone()));
    let lb = spawn_tls_lb(&tls_yaml("      client_ca: clients.pem\n"), &b, &refs(&f)).await;
    let good = clients.leaf(&["client.test"]);
    let bad = stranger.leaf(&["client.test"]);
    let try_with = |cert: Option<Leaf>| {
        let ca = ca.pem.clone();
        async move {
            let o = ClientOpts {
                ca: Some(&ca),
                sni: "a.test",
                alpn: &["http/1.1"],
                client_cert: cert.as_ref(),
            };
            // TLS 1.3 clients learn of a rejected certificate on their first read
            let conn = connect(lb.addr, &o).await.map_err(|e| e.to_string())?;
            handshake(conn).await.get("a.test", "/").await
        }
    };
    assert_eq!(try_with(Some(good)).await.unwrap().0, 200);
    assert!(try_with(None).await.is_err(), "served without a client certificate");
    assert!(
        try_with(Some(bad)).await.is_err(),
        "served a certificate from another CA"
    );
    assert_eq!(b.traffic(), 1);
}

#[test]
fn bad_certificate_files_are_config_errors_naming_key_and_file() {
    let ca = Ca::new("test ca");
    let (a, other) = (ca.leaf(&["a.test"]), ca.leaf(&["a.test"]));
    let expired = ca.leaf_with(&["a.test"], |p| {
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    });
    let dir = process::TempDir::new();
    write(&dir.0, "a.pem", &a.cert);
    write(&dir.0, "a.key", &a.key);
    write(&dir.0, "other.key", &other.key);
    write(&dir.0, "old.pem", &expired.cert);
    write(&dir.0, "old.key", &expired.key);
    write(
        &dir.0,
        "junk.pem",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    let cases = [
        (
            "{ cert: missing.pem, key: a.key }",
            "certificates[0].cert",
            "missing.pem",
        ),
        (
            "{ cert: a.pem, key: other.key }",
            "certificates[0].key",
            "does not match",
        ),
        ("{ cert: old.pem, key: old.key }", "certificates[0].cert", "expired"),
        ("{ cert: junk.pem, key: a.key }", "certificates[0].cert", "junk.pem"),
    ];
    for (entry, path, words) in cases {
        let yaml = format!(
            "listeners: [{{ address: \"127.0.0.1:0\", tls: {{ certificates: [{entry}] }} }}]\nupstreams: {{ p: {{ servers: [{{ address: \"127.0.0.1:1\" }}] }} }}\nroutes: [{{ upstream: p }}]\n"
        );
        let file = dir.0.join("fulcrum.yaml");
        std::fs::write(&file, yaml).unwrap();
        let err = fulcrum::config::load(&file).unwrap_err().to_string();
        assert!(
            err.contains(&format!("listeners[0].tls.{path}")) && err.contains(words),
            "{entry}: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_upstreams_verify_their_certificate_and_may_speak_h2() {
    let ca = Ca::new("upstream ca");
    let leaf = ca.leaf(&["backend.test"]);
    let h2 = spawn_tls_upstream(&leaf, &["h2", "http/1.1"]).await;
    let h1 = spawn_tls_upstream(&leaf, &["http/1.1"]).await;
    let liar = spawn_tls_upstream(&Ca::new("another ca").leaf(&["backend.test"]), &["http/1.1"]).await;
    let dir = process::TempDir::new();
    write(&dir.0, "ca.pem", &ca.pem);
    let pool = |addr: std::net::SocketAddr| {
        format!("{{ servers: [{{ address: \"{addr}\" }}], tls: {{ server_name: backend.test, ca: ca.pem }}, retries: {{ attempts: 0 }} }}")
    };
    let yaml = format!(
        "listeners: [{{ address: \"{{LISTEN}}\" }}]\nupstreams:\n  h2: {}\n  h1: {}\n  liar: {}\nroutes:\n  - {{ match: {{ path_prefix: /h2 }}, upstream: h2 }}\n  - {{ match: {{ path_prefix: /h1 }}, upstream: h1 }}\n  - {{ match: {{ path_prefix: /liar }}, upstream: liar }}\n",
        pool(h2),
        pool(h1),
        pool(liar)
    );
    let lb = spawn_lb_file_in(dir, &yaml, &[]).await;
    let c = client();
    assert_eq!(send(&c, lb.addr, "GET", "/h2", &[]).await.body, "HTTP/2.0 http");
    assert_eq!(send(&c, lb.addr, "GET", "/h1", &[]).await.body, "HTTP/1.1 http");
    let r = send(&c, lb.addr, "GET", "/liar", &[]).await;
    assert_eq!(r.status, 502, "{}", r.body);
    // the certificate failure is in the log; the client only learns the pool failed
    assert_eq!(r.body, "502 Bad Gateway: upstream liar: no server could be reached\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_version_refuses_older_clients() {
    let ca = Ca::new("test ca");
    let b = spawn_backend("b").await;
    let f = files(&[pair("a", &ca.leaf(&["a.test"])), pair("b", &ca.leaf(&["b.test"]))]);
    let lb = spawn_tls_lb(&tls_yaml("      min_version: \"1.3\"\n"), &b, &refs(&f)).await;
    assert!(
        connect_tls12(lb.addr, "a.test").await.is_err(),
        "a TLS 1.2 client was accepted"
    );
    let conn = connect(lb.addr, &opts(Some(&ca.pem), "a.test", &["http/1.1"]))
        .await
        .unwrap();
    assert_eq!(
        conn.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    // the default (1.2) accepts it
    let lb12 = spawn_tls_lb(&tls_yaml(""), &b, &refs(&f)).await;
    let conn = connect_tls12(lb12.addr, "a.test").await.unwrap();
    assert_eq!(
        conn.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_over_the_limit_in_one_write_is_refused_over_tls_too() {
    // as park.rs's plain-text case: a head over a lowered limit, whole in
    // one write, is refused and not forwarded
    let b = spawn_backend("b").await;
    let yaml = tls_yaml("").replace("limits: {", "limits: { max_header_bytes: 16384,");
    let lb = spawn_ab_tls_lb(&yaml, &Ca::new("test ca"), &b).await;
    let head = format!(
        "GET / HTTP/1.1\r\nHost: a.test\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let mut conn = connect(lb.addr, &opts(None, "a.test", &["http/1.1"])).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut got)).await;
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 431"), "{got}");
    assert_eq!(b.traffic(), 0, "the head reached the upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_soaks_oversized_head_is_refused_at_once_over_tls_too() {
    // as park.rs's plain-text case, with the default limits
    let ca = Ca::new("test ca");
    let b = spawn_backend("b").await;
    let lb = spawn_ab_tls_lb(&tls_yaml(""), &ca, &b).await;
    let mut conn = connect(lb.addr, &opts(None, "a.test", &["http/1.1"])).await.unwrap();
    crate::park::oversized_head_is_refused(&mut conn, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_gets_around_a_post_are_answered_in_order_and_h2_needs_no_alpn() {
    let ca = Ca::new("test ca");
    let b = spawn_backend("b").await;
    let lb = spawn_ab_tls_lb(&tls_yaml(""), &ca, &b).await;
    // HTTP/1.1 by ALPN: fulcrum's own server takes the GETs, hyper the POST
    // (a body) and the GET after it, from the bytes already read
    let mut conn = connect(lb.addr, &opts(Some(&ca.pem), "a.test", &["http/1.1"]))
        .await
        .unwrap();
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nhost: a.test\r\n\r\n");
    let post = "POST /sha HTTP/1.1\r\nhost: a.test\r\ncontent-length: 2\r\n\r\nhi";
    let all = [get("/a"), post.to_string(), get("/c")].concat();
    conn.write_all(all.as_bytes()).await.unwrap();
    let mut pending = Vec::new();
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let r = crate::park::response(&mut conn, &mut pending).await;
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        bodies.push(r.split("\r\n\r\n").nth(1).unwrap().to_string());
    }
    assert_eq!(bodies[0], "b");
    assert!(bodies[1].starts_with("2 "), "{}", bodies[1]);
    assert_eq!(bodies[2], "b");
    let seen = b.seen();
    let uris: Vec<&str> = seen.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(uris, ["/a", "/sha", "/c"]);
    assert!(seen.iter().all(|r| r.headers["x-forwarded-proto"] == "https"));
    // on a connection only the own server has served, past the quiet time
    // (200 ms) its buffers are given back: a head longer than the first
    // read's 64 bytes is still read whole
    let mut conn = connect(lb.addr, &opts(Some(&ca.pem), "a.test", &["http/1.1"]))
        .await
        .unwrap();
    conn.write_all(get("/before").as_bytes()).await.unwrap();
    let r = crate::park::response(&mut conn, &mut pending).await;
    assert!(r.ends_with("\r\n\r\nb"), "{r}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let long = format!(
        "GET /after HTTP/1.1\r\nhost: a.test\r\nx-long: {}\r\n\r\n",
        "v".repeat(300)
    );
    conn.write_all(long.as_bytes()).await.unwrap();
    let r = crate::park::response(&mut conn, &mut pending).await;
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n") && r.ends_with("\r\n\r\nb"), "{r}");
    assert_eq!(b.seen().last().unwrap().headers["x-long"].len(), 300);
    // HTTP/2 with prior knowledge and no ALPN: handed to hyper, which speaks it
    let conn = connect(lb.addr, &opts(Some(&ca.pem), "a.test", &[])).await.unwrap();
    assert_eq!(conn.get_ref().1.alpn_protocol(), None);
    let (mut send, c) =
        hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), hyper_util::rt::TokioIo::new(conn))
            .await
            .unwrap();
    tokio::spawn(c);
    let req = http::Request::get("https://a.test/h2")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let resp = send.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(b.seen().last().unwrap().uri, "/h2");
}
