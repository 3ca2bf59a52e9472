//! Balancing over real requests: WRR exact split and hash stickiness per key source.

use crate::common;
use common::*;
use std::collections::HashMap;

#[tokio::test]
async fn weighted_round_robin_splits_exactly_and_smoothly() {
    let bs = [
        spawn_backend("a").await,
        spawn_backend("b").await,
        spawn_backend("c").await,
    ];
    let yaml = r#"
listeners: [{ address: "{LISTEN}" }]
upstreams:
  pool:
    balance: weighted_round_robin
    servers: [{ address: "{b0}", weight: 5 }, { address: "{b1}" }, { address: "{b2}" }]
routes: [{ match: { path_prefix: / }, upstream: pool }]
"#;
    let lb = spawn_lb(yaml, &[&bs[0], &bs[1], &bs[2]]).await;
    let c = client();
    let mut seq = String::new();
    for _ in 0..70 {
        seq.push_str(&send(&c, lb.addr, "GET", "/", &[]).await.body);
    }
    assert_eq!(&seq[..7], "aabacaa");
    assert_eq!(seq, "aabacaa".repeat(10));
    assert_eq!(
        (bs[0].seen().len(), bs[1].seen().len(), bs[2].seen().len()),
        (50, 10, 10)
    );
}

const HASH: &str = r#"
listeners: [{ address: "{LISTEN}" }]
upstreams:
  pool:
    balance: BALANCE
    hash: { key: KEY, fallback: FALLBACK }
    servers: [{ address: "{b0}" }, { address: "{b1}" }, { address: "{b2}" }, { address: "{b3}" }]
routes: [{ match: { path_prefix: / }, upstream: pool }]
"#;

async fn hash_lb(key: &str, fallback: &str, bs: &[Backend]) -> Lb {
    algo_lb("consistent_hash", key, fallback, bs).await
}

async fn algo_lb(balance: &str, key: &str, fallback: &str, bs: &[Backend]) -> Lb {
    let yaml = HASH
        .replace("BALANCE", balance)
        .replace("KEY", key)
        .replace("FALLBACK", fallback);
    spawn_lb(&yaml, &bs.iter().collect::<Vec<_>>()).await
}

async fn backends() -> Vec<Backend> {
    let mut v = Vec::new();
    for n in ["s0", "s1", "s2", "s3"] {
        v.push(spawn_backend(n).await);
    }
    v
}

/// Sends each key 5 times via `make`, asserts one backend per key, returns key -> backend.
async fn sticky(lb: &Lb, make: impl Fn(&str) -> (String, Vec<(String, String)>)) -> HashMap<String, String> {
    let c = client();
    let mut seen = HashMap::new();
    for k in 0..40 {
        let key = format!("user-{k}");
        let (path, headers) = make(&key);
        let hs: Vec<(&str, &str)> = headers.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let first = send(&c, lb.addr, "GET", &path, &hs).await.body;
        for _ in 0..4 {
            assert_eq!(
                send(&c, lb.addr, "GET", &path, &hs).await.body,
                first,
                "key {key} moved"
            );
        }
        seen.insert(key, first);
    }
    let distinct: std::collections::HashSet<&String> = seen.values().collect();
    assert!(distinct.len() >= 3, "40 keys should spread over the pool: {distinct:?}");
    seen
}

#[tokio::test]
async fn each_key_source_is_sticky_end_to_end() {
    let bs = backends().await;
    let lb = hash_lb("header:x-user", "reject", &bs).await;
    let by_header = sticky(&lb, |k| ("/".into(), vec![("x-user".into(), k.into())])).await;
    let lb = hash_lb("cookie:sid", "reject", &bs).await;
    let by_cookie = sticky(&lb, |k| ("/".into(), vec![("cookie".into(), format!("a=b; sid={k}"))])).await;
    assert_eq!(
        by_header, by_cookie,
        "the same key value maps to the same server whatever its source"
    );
    let lb = hash_lb("query:u", "reject", &bs).await;
    sticky(&lb, |k| (format!("/x?u={k}&z=1"), vec![])).await;
    let lb = hash_lb("path", "reject", &bs).await;
    sticky(&lb, |k| (format!("/{k}"), vec![])).await;
    let lb = hash_lb("host", "reject", &bs).await;
    sticky(&lb, |k| ("/".into(), vec![("host".into(), format!("{k}.example"))])).await;
}

#[tokio::test]
async fn key_list_tries_sources_in_order_and_fallbacks_apply() {
    let bs = backends().await;
    let lb = hash_lb("[header:x-tenant, cookie:sid]", "reject", &bs).await;
    let c = client();
    let by_cookie = send(&c, lb.addr, "GET", "/", &[("cookie", "sid=user-1")]).await.body;
    let by_header = send(
        &c,
        lb.addr,
        "GET",
        "/",
        &[("x-tenant", "user-1"), ("cookie", "sid=other")],
    )
    .await
    .body;
    assert_eq!(
        by_cookie, by_header,
        "the header is tried first and carries the same key"
    );
    let rejected = send(&c, lb.addr, "GET", "/", &[]).await;
    assert_eq!(rejected.status, 400);
    assert!(
        rejected.body.contains("no hash key (header:x-tenant, cookie:sid)"),
        "{}",
        rejected.body
    );
    let total_before: usize = bs.iter().map(|b| b.seen().len()).sum();
    assert_eq!(total_before, 2, "the rejected request reached no backend");

    let lb = hash_lb("header:x-user", "round_robin", &bs).await;
    let mut names = Vec::new();
    for _ in 0..8 {
        names.push(send(&c, lb.addr, "GET", "/", &[]).await.body);
    }
    assert_eq!(names[..4], ["s0", "s1", "s2", "s3"]);
    assert_eq!(names[4..], names[..4]);

    let lb = hash_lb("header:x-user", "random", &bs).await;
    for _ in 0..20 {
        assert_eq!(send(&c, lb.addr, "GET", "/", &[]).await.status, 200);
    }
}

#[tokio::test]
async fn client_ip_key_keeps_one_client_on_one_server() {
    let bs = backends().await;
    let lb = hash_lb("client_ip", "reject", &bs).await;
    let c = client();
    let first = send(&c, lb.addr, "GET", "/", &[]).await.body;
    for _ in 0..10 {
        assert_eq!(
            send(&c, lb.addr, "GET", "/", &[("x-user", "ignored")]).await.body,
            first
        );
    }
}

#[tokio::test]
async fn maglev_is_sticky_for_every_key_source() {
    let bs = backends().await;
    let lb = algo_lb("maglev", "header:x-user", "reject", &bs).await;
    let by_header = sticky(&lb, |k| ("/".into(), vec![("x-user".into(), k.into())])).await;
    let lb = algo_lb("maglev", "query:u", "reject", &bs).await;
    let by_query = sticky(&lb, |k| (format!("/x?u={k}"), vec![])).await;
    assert_eq!(by_header, by_query);
    let lb = algo_lb("maglev", "path", "reject", &bs).await;
    sticky(&lb, |k| (format!("/{k}"), vec![])).await;
}
