//! `max_in_flight` and the pool's FIFO queue.

use super::common::*;
use super::{metric, metric_sum};
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

fn yaml(servers: &str, protect: &str) -> String {
    format!(
        "listeners: [{{ address: \"{{LISTEN}}\" }}]\nadmin: {{ address: \"127.0.0.1:0\" }}\n\
         upstreams: {{ p: {{ balance: round_robin, servers: [{servers}], {protect} }} }}\nroutes: [{{ upstream: p }}]\n"
    )
}

/// Waits until `n` requests wait in pool p's queue.
async fn queued(admin: std::net::SocketAddr, n: f64) {
    eventually_async(Duration::from_secs(10), || async move {
        (metric(admin, "fulcrum_upstream_queue_depth", &[("upstream", "p")]).await == n).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_server_ever_sees_more_than_max_in_flight_under_fifty_clients() {
    let a = spawn_slow_backend("a", Duration::from_millis(100)).await;
    let b = spawn_slow_backend("b", Duration::from_millis(100)).await;
    let servers = "{ address: \"{b0}\" }, { address: \"{b1}\" }";
    let lb = spawn_lb_file(&yaml(servers, "max_in_flight: 3, queue: { timeout: 30s }"), &[&a, &b]).await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let addr = lb.addr;
            tokio::spawn(async move {
                let c = client();
                let mut ok = 0;
                for j in 0..2 {
                    ok += (send(&c, addr, "GET", &format!("/c{i}/{j}"), &[]).await.status == 200) as usize;
                }
                ok
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        ok += t.await.unwrap();
    }
    assert_eq!(ok, 100, "every queued request is served in the end");
    let peaks = (a.max_active.load(SeqCst), b.max_active.load(SeqCst));
    assert_eq!(peaks, (3, 3), "each server reached its limit and never passed it");
    let admin = lb.admin.unwrap();
    assert_eq!(
        metric(admin, "fulcrum_upstream_queue_depth", &[("upstream", "p")]).await,
        0.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_requests_are_served_in_the_order_they_came() {
    let a = spawn_slow_backend("a", Duration::from_millis(150)).await;
    let lb = spawn_lb_file(&yaml("{ address: \"{b0}\" }", "max_in_flight: 1"), &[&a]).await;
    let admin = lb.admin.unwrap();
    let mut tasks = Vec::new();
    for i in 0..6 {
        let addr = lb.addr;
        tasks.push(tokio::spawn(async move {
            send(&client(), addr, "GET", &format!("/n{i}"), &[]).await.status
        }));
        if i == 0 {
            eventually(Duration::from_secs(5), || (a.active.load(SeqCst) == 1).then_some(())).await;
        } else {
            queued(admin, i as f64).await;
        }
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let order: Vec<String> = a.seen().iter().map(|r| r.uri.clone()).collect();
    let expected: Vec<String> = (0..6).map(|i| format!("/n{i}")).collect();
    assert_eq!(order, expected, "first come, first served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_and_a_long_wait_each_answer_503_naming_the_cause() {
    let a = spawn_slow_backend("a", Duration::from_millis(1500)).await;
    let protect = "max_in_flight: 1, queue: { max: 1, timeout: 300ms }";
    let lb = spawn_lb_file(&yaml("{ address: \"{b0}\" }", protect), &[&a]).await;
    let admin = lb.admin.unwrap();
    let addr = lb.addr;
    let first = tokio::spawn(async move { send(&client(), addr, "GET", "/first", &[]).await });
    eventually(Duration::from_secs(5), || (a.active.load(SeqCst) == 1).then_some(())).await;
    let waiting = tokio::spawn(async move { send(&client(), addr, "GET", "/waiting", &[]).await });
    queued(admin, 1.0).await;
    let full = send(&client(), addr, "GET", "/full", &[]).await;
    assert_eq!(full.status, 503);
    assert_eq!(full.body, "503 Service Unavailable: upstream p: queue full\n");
    let timed_out = waiting.await.unwrap();
    assert_eq!(timed_out.status, 503);
    assert_eq!(timed_out.body, "503 Service Unavailable: upstream p: queue timeout\n");
    assert_eq!(first.await.unwrap().status, 200);
    for reason in ["full", "timeout"] {
        let labels = [("upstream", "p"), ("reason", reason)];
        assert_eq!(
            metric(admin, "fulcrum_upstream_queue_overflow_total", &labels).await,
            1.0,
            "{reason}"
        );
    }
    let labels = [("upstream", "p"), ("code", "503")];
    assert_eq!(
        metric_sum(admin, "fulcrum_requests_total", &labels).await,
        2.0,
        "counted like any 503"
    );
    let uris: Vec<String> = a.seen().iter().map(|r| r.uri.clone()).collect();
    assert_eq!(uris, ["/first"], "refused requests never reach the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_leaves_the_queue_and_frees_its_slot() {
    let a = spawn_slow_backend("a", Duration::from_millis(600)).await;
    let lb = spawn_lb_file(&yaml("{ address: \"{b0}\" }", "max_in_flight: 1"), &[&a]).await;
    let admin = lb.admin.unwrap();
    let addr = lb.addr;
    // in flight, then gone: its slot must come back without waiting for the server
    let gone_in_flight = tokio::spawn(async move { send(&client(), addr, "GET", "/gone-in-flight", &[]).await });
    eventually(Duration::from_secs(5), || (a.active.load(SeqCst) == 1).then_some(())).await;
    let gone_waiting = tokio::spawn(async move { send(&client(), addr, "GET", "/gone-waiting", &[]).await });
    queued(admin, 1.0).await;
    gone_waiting.abort();
    queued(admin, 0.0).await;
    gone_in_flight.abort();
    let in_flight = [("upstream", "p"), ("server", &a.addr.to_string())];
    eventually_async(Duration::from_secs(5), || async move {
        (metric(admin, "fulcrum_upstream_in_flight", &in_flight).await == 0.0).then_some(())
    })
    .await;
    let next = send(&client(), addr, "GET", "/next", &[]).await;
    assert_eq!(next.status, 200);
    let uris: Vec<String> = a.seen().iter().map(|r| r.uri.clone()).collect();
    assert!(
        !uris.contains(&"/gone-waiting".to_string()),
        "a request that left the queue is never sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_waiting_clients_vanishing_at_random_leak_no_slot() {
    let a = spawn_slow_backend("a", Duration::from_millis(20)).await;
    let b = spawn_slow_backend("b", Duration::from_millis(20)).await;
    let servers = "{ address: \"{b0}\" }, { address: \"{b1}\" }";
    let protect = "max_in_flight: 2, queue: { max: 2000, timeout: 1s }";
    let lb = spawn_lb_file(&yaml(servers, protect), &[&a, &b]).await;
    let admin = lb.admin.unwrap();
    let mut tasks = Vec::new();
    for i in 0..1000u64 {
        let addr = lb.addr;
        tasks.push(tokio::spawn(async move {
            let c = client();
            // about half give up at a random moment, in flight or waiting
            let patience = Duration::from_millis(if i % 2 == 0 { fastrand::u64(1..800) } else { 5_000 });
            tokio::time::timeout(patience, send(&c, addr, "GET", "/", &[]))
                .await
                .ok()
                .map(|r| r.status.as_u16())
        }));
    }
    let (mut served, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Some(200) => served += 1,
            Some(503) => refused += 1,
            Some(other) => panic!("unexpected status {other}"),
            None => {}
        }
    }
    assert!(
        served > 0 && refused > 0,
        "served {served}, timed out {refused}: the queue was exercised"
    );
    eventually_async(Duration::from_secs(10), || async move {
        let depth = metric(admin, "fulcrum_upstream_queue_depth", &[("upstream", "p")]).await;
        let text = send(&client(), admin, "GET", "/metrics", &[]).await.body;
        let in_flight = prom::sum(&text, "fulcrum_upstream_in_flight");
        (depth == 0.0 && in_flight == 0.0).then_some(())
    })
    .await;
    // and the pool serves the next request at once
    assert_eq!(send(&client(), lb.addr, "GET", "/", &[]).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_keeps_the_queue_of_a_pool_that_stays() {
    let a = spawn_slow_backend("a", Duration::from_millis(300)).await;
    let yaml = yaml("{ address: \"{b0}\" }", "max_in_flight: 1");
    let lb = spawn_lb_file(&yaml, &[&a]).await;
    let admin = lb.admin.unwrap();
    let addr = lb.addr;
    let first = tokio::spawn(async move { send(&client(), addr, "GET", "/first", &[]).await.status });
    eventually(Duration::from_secs(5), || (a.active.load(SeqCst) == 1).then_some(())).await;
    let waiting = tokio::spawn(async move { send(&client(), addr, "GET", "/waiting", &[]).await.status });
    queued(admin, 1.0).await;
    // a reload that keeps pool p (and adds a route) while a request waits
    let next = fill(&yaml, &[&a]).replace("routes: [", "routes: [{ match: { path: /other }, upstream: p }, ");
    std::fs::write(&lb.path, next).unwrap();
    lb.handle.reload().await.expect("reloads");
    // a request on the new config goes behind the one that waited
    let after = tokio::spawn(async move { send(&client(), addr, "GET", "/after", &[]).await.status });
    queued(admin, 2.0).await;
    for t in [first, waiting, after] {
        assert_eq!(t.await.unwrap(), 200);
    }
    let order: Vec<String> = a.seen().iter().map(|r| r.uri.clone()).collect();
    assert_eq!(order, ["/first", "/waiting", "/after"]);
    assert_eq!(a.max_active.load(SeqCst), 1, "the limit held across the reload");
}
