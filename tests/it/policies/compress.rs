//! `compress`: negotiated per q-values, skipped where SPEC says never,
//! streamed; every compressed body is decompressed and compared.

use crate::common::backend::doc;
use crate::common::*;
use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use std::io::Read;

const YAML: &str = r#"
listeners: [{ address: "{LISTEN}" }]
upstreams:
  web: { servers: [{ address: "{b0}" }] }
routes:
  - name: zstd
    match: { path_prefix: /z/ }
    upstream: web
    rewrite: { path_prefix: / }
    compress: { algorithms: [br, gzip, zstd] }
  - name: web
    upstream: web
    compress: true
"#;

fn decode(encoding: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        "gzip" => flate2::read::GzDecoder::new(body).read_to_end(&mut out).unwrap(),
        "br" => brotli::Decompressor::new(body, 4096).read_to_end(&mut out).unwrap(),
        "zstd" => zstd::stream::read::Decoder::new(body)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap(),
        other => panic!("unexpected encoding {other}"),
    };
    out
}

/// `method path` to `addr` with `accept`, the response body still streaming.
async fn start(
    c: &TestClient,
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    accept: Option<&str>,
) -> http::Response<hyper::body::Incoming> {
    let mut req = Request::builder().method(method).uri(format!("http://{addr}{path}"));
    if let Some(a) = accept {
        req = req.header("accept-encoding", a);
    }
    let req = req.body(BodyExt::boxed(Full::new(Bytes::new()))).unwrap();
    c.request(req).await.unwrap()
}

/// `method path` with `accept`; (status, headers, raw body bytes).
async fn get(lb: &Lb, method: &str, path: &str, accept: Option<&str>) -> (u16, http::HeaderMap, Bytes) {
    let resp = start(&client(), lb.addr, method, path, accept).await;
    let (parts, body) = resp.into_parts();
    (
        parts.status.as_u16(),
        parts.headers,
        body.collect().await.unwrap().to_bytes(),
    )
}

#[tokio::test]
async fn negotiated_by_q_values_and_decompresses_to_the_original() {
    let web = spawn_backend("web").await;
    let lb = spawn_lb(YAML, &[&web]).await;
    let want = doc(20_000);
    let path = "/doc/20000?type=text/html&h.etag=%22v1%22";
    for (accept, enc) in [
        ("gzip", "gzip"),
        ("gzip, br", "br"),
        ("br;q=0.5, gzip;q=0.9", "gzip"),
        ("*", "br"),
        ("zstd", ""),
        ("identity", ""),
    ] {
        let (status, h, body) = get(&lb, "GET", path, Some(accept)).await;
        assert_eq!(status, 200);
        if enc.is_empty() {
            assert!(h.get("content-encoding").is_none(), "{accept}");
            assert_eq!(body, want.as_bytes(), "{accept}");
            continue;
        }
        assert_eq!(h["content-encoding"], enc, "{accept}");
        assert!(h.get("content-length").is_none(), "{accept}: length dropped");
        assert_eq!(h["vary"], "accept-encoding");
        assert_eq!(h["etag"], "W/\"v1\"", "a strong ETag becomes weak");
        assert!(body.len() < want.len() / 4, "{accept}: {} bytes", body.len());
        assert_eq!(decode(enc, &body), want.as_bytes(), "{accept}");
    }
    let (_, h, body) = get(
        &lb,
        "GET",
        "/z/doc/20000?type=application/json",
        Some("zstd, gzip;q=0.9"),
    )
    .await;
    assert_eq!(h["content-encoding"], "zstd", "zstd when listed");
    assert_eq!(decode("zstd", &body), want.as_bytes());
}

#[tokio::test]
async fn never_compressed_where_spec_says_never() {
    let web = spawn_backend("web").await;
    let lb = spawn_lb(YAML, &[&web]).await;
    for (method, path) in [
        ("HEAD", "/doc/5000?type=text/html"),
        (
            "GET",
            "/doc/5000?type=text/html&status=206&h.content-range=bytes%200-4999/9999",
        ),
        ("GET", "/doc/5000?type=text/html&h.cache-control=no-transform"),
        ("GET", "/doc/5000?type=image/png"),
        ("GET", "/doc/5000"),
        ("GET", "/doc/500?type=text/html"),
        ("GET", "/doc/5000?type=text/html&status=204"),
        ("GET", "/doc/5000?type=text/html&status=304"),
    ] {
        let (_, h, _) = get(&lb, method, path, Some("gzip, br")).await;
        assert!(h.get("content-encoding").is_none(), "{method} {path}: {h:?}");
        assert!(h.get("vary").is_none(), "{method} {path}");
    }
    let (_, h, body) = get(
        &lb,
        "GET",
        "/doc/5000?type=text/html&h.content-encoding=gzip",
        Some("br"),
    )
    .await;
    assert_eq!(
        h.get_all("content-encoding").iter().count(),
        1,
        "already encoded: left alone"
    );
    assert_eq!(body, doc(5000).as_bytes());
}

