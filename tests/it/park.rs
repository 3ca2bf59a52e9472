//! Parked HTTP/1 connections (`server::serve`): after a quiet spell hyper's
//! connection ends and the socket waits alone; the next request gets a new
//! one. Nothing may be lost at the moment of parking, and a parked
//! connection keeps the idle, head-timeout, half-close and drain behaviour
//! of any other.

use crate::common;
use common::process::{spawn_proc_env, Proc};
use common::*;
use std::ffi::OsStr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// fulcrum's quiet time before a park (`server::serve::PARK_AFTER`).
const PARK_AFTER: Duration = Duration::from_millis(200);

/// One upstream, one catch-all route, and `limits` (e.g. `idle_timeout: 4s`).
pub(crate) fn yaml(limits: &str, b: &Backend) -> String {
    fill(
        &format!("listeners: [{{ address: \"127.0.0.1:0\" }}]\nlimits: {{ {limits} }}\nupstreams: {{ p: {{ servers: [{{ address: \"{{b0}}\" }}] }} }}\nroutes: [{{ upstream: p }}]\n"),
        &[b],
    )
}

/// fulcrum with its park and unpark lines logged.
fn spawn(limits: &str, b: &Backend) -> Proc {
    spawn_top("", limits, b)
}

/// [`spawn`] with `top` (top-level keys, e.g. `workers: 1\n`) first.
fn spawn_top(top: &str, limits: &str, b: &Backend) -> Proc {
    spawn_proc_env(
        &format!("{top}{}", yaml(limits, b)),
        &[("RUST_LOG", OsStr::new("info,fulcrum::server::serve=trace"))],
    )
}

fn parks(lb: &Proc) -> usize {
    lb.stderr.lock().unwrap().matches(" parked").count()
}

fn unparks(lb: &Proc) -> usize {
    lb.stderr.lock().unwrap().matches(" unparked").count()
}

/// Reads one whole response (a Content-Length body) off `s`.
pub(crate) async fn response<S: AsyncRead + Unpin>(s: &mut S, pending: &mut Vec<u8>) -> String {
    loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if pending.len() >= end + 4 + len {
                let whole: Vec<u8> = pending.drain(..end + 4 + len).collect();
                return String::from_utf8_lossy(&whole).into_owned();
            }
        }
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("a response within 10 s")
            .unwrap();
        assert!(
            n > 0,
            "closed before the response; had {:?}",
            String::from_utf8_lossy(pending)
        );
        pending.extend_from_slice(&buf[..n]);
    }
}

async fn closed_within(s: &mut TcpStream, deadline: Duration) -> bool {
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // an answer to the cut head, then the close
            Err(_) => return false,
        }
    }
}

const GET: &[u8] = b"GET /park HTTP/1.1\r\nHost: x\r\n\r\n";

