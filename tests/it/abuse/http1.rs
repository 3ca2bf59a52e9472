//! Slow and hostile HTTP/1 clients beside good ones: uploads at a byte a
//! second, clients that never read their response, and 5,000 connections
//! that open a head and never finish it (half of them half-closed).

use super::Scene;
use crate::common;
use common::*;
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// 100 uploads at one byte a second are all served, byte-exact, while a
/// good client keeps its latency.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_uploads_are_served_beside_good_clients() {
    let scene = Scene::new("").await;
    let addr = scene.lb.addr;
    const BODY: &[u8] = b"slow!";
    let mut uploads = Vec::new();
    for _ in 0..100 {
        uploads.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            let head = format!(
                "POST /sha HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
                BODY.len()
            );
            s.write_all(head.as_bytes()).await.unwrap();
            for byte in BODY {
                tokio::time::sleep(Duration::from_secs(1)).await;
                s.write_all(&[*byte]).await.unwrap();
            }
            let mut answer = vec![0u8; 4096];
            let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut answer))
                .await
                .expect("no answer to a slow upload")
                .unwrap();
            String::from_utf8_lossy(&answer[..n]).into_owned()
        }));
    }
    scene.under_attack("slow uploads", 32).await;
    let digest = format!("{} {:x}", BODY.len(), Sha256::digest(BODY));
    for upload in uploads {
        let answer = upload.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with(&digest), "the body arrived altered: {answer}");
    }
}

/// 100 clients each ask for 64 MiB and never read a byte of it: fulcrum
/// holds back (no 6 GiB buffered) and good clients keep their latency.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_read_hold_no_memory() {
    let scene = Scene::new("").await;
    let (b, lb) = (&scene.b, &scene.lb);
    let mut stuck = Vec::new();
    for _ in 0..100 {
        let mut s = TcpStream::connect(lb.addr).await.unwrap();
        s.write_all(b"GET /big/67108864 HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        stuck.push(s);
    }
    let started = || b.seen().iter().filter(|r| r.uri.starts_with("/big/")).count();
    eventually(Duration::from_secs(10), || (started() == 100).then_some(())).await;
    scene.settled().await;
    scene.under_attack("never-reading clients", 64).await;
    drop(stuck);
}

/// 5,000 connections that send half a head and stop (every other one then
/// half-closes): good clients keep their latency, memory stays bounded, and
/// `header_read_timeout` (or the half-close) ends every one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_half_open_connections() {
    let scene = Scene::new("header_read_timeout: 4s").await;
    let (b, lb) = (&scene.b, &scene.lb);
    let fds_before = lb.fds();
    let mut open = Vec::new();
    for i in 0..5000 {
        let mut s = TcpStream::connect(lb.addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        if i % 2 == 1 {
            s.shutdown().await.unwrap(); // FIN: half-closed, the head unfinished
        }
        open.push(s);
    }
    // every connection is still fulcrum's or already ended; memory is bounded
    // per connection, not by what the clients might send
    scene.under_attack("5,000 half-open", 5000 * 40 / 1024).await;
    // each one ends: fulcrum closes it (EOF), after a 408/400 at most
    let mut ended = 0;
    for s in &mut open {
        let mut rest = Vec::new();
        if tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut rest))
            .await
            .is_ok()
        {
            ended += 1;
        }
    }
    assert_eq!(ended, 5000, "half-open connections left open by fulcrum");
    drop(open);
    eventually(Duration::from_secs(10), || (lb.fds() <= fds_before + 2).then_some(())).await;
    assert_eq!(
        reached_root(b),
        super::WARMUP + 2 * super::PROBES,
        "a half head reached the upstream"
    );
}

fn reached_root(b: &Backend) -> usize {
    b.seen().iter().filter(|r| r.uri == "/").count()
}