#[tokio::test]
async fn a_50_mb_response_streams_compressed() {
    let web = spawn_backend("web").await;
    let lb = spawn_lb(YAML, &[&web]).await;
    let total = 50 * 1024 * 1024;
    let path = format!("/big/{total}?type=text/plain");
    let resp = start(&client(), lb.addr, "GET", &path, Some("gzip")).await;
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    // decompress as it arrives, comparing with the generated pattern
    let mut body = resp.into_body();
    let mut decoder = flate2::write::GzDecoder::new(Checker::default());
    let mut frames = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            std::io::Write::write_all(&mut decoder, &data).unwrap();
            frames += 1;
        }
    }
    let checker = decoder.finish().unwrap();
    assert_eq!(checker.seen, total, "every byte, in order");
    assert!(frames > 1, "streamed in frames, not one buffered body");
}

/// Checks decompressed bytes against the backend's pattern as they come.
#[derive(Default)]
struct Checker {
    seen: u64,
}

impl std::io::Write for Checker {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let want = backend::pattern_chunk(self.seen, buf.len().min(64 * 1024));
        assert_eq!(&buf[..want.len()], &want[..], "byte {} differs", self.seen);
        self.seen += want.len() as u64;
        Ok(want.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn compressed_bytes_reach_the_client_before_the_upstream_body_ends() {
    use hyper::body::Frame;
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let rx = std::sync::Arc::new(std::sync::Mutex::new(Some(rx)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let service = hyper::service::service_fn(move |_req| {
            let rx = rx.lock().unwrap().take().expect("one request");
            async move {
                let body = http_body_util::StreamBody::new(Chunks(rx));
                let mut resp = http::Response::new(body);
                resp.headers_mut().insert("content-type", "text/plain".parse().unwrap());
                Ok::<_, std::convert::Infallible>(resp)
            }
        });
        let io = hyper_util::rt::TokioIo::new(stream);
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(io, service)
            .await;
    });
    let yaml = format!(
        "listeners: [{{ address: \"127.0.0.1:0\" }}]\nupstreams:\n  web: {{ servers: [{{ address: \"{upstream}\" }}] }}\nroutes:\n  - {{ upstream: web, compress: true }}\n"
    );
    let lb = spawn_lb(&yaml, &[]).await;
    let resp = start(&client(), lb.addr, "GET", "/", Some("gzip")).await;
    let first = Bytes::from(doc(1 << 20));
    tx.send(first.clone()).await.unwrap();
    let mut body = resp.into_body();
    // the upstream body is still open: a compressed frame must arrive anyway
    let frame = tokio::time::timeout(std::time::Duration::from_secs(10), body.frame())
        .await
        .expect("compressed bytes arrive while the upstream body is still open")
        .unwrap()
        .unwrap();
    let mut got = frame.into_data().unwrap().to_vec();
    tx.send(first.clone()).await.unwrap();
    drop(tx);
    got.extend_from_slice(&body.collect().await.unwrap().to_bytes());
    let plain = decode("gzip", &got);
    assert_eq!(plain.len(), 2 << 20);
    assert!(plain[..1 << 20] == first[..] && plain[1 << 20..] == first[..]);

    struct Chunks(tokio::sync::mpsc::Receiver<Bytes>);
    impl futures_core::Stream for Chunks {
        type Item = Result<Frame<Bytes>, std::convert::Infallible>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            self.0.poll_recv(cx).map(|c| c.map(|b| Ok(Frame::data(b))))
        }
    }
}

#[tokio::test]
async fn http2_clients_get_policies_too() {
    let web = spawn_backend("web").await;
    let lb = spawn_lb(YAML, &[&web]).await;
    let resp = start(&h2_client(), lb.addr, "GET", "/doc/8000?type=text/html", Some("gzip")).await;
    assert_eq!(resp.version(), http::Version::HTTP_2);
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(decode("gzip", &body), doc(8000).as_bytes());
    let seen = web.seen().pop().unwrap();
    assert!(
        seen.headers["host"].to_str().unwrap().starts_with("127.0.0.1:"),
        "Host from :authority"
    );
}