/// A new keep-alive connection with one request answered 200 on it.
async fn served(addr: std::net::SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(GET).await.unwrap();
    let r = response(&mut s, &mut Vec::new()).await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_park_and_their_next_requests_are_served() {
    // one worker per core (the default: the lot hands sockets to worker
    // threads), and one worker (back to the accepting runtime)
    for (round, top) in ["", "workers: 1\n"].into_iter().enumerate() {
        let b = spawn_backend("b").await;
        let lb = spawn_top(top, "", &b);
        let mut conns = Vec::new();
        for _ in 0..20 {
            let s = served(lb.addr).await;
            conns.push(s);
        }
        eventually(Duration::from_secs(10), || (parks(&lb) >= 20).then_some(())).await;
        for s in &mut conns {
            s.write_all(GET).await.unwrap();
            let r = response(s, &mut Vec::new()).await;
            assert!(r.starts_with("HTTP/1.1 200"), "round {round}: {r}");
        }
        // counted from fulcrum's log, which a reader thread collects: it
        // can trail the answers when the machine is busy (16 of 20 once,
        // in the full suite)
        eventually(Duration::from_secs(10), || (unparks(&lb) >= 20).then_some(())).await;
        assert_eq!(unparks(&lb), 20, "round {round}");
        // and they park again
        eventually(Duration::from_secs(10), || (parks(&lb) >= 40).then_some(())).await;
        assert_eq!(b.traffic(), 40, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_racing_the_park_are_never_lost() {
    let b = spawn_backend("b").await;
    let lb = spawn("", &b);
    let mut clients = Vec::new();
    for c in 0..8u64 {
        let addr = lb.addr;
        clients.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            let mut pending = Vec::new();
            let mut sent = 0;
            for i in 0..24u64 {
                // around the park: some just before, some just after, some at it
                let pause = PARK_AFTER - Duration::from_millis(12) + Duration::from_millis((c * 7 + i * 5) % 24);
                tokio::time::sleep(pause).await;
                // every third time two pipelined requests in one write
                let n = if i % 3 == 0 { 2 } else { 1 };
                s.write_all(&GET.repeat(n)).await.unwrap();
                for _ in 0..n {
                    let r = response(&mut s, &mut pending).await;
                    assert!(r.starts_with("HTTP/1.1 200"), "client {c} request {i}: {r}");
                }
                sent += n;
            }
            sent
        }));
    }
    let mut sent = 0;
    for c in clients {
        sent += c.await.unwrap();
    }
    assert_eq!(b.traffic(), sent, "every request reached the backend once");
    assert!(
        parks(&lb) > 0 && unparks(&lb) > 0,
        "the race was never run: no park happened"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_connection_whose_client_half_closes_is_closed() {
    let b = spawn_backend("b").await;
    let lb = spawn("", &b);
    let before = lb.fds();
    let mut s = served(lb.addr).await;
    eventually(Duration::from_secs(10), || (parks(&lb) == 1).then_some(())).await;
    s.shutdown().await.unwrap();
    assert!(
        closed_within(&mut s, Duration::from_secs(10)).await,
        "not closed after the FIN"
    );
    // only the pooled upstream connection stays
    eventually(Duration::from_secs(10), || (lb.fds() <= before + 1).then_some(())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_byte_trickled_to_a_parked_connection_is_cut_at_the_head_timeout() {
    let b = spawn_backend("b").await;
    let lb = spawn("header_read_timeout: 1s, idle_timeout: 60s", &b);
    let mut s = served(lb.addr).await;
    eventually(Duration::from_secs(10), || (parks(&lb) == 1).then_some(())).await;
    s.write_all(b"G").await.unwrap();
    let start = std::time::Instant::now();
    assert!(
        closed_within(&mut s, Duration::from_secs(15)).await,
        "a trickled head outlived its timeout"
    );
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "cut before its head timeout"
    );
    assert_eq!(b.traffic(), 1, "the half head reached the upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_connection_still_closes_at_the_idle_timeout() {
    let b = spawn_backend("b").await;
    let lb = spawn_top("admin: { address: \"127.0.0.1:0\" }\n", "idle_timeout: 1s", &b);
    let open = || {
        common::prom::scraped(
            lb.admin(),
            "fulcrum_downstream_connections",
            &[("listener", "127.0.0.1:0")],
        )
    };
    let mut s = served(lb.addr).await;
    let start = std::time::Instant::now();
    eventually(Duration::from_secs(5), || (parks(&lb) == 1).then_some(())).await;
    assert_eq!(open().await, Some(1.0), "a parked connection is still open");
    assert!(closed_within(&mut s, Duration::from_secs(15)).await);
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "closed before idle_timeout"
    );
    assert_eq!(parks(&lb), 1, "closed without having parked first");
    assert_eq!(open().await, Some(0.0), "closed in the lot, counted closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_parked_connections_without_waiting() {
    let b = spawn_backend("b").await;
    let mut lb = spawn("", &b);
    let mut conns = Vec::new();
    for _ in 0..10 {
        let s = served(lb.addr).await;
        conns.push(s);
    }
    eventually(Duration::from_secs(10), || (parks(&lb) >= 10).then_some(())).await;
    lb.signal("TERM");
    // shutdown_timeout is 30 s by default: a parked connection left to run
    // out its idle time would hold the drain far past this deadline
    let code = tokio::task::spawn_blocking(move || lb.wait_exit(Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(code, Some(0), "the drain did not finish promptly");
    for s in &mut conns {
        assert!(closed_within(s, Duration::from_secs(5)).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_parked_connections_cost_under_2_kib_each_and_all_wake_at_once() {
    let b = spawn_backend("b").await;
    let lb = spawn("", &b);
    let n = 2_000;
    let mut conns = Vec::new();
    // warm up: the process's own first allocations are not the connections'
    for _ in 0..2 {
        drop(served(lb.addr).await);
    }
    let before = lb.status_kib("VmRSS");
    for _ in 0..n {
        let s = served(lb.addr).await;
        conns.push(s);
    }
    eventually(Duration::from_secs(20), || (parks(&lb) >= n).then_some(())).await;
    let per_conn = lb.idle_kib_per(before, n).await;
    eprintln!("{n} parked connections: {per_conn:.2} KiB each");
    // #19's bound. Hyper's connection kept 17.5 KiB each before parking
    // existed, the connection's task parked with it 3-4.5 (debug build);
    // in the lot, 0.8 here
    assert!(per_conn < 2.0, "{per_conn:.2} KiB per parked connection");
    // all wake at once: one write each, then every answer
    for s in &mut conns {
        s.write_all(GET).await.unwrap();
    }
    for s in &mut conns {
        let r = response(s, &mut Vec::new()).await;
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    }
    assert_eq!(b.traffic(), 2 * n + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_over_the_limit_in_one_write_is_refused() {
    // a head over a lowered limit, whole in one write, is refused and not
    // forwarded (this one passes on the buffer cap alone; the soak's own
    // find is the_soaks_oversized_head_is_refused_at_once)
    let b = spawn_backend("b").await;
    let lb = spawn("max_header_bytes: 16384", &b);
    let head = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(20_000));
    let mut s = TcpStream::connect(lb.addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    let r = response(&mut s, &mut Vec::new()).await;
    assert!(r.starts_with("HTTP/1.1 431"), "{r}");
    assert_eq!(b.traffic(), 0, "the head reached the upstream");
}

/// The soak's oversized head on `s` (default limits): 70 KB in one write.
/// With only hyper's read-buffer cap it was neither answered nor closed
/// (every time, 300 of 300); it must be answered 431 or closed, at once,
/// and never reach `b`.
pub(crate) async fn oversized_head_is_refused<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S, b: &Backend) {
    let head = format!(
        "GET / HTTP/1.1\r\nHost: a.test\r\nX-Big: {}\r\n\r\n",
        "a".repeat(70_000)
    );
    // the 431 and close can come before the last of the head is written
    let _ = s.write_all(head.as_bytes()).await;
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "neither answered nor closed within 5 s");
    let got = String::from_utf8_lossy(&got);
    // a reset after the answer can take it with it
    assert!(got.is_empty() || got.starts_with("HTTP/1.1 431"), "{got}");
    assert_eq!(b.traffic(), 0, "the oversized head reached the upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_soaks_oversized_head_is_refused_at_once() {
    let b = spawn_backend("b").await;
    let lb = spawn("", &b);
    let mut s = TcpStream::connect(lb.addr).await.unwrap();
    oversized_head_is_refused(&mut s, &b).await;
}
