//! Signals to a real fulcrum process: SIGHUP reloads, SIGTERM drains, a second signal exits.

use crate::common;
use common::process::spawn_proc;
use common::*;
use std::time::Duration;

// workers: 1 runs the single-threaded runtime the benchmarks use
const YAML: &str = "listeners: [{ address: 127.0.0.1:0 }]\nworkers: 1\nupstreams: { p: { servers: [{ address: \"{b0}\" }] } }\nroutes: [{ upstream: p }]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_file() {
    let (a, b) = (spawn_backend("a").await, spawn_backend("b").await);
    let lb = spawn_proc(&fill(YAML, &[&a]));
    let c = client();
    assert_eq!(send(&c, lb.addr, "GET", "/", &[]).await.body, "a");
    std::fs::write(&lb.path, fill(YAML, &[&b])).unwrap();
    lb.signal("HUP");
    eventually(Duration::from_secs(10), || {
        let log = lb.stderr.lock().unwrap().clone();
        let after = log.split("SIGHUP: reloading").nth(1)?;
        after.contains("config reloaded: version").then_some(())
    })
    .await;
    assert_eq!(send(&c, lb.addr, "GET", "/", &[]).await.body, "b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_every_in_flight_request_then_exits_0() {
    let b = spawn_backend("b").await;
    let mut lb = spawn_proc(&fill(YAML, &[&b]));
    let addr = lb.addr;
    let slow: Vec<_> = (0..5)
        .map(|_| tokio::spawn(async move { send(&client(), addr, "GET", "/sleep/800", &[]).await }))
        .collect();
    eventually(Duration::from_secs(10), || (b.seen().len() == 5).then_some(())).await;
    lb.signal("TERM");
    for r in slow {
        let reply = r.await.unwrap();
        assert_eq!((reply.status.as_u16(), reply.body.as_str()), (200, "b"));
        assert_eq!(
            reply.headers.get("connection").map(|v| v.to_str().unwrap()),
            Some("close")
        );
    }
    let code = tokio::task::spawn_blocking(move || lb.wait_exit(Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(code, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once() {
    let b = spawn_backend("b").await;
    let mut lb = spawn_proc(&fill(YAML, &[&b]));
    let addr = lb.addr;
    let stuck = tokio::spawn(async move {
        let _ = client()
            .request(
                http::Request::get(format!("http://{addr}/sleep/60000"))
                    .body(common::backend::pattern_body(0))
                    .unwrap(),
            )
            .await;
    });
    eventually(Duration::from_secs(10), || (b.seen().len() == 1).then_some(())).await;
    lb.signal("TERM");
    eventually(Duration::from_secs(10), || {
        lb.stderr.lock().unwrap().contains("shutting down").then_some(())
    })
    .await;
    assert_eq!(
        lb.wait_exit(Duration::from_millis(300)),
        None,
        "still draining the in-flight request"
    );
    lb.signal("INT");
    let code = tokio::task::spawn_blocking(move || lb.wait_exit(Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(code, Some(130));
    stuck.abort();
}
