//! Every algorithm over real sockets: splits, load awareness, bounded loads.

use crate::common;
use common::*;
use std::collections::HashMap;
use std::time::Duration;

fn pool(balance: &str, extra: &str, servers: &str) -> String {
    format!(
        "listeners: [{{ address: \"{{LISTEN}}\" }}]\nupstreams:\n  pool:\n    balance: {balance}\n{extra}    servers: {servers}\nroutes: [{{ upstream: pool }}]\n"
    )
}

async fn count(lb: &Lb, n: usize, headers: &[(&str, &str)]) -> HashMap<String, usize> {
    let c = client();
    let mut counts = HashMap::new();
    for _ in 0..n {
        *counts
            .entry(send(&c, lb.addr, "GET", "/", headers).await.body)
            .or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn round_robin_takes_turns_ignoring_weights() {
    let bs = [
        spawn_backend("a").await,
        spawn_backend("b").await,
        spawn_backend("c").await,
    ];
    let servers = r#"[{ address: "{b0}", weight: 5 }, { address: "{b1}" }, { address: "{b2}" }]"#;
    let lb = spawn_lb(&pool("round_robin", "", servers), &[&bs[0], &bs[1], &bs[2]]).await;
    let c = client();
    let mut seq = String::new();
    for _ in 0..30 {
        seq.push_str(&send(&c, lb.addr, "GET", "/", &[]).await.body);
    }
    assert_eq!(seq, "abc".repeat(10));
}

#[tokio::test]
async fn random_respects_weights_within_tolerance() {
    let bs = [spawn_backend("a").await, spawn_backend("b").await];
    let servers = r#"[{ address: "{b0}", weight: 1 }, { address: "{b1}", weight: 3 }]"#;
    let lb = spawn_lb(&pool("random", "", servers), &[&bs[0], &bs[1]]).await;
    let counts = count(&lb, 800, &[]).await;
    // expected 600 of 800 to b; binomial sd ~12
    let b = counts.get("b").copied().unwrap_or(0);
    assert!((540..=660).contains(&b), "{counts:?}");
}

/// 10 concurrent clients x 10 requests against a fast and a slow server.
async fn fast_share(balance: &str) -> f64 {
    let fast = spawn_backend("fast").await;
    let slow = spawn_slow_backend("slow", Duration::from_millis(150)).await;
    let servers = r#"[{ address: "{b0}" }, { address: "{b1}" }]"#;
    let lb = spawn_lb(&pool(balance, "", servers), &[&fast, &slow]).await;
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let addr = lb.addr;
        tasks.push(tokio::spawn(async move {
            let c = client();
            for _ in 0..10 {
                assert_eq!(send(&c, addr, "GET", "/", &[]).await.status, 200);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (f, s) = (fast.seen().len(), slow.seen().len());
    assert_eq!(f + s, 100);
    f as f64 / 100.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_connections_steers_away_from_a_slow_server() {
    let share = fast_share("least_connections").await;
    assert!(share >= 0.8, "fast server got only {share}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p2c_ewma_steers_away_from_a_slow_server() {
    let share = fast_share("p2c_ewma").await;
    assert!(share >= 0.8, "fast server got only {share}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_load_caps_a_hot_key_while_other_keys_stay_home() {
    let mut bs = Vec::new();
    for n in ["s0", "s1", "s2", "s3"] {
        bs.push(spawn_slow_backend(n, Duration::from_millis(600)).await);
    }
    let refs: Vec<&Backend> = bs.iter().collect();
    let servers = r#"[{ address: "{b0}" }, { address: "{b1}" }, { address: "{b2}" }, { address: "{b3}" }]"#;
    let bounded = spawn_lb(
        &pool(
            "consistent_hash",
            "    hash: { key: header:x-user, bounded_load: 1.25 }\n",
            servers,
        ),
        &refs,
    )
    .await;
    // every key's home: the same pool without a bound, idle
    let plain = fill(
        &pool("consistent_hash", "    hash: { key: header:x-user }\n", servers),
        &refs,
    );
    let plain = fulcrum::upstream::Upstream::new(&fulcrum::config::parse(&plain).unwrap().upstreams[0], None);
    let home = |key: &str| bs[pick_for_user(&plain, key)].name.clone();
    let home_of_hot = home("hot");
    let cold_homes: HashMap<String, String> = (0..20)
        .map(|k| format!("cold-{k}"))
        .map(|k| (k.clone(), home(&k)))
        .collect();
    let before = 0;

    let mut hot = Vec::new();
    for _ in 0..16 {
        let addr = bounded.addr;
        hot.push(tokio::spawn(async move {
            send(&client(), addr, "GET", "/", &[("x-user", "hot")]).await.body
        }));
    }
    eventually(Duration::from_secs(10), || {
        (bs.iter().map(|b| b.seen().len()).sum::<usize>() == before + 16).then_some(())
    })
    .await;
    // read the home's peak before the cold keys arrive: with 36 in flight
    // their cap is ceil(1.25 x 37 / 4) = 12, so they may legitimately add more
    let home = bs.iter().find(|b| b.name == home_of_hot).unwrap();
    let hot_peak = home.max_active.load(std::sync::atomic::Ordering::SeqCst);
    let mut cold = Vec::new();
    for (key, home) in cold_homes {
        let addr = bounded.addr;
        cold.push(tokio::spawn(async move {
            send(&client(), addr, "GET", "/", &[("x-user", &key)]).await.body == home
        }));
    }
    let mut hot_to = HashMap::<String, usize>::new();
    for t in hot {
        *hot_to.entry(t.await.unwrap()).or_default() += 1;
    }
    let mut stayed = 0;
    for t in cold {
        stayed += t.await.unwrap() as usize;
    }
    // the 16th hot request saw 15 in flight: cap = ceil(1.25 x 16 / 4) = 5
    assert!(hot_to[&home_of_hot] <= 5, "home took {hot_to:?}");
    assert!(hot_peak <= 5 + 1, "cap exceeded at the home: {hot_peak} at once");
    assert!(hot_to.len() >= 3, "overflow spreads along the ring: {hot_to:?}");
    assert!(stayed >= 12, "only {stayed} of 20 cold keys stayed home");
}
