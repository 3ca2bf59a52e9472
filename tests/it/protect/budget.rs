//! `retries.budget`: under a failing pool, retries stay a bounded share of
//! the requests in flight instead of doubling the load.

use super::common::*;
use super::metric;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

/// A server that reads each request, waits `ms`, then hangs up without an answer.
async fn failing_slowly(ms: u64) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16384];
                if matches!(s.read(&mut buf).await, Ok(n) if n > 0) {
                    seen.fetch_add(1, SeqCst);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
            });
        }
    });
    (addr, requests)
}

/// Sends 40 clients x 5 GETs through a pool of two slowly failing servers;
/// returns the attempts the servers saw and the admin address.
async fn attempts(retries: &str) -> (usize, std::net::SocketAddr, LbFile) {
    let ((a, seen_a), (b, seen_b)) = (failing_slowly(100).await, failing_slowly(100).await);
    let yaml = format!(
        "listeners: [{{ address: \"127.0.0.1:0\" }}]\nadmin: {{ address: \"127.0.0.1:0\" }}\n\
         upstreams: {{ p: {{ balance: round_robin, servers: [{{ address: \"{a}\" }}, {{ address: \"{b}\" }}], \
         retries: {retries} }} }}\nroutes: [{{ upstream: p }}]\n"
    );
    let lb = spawn_lb_file(&yaml, &[]).await;
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let addr = lb.addr;
            tokio::spawn(async move {
                let c = client();
                for _ in 0..5 {
                    assert_eq!(send(&c, addr, "GET", "/", &[]).await.status, 502);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    (seen_a.load(SeqCst) + seen_b.load(SeqCst), lb.admin.unwrap(), lb)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_keeps_retries_a_share_of_the_load_where_without_one_they_double_it() {
    let (without, _, _lb) = attempts("{ attempts: 1 }").await;
    // (a retry whose connect loses to a loaded machine's backlog is not seen)
    assert!(
        without >= 390,
        "without a budget a failed GET is tried twice: {without} attempts for 200"
    );
    let (with, admin, _lb) = attempts("{ attempts: 1, budget: 20% }").await;
    // 40 requests in flight allow 8 retries in flight: about a fifth retried
    assert!(
        (200..=280).contains(&with),
        "with a 20% budget the 200 requests made {with} attempts"
    );
    let denied = metric(admin, "fulcrum_retries_denied_total", &[("upstream", "p")]).await;
    let retried = metric(admin, "fulcrum_retries_total", &[("upstream", "p")]).await;
    assert!(denied >= 100.0, "most failures had their retry refused: {denied}");
    assert_eq!(
        retried as usize,
        with - 200,
        "each attempt past the first is a counted retry"
    );
}
