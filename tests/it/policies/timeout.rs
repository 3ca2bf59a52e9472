//! A route `timeout` bounds the whole request, retries included.

use crate::common::*;
use std::time::Duration;

#[tokio::test]
async fn route_timeout_covers_retries_and_answers_504() {
    let (a, b) = (
        spawn_slow_backend("a", Duration::from_millis(1500)).await,
        spawn_slow_backend("b", Duration::from_millis(1500)).await,
    );
    let yaml = r#"
listeners: [{ address: "{LISTEN}" }]
admin: { address: "127.0.0.1:0" }
upstreams:
  slow:
    balance: round_robin
    servers: [{ address: "{b0}" }, { address: "{b1}" }]
    timeouts: { response: 1s }
    retries: { attempts: 1 }
routes:
  - name: slow
    upstream: slow
    timeout: 1500ms
"#;
    let lb = spawn_lb_file(yaml, &[&a, &b]).await;
    let cl = client();
    let r = send(&cl, lb.addr, "GET", "/x", &[]).await;
    assert_eq!(r.status, 504);
    assert!(
        r.body.contains("route slow") && r.body.contains("timeout"),
        "{}",
        r.body
    );
    // the first attempt timed out after 1 s and the retry was under way when the route's deadline came
    let peak = |b: &Backend| b.max_active.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!((peak(&a), peak(&b)), (1, 1), "one attempt on each server");
    let text = reqwest_text(lb.admin.unwrap()).await;
    let n: f64 = text
        .lines()
        .filter(|l| {
            l.starts_with("fulcrum_requests_total{") && l.contains("route=\"slow\"") && l.contains("code=\"504\"")
        })
        .filter(|l| l.contains("upstream=\"slow\""))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum();
    assert_eq!(n, 1.0, "counted like any 504, with its upstream:\n{text}");
}

/// The admin `/metrics` text.
pub async fn reqwest_text(admin: std::net::SocketAddr) -> String {
    send(&client(), admin, "GET", "/metrics", &[]).await.body
}
