//! `mirror`: the copy never delays, changes or fails the primary request.

use crate::common::*;
use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

/// A server that reads requests and never answers; counts connections that sent bytes.
async fn spawn_hang() -> (SocketAddr, Arc<AtomicUsize>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let got = Arc::new(AtomicUsize::new(0));
    let counter = got.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                if matches!(s.read(&mut buf).await, Ok(n) if n > 0) {
                    counter.fetch_add(1, SeqCst);
                }
                // hold the connection without answering
                tokio::time::sleep(Duration::from_secs(60)).await;
                drop(s);
            });
        }
    });
    (addr, got)
}

const YAML: &str = r#"
listeners: [{ address: "{LISTEN}" }]
admin: { address: "127.0.0.1:0" }
upstreams:
  web: { servers: [{ address: "{b0}" }] }
  copy: { servers: [{ address: "{b1}" }] }
  failing: { servers: [{ address: "{b2}" }] }
  hang: { servers: [{ address: "HANG" }], timeouts: { response: 10s } }
  refuse: { servers: [{ address: "REFUSE" }] }
routes:
  - { name: copy, match: { path_prefix: /copy }, upstream: web, strip_prefix: true, mirror: { upstream: copy } }
  - { name: failing, match: { path_prefix: /failing }, upstream: web, mirror: { upstream: failing } }
  - { name: hang, match: { path_prefix: /hang }, upstream: web, mirror: { upstream: hang } }
  - { name: refuse, match: { path_prefix: /refuse }, upstream: web, mirror: { upstream: refuse } }
  - { name: half, match: { path_prefix: /half }, upstream: web, mirror: { upstream: copy, percent: 0 } }
"#;

async fn metric(lb: &LbFile, route: &str, pool: &str, result: &str) -> f64 {
    let text = send(&client(), lb.admin.unwrap(), "GET", "/metrics", &[]).await.body;
    let labels = [("route", route), ("upstream", pool), ("result", result)];
    prom::sample(&text, "fulcrum_mirror_requests_total", &labels).unwrap_or(-1.0)
}

async fn post(addr: SocketAddr, path: &str, body: Bytes) -> Reply {
    let req = Request::builder()
        .method("POST")
        .uri(format!("http://{addr}{path}"))
        .body(BodyExt::boxed(Full::new(body)))
        .unwrap();
    let resp = client().request(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8_lossy(&body.collect().await.unwrap().to_bytes()).into_owned(),
    }
}

#[tokio::test]
async fn a_hanging_refusing_or_failing_mirror_leaves_the_primary_unchanged() {
    let (web, copy, failing) = (
        spawn_backend("web").await,
        spawn_backend("copy").await,
        spawn_backend("failing").await,
    );
    failing.set_failing(true);
    let (hang, hung) = spawn_hang().await;
    let yaml = YAML
        .replace("HANG", &hang.to_string())
        .replace("REFUSE", &closed_port().to_string());
    let lb = spawn_lb_file(&yaml, &[&web, &copy, &failing]).await;
    let cl = client();
    for route in ["copy", "failing", "hang", "refuse"] {
        for _ in 0..3 {
            let r = send(&cl, lb.addr, "GET", &format!("/{route}/x?q=1"), &[("x-user", "u1")]).await;
            assert_eq!(
                (r.status.as_u16(), r.body.as_str()),
                (200, "web"),
                "{route}: primary unchanged"
            );
        }
    }
    // the primary was answered while the hanging mirror still holds its copies
    eventually(Duration::from_secs(5), || (hung.load(SeqCst) == 3).then_some(())).await;
    assert_eq!(metric(&lb, "hang", "hang", "sent").await, 0.0);
    eventually_async(Duration::from_secs(5), || async {
        (metric(&lb, "copy", "copy", "sent").await == 3.0).then_some(())
    })
    .await;
    let seen = copy.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].uri, "/copy/x?q=1", "same path and query");
    assert_eq!(seen[0].headers["x-user"], "u1", "same headers");
    eventually_async(Duration::from_secs(5), || async {
        (metric(&lb, "failing", "failing", "sent").await == 3.0).then_some(())
    })
    .await;
    eventually_async(Duration::from_secs(5), || async {
        (metric(&lb, "refuse", "refuse", "failed").await == 3.0).then_some(())
    })
    .await;
    assert_eq!(web.traffic(), 12, "every primary reached its upstream once");
    // percent 0: never mirrored
    send(&cl, lb.addr, "GET", "/half", &[]).await;
    assert_eq!(metric(&lb, "half", "copy", "sent").await, 0.0);
}

#[tokio::test]
async fn bodies_up_to_64_kib_are_copied_larger_ones_skipped() {
    let (web, copy, failing) = (
        spawn_backend("web").await,
        spawn_backend("copy").await,
        spawn_backend("f").await,
    );
    let yaml = YAML
        .replace("HANG", &closed_port().to_string())
        .replace("REFUSE", &closed_port().to_string());
    let lb = spawn_lb_file(&yaml, &[&web, &copy, &failing]).await;
    let small = Bytes::from(vec![7u8; 64 * 1024]);
    let r = post(lb.addr, "/copy/sha", small.clone()).await;
    assert!(r.body.starts_with("65536 "), "{}", r.body);
    let big = Bytes::from(vec![7u8; 64 * 1024 + 1]);
    let r = post(lb.addr, "/copy/sha", big).await;
    assert!(
        r.body.starts_with("65537 "),
        "the primary gets the whole body: {}",
        r.body
    );
    eventually_async(Duration::from_secs(5), || async {
        (metric(&lb, "copy", "copy", "sent").await == 1.0).then_some(())
    })
    .await;
    assert_eq!(metric(&lb, "copy", "copy", "skipped").await, 1.0);
    let seen = copy.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].headers["content-length"], "65536");
}

#[tokio::test]
async fn mirror_requests_in_flight_are_bounded() {
    let web = spawn_backend("web").await;
    let (hang, hung) = spawn_hang().await;
    let yaml = YAML
        .replace("HANG", &hang.to_string())
        .replace("REFUSE", &closed_port().to_string());
    let (copy, failing) = (spawn_backend("c").await, spawn_backend("f").await);
    let lb = spawn_lb_file(&yaml, &[&web, &copy, &failing]).await;
    let cl = client();
    // one primary server: at most 100 mirror requests in flight
    for _ in 0..130 {
        assert_eq!(send(&cl, lb.addr, "GET", "/hang", &[]).await.status, 200);
    }
    assert_eq!(metric(&lb, "hang", "hang", "skipped").await, 30.0);
    eventually(Duration::from_secs(5), || (hung.load(SeqCst) == 100).then_some(())).await;
}
