//! `rate_limits` and `routes[].rate_limit`: GCRA per key, 429 with
//! `Retry-After`, no upstream contact, the keyless sharing one bucket, and
//! buckets kept across reloads while the policy is unchanged.

use super::common::*;
use super::metric;

fn yaml(rate: &str) -> String {
    format!(
        "listeners: [{{ address: \"{{LISTEN}}\" }}]\nadmin: {{ address: \"127.0.0.1:0\" }}\n\
         rate_limits: {{ per_user: {{ key: header:x-user, rate: {rate}, burst: 3 }} }}\n\
         upstreams: {{ p: {{ servers: [{{ address: \"{{b0}}\" }}] }} }}\n\
         routes: [{{ name: login, upstream: p, rate_limit: per_user }}]\n"
    )
}

async fn statuses(lb: &LbFile, user: Option<&str>, n: usize) -> Vec<u16> {
    let c = client();
    let mut out = Vec::new();
    for _ in 0..n {
        let headers: Vec<(&str, &str)> = user.map(|u| ("x-user", u)).into_iter().collect();
        out.push(send(&c, lb.addr, "GET", "/", &headers).await.status.as_u16());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_gets_its_burst_then_429_with_retry_after() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb_file(&yaml("1/m"), &[&b]).await;
    assert_eq!(statuses(&lb, Some("ann"), 5).await, [200, 200, 200, 429, 429]);
    let r = send(&client(), lb.addr, "GET", "/", &[("x-user", "ann")]).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body, "429 Too Many Requests: rate limited\n");
    let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "about a minute per request: {wait}");
    assert_eq!(
        statuses(&lb, Some("bob"), 3).await,
        [200, 200, 200],
        "another key, another bucket"
    );
    assert_eq!(
        statuses(&lb, None, 4).await,
        [200, 200, 200, 429],
        "the keyless share one bucket"
    );
    assert_eq!(b.traffic(), 9, "refused requests never reach the upstream");
    let labels = [("route", "login"), ("policy", "per_user")];
    assert_eq!(
        metric(lb.admin.unwrap(), "fulcrum_rate_limited_total", &labels).await,
        4.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buckets_survive_a_reload_that_keeps_the_policy_and_reset_when_it_changes() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb_file(&yaml("1/m"), &[&b]).await;
    assert_eq!(statuses(&lb, Some("ann"), 4).await, [200, 200, 200, 429]);
    // same policy, another route added: the bucket is the same
    let same = fill(&yaml("1/m"), &[&b]).replace("routes: [", "routes: [{ match: { path: /x }, upstream: p }, ");
    std::fs::write(&lb.path, same).unwrap();
    lb.handle.reload().await.unwrap();
    assert_eq!(
        statuses(&lb, Some("ann"), 1).await,
        [429],
        "still spent after the reload"
    );
    std::fs::write(&lb.path, fill(&yaml("2/m"), &[&b])).unwrap();
    lb.handle.reload().await.unwrap();
    assert_eq!(
        statuses(&lb, Some("ann"), 1).await,
        [200],
        "a changed policy starts afresh"
    );
}
