//! Retries per SPEC §3 with real sockets: a refused connect is retried on
//! another server for any method, a failure after sending only for
//! idempotent methods, and a POST never reaches an upstream twice.

use crate::common;
use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn yaml(servers: &[String], retries: &str) -> String {
    let list: Vec<String> = servers.iter().map(|s| format!("{{ address: \"{s}\" }}")).collect();
    format!(
        "listeners: [{{ address: \"{{LISTEN}}\" }}]\nadmin: {{ address: \"127.0.0.1:0\" }}\nupstreams:\n  p:\n    balance: round_robin\n    servers: [{}]\n{retries}routes: [{{ upstream: p }}]\n",
        list.join(", ")
    )
}

/// A server that reads each request and hangs up without answering;
/// counts the requests that reached it.
async fn spawn_hang_up() -> (SocketAddr, Arc<AtomicUsize>) {
    let server = spawn_raw_server(b"").await;
    (server.addr, server.requests)
}

async fn post(c: &TestClient, addr: SocketAddr, path: &str, body: &'static [u8]) -> (u16, String) {
    let req = http::Request::post(format!("http://{addr}{path}"))
        .body(BodyExt::boxed(Full::new(Bytes::from_static(body))))
        .unwrap();
    let resp = c.request(req).await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn retries_counted(lb: &LbFile) -> f64 {
    let m = send(&client(), lb.admin.unwrap(), "GET", "/metrics", &[]).await.body;
    prom::sample(&m, "fulcrum_retries_total", &[("upstream", "p")]).unwrap()
}

type TestClient = common::client::TestClient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_server_is_skipped_for_every_method() {
    let b = spawn_backend("b").await;
    let dead = closed_port().to_string();
    let lb = spawn_lb_file(&yaml(&[dead, "{b0}".into()], ""), &[&b]).await;
    let c = client();
    for _ in 0..10 {
        assert_eq!(send(&c, lb.addr, "GET", "/", &[]).await.status, 200);
    }
    for _ in 0..10 {
        let (status, body) = post(&c, lb.addr, "/sha", b"hello").await;
        assert_eq!(status, 200);
        assert!(
            body.starts_with("5 2cf24dba"),
            "the retried POST carried its body: {body}"
        );
    }
    assert_eq!(b.traffic(), 20, "each request reached the live server exactly once");
    // round robin picks the refusing server for at least every other request
    // (a retry's pick moves the turn too), and each request retries at most once
    let retries = retries_counted(&lb).await;
    assert!((10.0..=20.0).contains(&retries), "{retries} retries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_retries_the_refusing_server_answers_502() {
    let b = spawn_backend("b").await;
    let dead = closed_port().to_string();
    let lb = spawn_lb_file(&yaml(&[dead, "{b0}".into()], "    retries: { attempts: 0 }\n"), &[&b]).await;
    let c = client();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(send(&c, lb.addr, "GET", "/", &[]).await.status.as_u16());
    }
    statuses.sort();
    assert_eq!(statuses, [200, 200, 502, 502]);
    assert_eq!(retries_counted(&lb).await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_that_was_sent_is_never_sent_again() {
    let (a, seen_a) = spawn_hang_up().await;
    let (b, seen_b) = spawn_hang_up().await;
    let lb = spawn_lb_file(
        &yaml(&[a.to_string(), b.to_string()], "    retries: { attempts: 3 }\n"),
        &[],
    )
    .await;
    let c = client();
    for round in 1..=4 {
        let (status, _) = post(&c, lb.addr, "/", b"charge the card").await;
        assert_eq!(status, 502);
        let reached = seen_a.load(Ordering::SeqCst) + seen_b.load(Ordering::SeqCst);
        assert_eq!(reached, round, "a POST reached upstreams more than once");
    }
    assert_eq!(retries_counted(&lb).await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_that_failed_after_sending_is_retried_on_another_server() {
    let (a, seen_a) = spawn_hang_up().await;
    let b = spawn_backend("b").await;
    let lb = spawn_lb_file(&yaml(&[a.to_string(), "{b0}".into()], ""), &[&b]).await;
    let c = client();
    for _ in 0..6 {
        let r = send(&c, lb.addr, "GET", "/", &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body, "b");
    }
    let hung_up = seen_a.load(Ordering::SeqCst);
    assert!(
        hung_up >= 3,
        "round robin sent at least every other GET to the hang-up server first"
    );
    assert_eq!(b.traffic(), 6);
    assert_eq!(
        retries_counted(&lb).await,
        hung_up as f64,
        "each hang-up was retried once"
    );
}
