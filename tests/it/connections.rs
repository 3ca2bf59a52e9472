//! Downstream connections over time: idle keep-alive connections close after
//! `idle_timeout` (never one with a request in flight), clients that vanish
//! mid-request or mid-response leak nothing, and running out of file
//! descriptors makes the accept loop back off instead of spinning.

use crate::common;
use common::process::spawn_proc;
use common::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn yaml(limits: &str) -> String {
    format!(
        "listeners: [{{ address: \"{{LISTEN}}\" }}]\nadmin: {{ address: \"127.0.0.1:0\" }}\nlimits: {{ {limits} }}\nupstreams: {{ p: {{ servers: [{{ address: \"{{b0}}\" }}] }} }}\nroutes: [{{ upstream: p }}]\n"
    )
}

/// The config without an admin listener, for the real binary (whose first
/// "listening on" line must be the proxy's).
fn plain_yaml() -> String {
    yaml("").replace("admin: { address: \"127.0.0.1:0\" }\n", "")
}

/// Reads the next bytes of a response off a kept-alive connection.
async fn read_reply(s: &mut TcpStream) -> String {
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Waits (with a deadline) for the peer to close; returns how long it took.
async fn closed_within(s: &mut TcpStream, deadline: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 64];
    match tokio::time::timeout(deadline, s.read(&mut buf)).await {
        Ok(Ok(0)) | Ok(Err(_)) => Some(start.elapsed()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_close_but_busy_ones_do_not() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb_file(&yaml("idle_timeout: 400ms, header_read_timeout: 5s"), &[&b]).await;
    // a request slower than the idle timeout is answered, not cut
    let mut busy = TcpStream::connect(lb.addr).await.unwrap();
    busy.write_all(b"GET /sleep/1200 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut idle = TcpStream::connect(lb.addr).await.unwrap();
    idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    assert!(read_reply(&mut idle).await.starts_with("HTTP/1.1 200"));
    assert!(
        read_reply(&mut busy).await.starts_with("HTTP/1.1 200"),
        "a busy connection was cut"
    );
    // both are idle now: each closes on its own
    for s in [&mut idle, &mut busy] {
        assert!(
            closed_within(s, Duration::from_secs(10)).await.is_some(),
            "an idle connection stayed open"
        );
    }
    // idleness is not an attack
    let m = send(&client(), lb.admin.unwrap(), "GET", "/metrics", &[]).await.body;
    assert_eq!(
        prom::sample(&m, "fulcrum_requests_rejected_total", &[("reason", "header_timeout")]),
        Some(0.0),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_outlives_the_header_timeout_until_idle_timeout() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb(&yaml("idle_timeout: 1500ms, header_read_timeout: 200ms"), &[&b]).await;
    let mut s = TcpStream::connect(lb.addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    assert!(read_reply(&mut s).await.starts_with("HTTP/1.1 200"));
    assert!(
        closed_within(&mut s, Duration::from_millis(700)).await.is_none(),
        "closed by the header timeout while idle"
    );
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    assert!(
        read_reply(&mut s).await.starts_with("HTTP/1.1 200"),
        "the kept-alive connection serves again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_vanish_leak_nothing() {
    let b = spawn_backend("b").await;
    let p = spawn_proc(&fill(&plain_yaml(), &[&b]));
    assert_eq!(send(&client(), p.addr, "GET", "/", &[]).await.status, 200);
    let baseline = p.fds();
    for _ in 0..10 {
        // mid-response: a long streamed body, abandoned after the first bytes
        let mut s = TcpStream::connect(p.addr).await.unwrap();
        s.write_all(b"GET /drip/200/20 HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        assert!(s.read(&mut buf).await.unwrap() > 0);
        drop(s);
        // mid-request: a body promised and never finished
        let mut s = TcpStream::connect(p.addr).await.unwrap();
        s.write_all(b"POST /sha HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\npartial")
            .await
            .unwrap();
        drop(s);
    }
    // eventually() panics at its deadline: descriptors must come back to the baseline
    eventually(Duration::from_secs(15), || (p.fds() <= baseline).then_some(())).await;
    assert_eq!(send(&client(), p.addr, "GET", "/", &[]).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_out_of_file_descriptors_backs_off_then_recovers() {
    let b = spawn_backend("b").await;
    let p = spawn_proc(&fill(&plain_yaml(), &[&b]));
    let limit = p.fds() + 6;
    let ok = std::process::Command::new("prlimit")
        .arg(format!("--pid={}", p.child.id()))
        .arg(format!("--nofile={limit}:{limit}"))
        .status()
        .unwrap();
    assert!(ok.success(), "prlimit failed");
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(TcpStream::connect(p.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (ticks, wall) = (p.cpu_ticks(), Instant::now());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = (p.cpu_ticks() - ticks) as f64 / 100.0 / wall.elapsed().as_secs_f64();
    assert!(
        used < 0.25,
        "the accept loop spun at {:.0}% of a core while out of descriptors",
        used * 100.0
    );
    assert!(
        p.stderr.lock().unwrap().contains("accept failed"),
        "the exhaustion was not logged"
    );
    drop(held);
    let r = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let mut s = TcpStream::connect(p.addr).await.unwrap();
            s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            let mut out = Vec::new();
            let _ = s.read_to_end(&mut out).await;
            if out.starts_with(b"HTTP/1.1 200") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(r.is_ok(), "fulcrum did not recover once descriptors were free");
}
