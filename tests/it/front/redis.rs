//! Rate limits shared through a real `redis-server`: two fulcrum processes
//! together admit one client's burst + rate x time; with Redis gone the
//! requests flow (fail open, counted, logged at most once a second), and
//! once it is back the limits apply again without a restart.

use super::common::process::{spawn_proc, tool, Proc};
use super::common::*;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A redis-server on `port`, killed on drop.
struct Redis(Child);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_redis(bin: &std::path::Path, port: u16) -> Redis {
    let child = Command::new(bin)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server starts");
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    eventually_async(Duration::from_secs(10), || async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(b"PING\r\n").await.ok()?;
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf).await.ok()?;
        (&buf == b"+PONG\r\n").then_some(())
    })
    .await;
    Redis(child)
}

fn yaml(backend: SocketAddr, port: u16, rate: &str, burst: u32) -> String {
    format!(
        "listeners: [{{ address: \"127.0.0.1:0\" }}]\nadmin: {{ address: \"127.0.0.1:0\" }}\n\
         rate_limits: {{ shared: {{ key: header:x-user, rate: {rate}, burst: {burst}, \
         store: {{ redis: \"redis://127.0.0.1:{port}/0\", timeout: 200ms }} }} }}\n\
         upstreams: {{ p: {{ servers: [{{ address: \"{backend}\" }}] }} }}\n\
         routes: [{{ name: api, upstream: p, rate_limit: shared }}]\n"
    )
}

async fn status(c: &TestClient, p: &Proc) -> u16 {
    send(c, p.addr, "GET", "/", &[("x-user", "ann")]).await.status.as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_redis_admit_burst_plus_rate_times_time() {
    let Some(bin) = tool("redis-server") else { return };
    let port = closed_port().port();
    let _redis = start_redis(&bin, port).await;
    let b = spawn_backend("b").await;
    let (one, two) = (
        spawn_proc(&yaml(b.addr, port, "20/s", 10)),
        spawn_proc(&yaml(b.addr, port, "20/s", 10)),
    );
    let c = client();
    let start = Instant::now();
    let (mut admitted, mut refused) = (0u32, 0u32);
    while start.elapsed() < Duration::from_secs(3) {
        for p in [&one, &two] {
            match status(&c, p).await {
                200 => admitted += 1,
                429 => refused += 1,
                other => panic!("status {other}"),
            }
        }
    }
    let expected = 10.0 + 20.0 * start.elapsed().as_secs_f64();
    let off = (f64::from(admitted) - expected).abs() / expected;
    assert!(
        off <= 0.05,
        "admitted {admitted} (refused {refused}), expected {expected:.1}: {:.1}% off",
        off * 100.0
    );
    assert!(refused > 0, "the limit was reached");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_requests_flow_and_once_it_is_back_the_limit_holds_again() {
    let Some(bin) = tool("redis-server") else { return };
    let port = closed_port().port();
    let redis = start_redis(&bin, port).await;
    let b = spawn_backend("b").await;
    let p = spawn_proc(&yaml(b.addr, port, "1/m", 3));
    let c = client();
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(status(&c, &p).await);
    }
    assert_eq!(got, [200, 200, 200, 429]);
    drop(redis);
    let down = Instant::now();
    for _ in 0..30 {
        assert_eq!(status(&c, &p).await, 200, "fail open while Redis is down");
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for _ in 0..10 {
        assert_eq!(status(&c, &p).await, 200);
    }
    let errors = {
        let text = send(&c, p.admin(), "GET", "/metrics", &[]).await.body;
        prom::sample(&text, "fulcrum_rate_limit_store_errors_total", &[("policy", "shared")]).unwrap_or(0.0)
    };
    assert_eq!(errors, 40.0, "every request let through unchecked is counted");
    let logged = p
        .stderr
        .lock()
        .unwrap()
        .matches("Redis failed, letting requests through")
        .count();
    let seconds = down.elapsed().as_secs_f64();
    assert!(
        logged >= 1 && logged as f64 <= seconds.ceil() + 1.0,
        "{logged} log lines in {seconds:.1} s"
    );
    // Redis back (empty): the limit applies again, no restart of fulcrum
    let _redis = start_redis(&bin, port).await;
    let limited = eventually_async(Duration::from_secs(15), || {
        let (c, p) = (&c, &p);
        async move { (status(c, p).await == 429).then_some(()) }
    })
    .await;
    let () = limited;
}
