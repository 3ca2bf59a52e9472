//! DNS discovery against a DNS server the test runs on loopback: names become
//! one server per record, follow the answers as they change, keep the last
//! set through failures and silence, and empty out only on the third empty
//! answer in a row; two fulcrum processes agree on every key.

use crate::common;
use common::dns::{spawn_dns, Zone};
use common::*;
use std::net::SocketAddr;
use std::time::Duration;

/// Backends on 127.0.0.2.., all on one port (a name's records share the
/// configured port).
async fn backends_on_one_port(n: usize) -> (u16, Vec<Backend>) {
    for _ in 0..20 {
        let first = backend::spawn_backend_on("s2", "127.0.0.2:0".parse().unwrap(), Duration::ZERO).await;
        let port = first.addr.port();
        let mut all = vec![first];
        for i in 3..(2 + n) {
            let addr: SocketAddr = format!("127.0.0.{i}:{port}").parse().unwrap();
            if std::net::TcpListener::bind(addr).is_err() {
                break;
            }
            all.push(backend::spawn_backend_on(&format!("s{i}"), addr, Duration::ZERO).await);
        }
        if all.len() == n {
            return (port, all);
        }
    }
    panic!("no port free on every loopback address");
}

fn yaml(pool: &str, port: u16, dns: SocketAddr) -> String {
    format!(
        "listeners: [{{ address: \"{{LISTEN}}\" }}]\nadmin: {{ address: \"127.0.0.1:0\" }}\nupstreams:\n  p:\n    {pool}\n    servers: [{{ address: \"svc.test:{port}\", weight: 2 }}]\n    discovery: {{ dns_refresh: 150ms, resolver: \"{dns}\" }}\nroutes: [{{ upstream: p }}]\n"
    )
}

async fn servers_of(lb: &LbFile) -> Vec<String> {
    let status = send(&client(), lb.admin.unwrap(), "GET", "/status", &[]).await.body;
    let v: serde_json::Value = serde_json::from_str(&status).unwrap();
    v["upstreams"]["p"]["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["address"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_follow_the_answers_and_survive_failures() {
    let dns = spawn_dns().await;
    let (port, bs) = backends_on_one_port(3).await;
    dns.records("svc.test", &["127.0.0.2"]);
    let lb = spawn_lb_file(&yaml("balance: round_robin", port, dns.addr), &[]).await;
    let c = client();
    assert_eq!(servers_of(&lb).await, [format!("127.0.0.2:{port}")]);
    assert_eq!(send(&c, lb.addr, "GET", "/", &[]).await.body, "s2");
    // a record appears: a new server
    dns.records("svc.test", &["127.0.0.3", "127.0.0.2"]);
    let want = vec![format!("127.0.0.2:{port}"), format!("127.0.0.3:{port}")];
    eventually_async(Duration::from_secs(10), || async {
        (servers_of(&lb).await == want).then_some(())
    })
    .await;
    for _ in 0..4 {
        send(&c, lb.addr, "GET", "/", &[]).await;
    }
    assert!(bs[1].traffic() >= 1, "the new server got no traffic");
    // a record goes away: its server is removed, the other keeps serving
    dns.records("svc.test", &["127.0.0.3"]);
    let only = vec![format!("127.0.0.3:{port}")];
    eventually_async(Duration::from_secs(10), || async {
        (servers_of(&lb).await == only).then_some(())
    })
    .await;
    let seen = bs[0].traffic();
    for _ in 0..4 {
        assert_eq!(send(&c, lb.addr, "GET", "/", &[]).await.body, "s3");
    }
    assert_eq!(bs[0].traffic(), seen, "a removed server still got traffic");
    dns.records("svc.test", &["127.0.0.2", "127.0.0.3"]);
    eventually_async(Duration::from_secs(10), || async {
        (servers_of(&lb).await == want).then_some(())
    })
    .await;
    // SERVFAIL and silence never change the set
    for zone in [Zone::ServFail, Zone::Silent] {
        let before = dns.asked("svc.test");
        dns.set("svc.test", zone);
        eventually(Duration::from_secs(20), || {
            (dns.asked("svc.test") >= before + 2).then_some(())
        })
        .await;
        assert_eq!(servers_of(&lb).await, want);
        assert_eq!(send(&c, lb.addr, "GET", "/", &[]).await.status, 200);
    }
    // two empty answers in a row change nothing: the set stays and every
    // request is served while they come and go
    dns.records("svc.test", &["127.0.0.2", "127.0.0.3"]);
    let ips = vec!["127.0.0.2".parse().unwrap(), "127.0.0.3".parse().unwrap()];
    let before = dns.asked("svc.test");
    dns.set("svc.test", Zone::EmptyFor(2, ips));
    while dns.asked("svc.test") < before + 4 {
        assert_eq!(send(&c, lb.addr, "GET", "/", &[]).await.status, 200);
        assert_eq!(servers_of(&lb).await, want);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // the third empty answer in a row removes the name's servers
    let before = dns.asked("svc.test");
    dns.set("svc.test", Zone::Empty);
    eventually_async(Duration::from_secs(10), || async {
        servers_of(&lb).await.is_empty().then_some(())
    })
    .await;
    assert!(
        dns.asked("svc.test") >= before + 3,
        "removed before the third empty answer"
    );
    assert_eq!(send(&c, lb.addr, "GET", "/", &[]).await.status, 503);
    let m = send(&c, lb.admin.unwrap(), "GET", "/metrics", &[]).await.body;
    let failed = prom::sample(
        &m,
        "fulcrum_dns_resolutions_total",
        &[("upstream", "p"), ("result", "failure")],
    );
    assert!(failed.is_some_and(|n| n >= 5.0), "{m}");
    drop(bs);
}

/// The server `/lookup` names for each key, through one instance's admin.
async fn placements(admin: SocketAddr, route: &str, keys: usize) -> Vec<String> {
    let c = client();
    let mut out = vec![String::new(); keys];
    for chunk in (0..keys).collect::<Vec<_>>().chunks(200) {
        let mut set = tokio::task::JoinSet::new();
        for &k in chunk {
            let c = c.clone();
            let path = format!("/lookup?path={route}&header=x-user:user-{k}");
            set.spawn(async move {
                let body = send(&c, admin, "GET", &path, &[]).await.body;
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                (k, v["server"].as_str().unwrap_or("none").to_string())
            });
        }
        while let Some(done) = set.join_next().await {
            let (k, server) = done.unwrap();
            out[k] = server;
        }
    }
    out
}

/// The admin address a process logged (it may log it just after its listener).
async fn admin_of(p: &process::Proc) -> SocketAddr {
    eventually(Duration::from_secs(20), || {
        let log = p.stderr.lock().unwrap().clone();
        let line = log.lines().find_map(|l| l.split("admin listening on ").nth(1))?;
        line.trim().parse().ok()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_place_every_key_alike_before_and_after_a_change() {
    let dns = spawn_dns().await;
    dns.records("svc.test", &["127.0.0.4", "127.0.0.2", "127.0.0.3"]);
    let pool = |algo: &str| {
        format!(
            "    balance: {algo}\n    hash: {{ key: header:x-user }}\n    servers: [{{ address: \"svc.test:8080\" }}]\n    discovery: {{ dns_refresh: 150ms, resolver: \"{}\" }}\n",
            dns.addr
        )
    };
    let yaml = format!(
        "listeners: [{{ address: \"127.0.0.1:0\" }}]\nadmin: {{ address: \"127.0.0.1:0\" }}\nupstreams:\n  ring:\n{}  mag:\n{}routes:\n  - {{ match: {{ path_prefix: /r }}, upstream: ring }}\n  - {{ match: {{ path_prefix: /m }}, upstream: mag }}\n",
        pool("consistent_hash"),
        pool("maglev")
    );
    let (a, b) = (process::spawn_proc(&yaml), process::spawn_proc(&yaml));
    let (a, b) = (admin_of(&a).await, admin_of(&b).await);
    for round in 0..2 {
        for route in ["/r", "/m"] {
            let (pa, pb) = (placements(a, route, 10_000).await, placements(b, route, 10_000).await);
            assert!(pa.iter().all(|s| s.starts_with("127.0.0.")), "{route}: unplaced keys");
            let differ = pa.iter().zip(&pb).filter(|(x, y)| x != y).count();
            assert_eq!(
                differ, 0,
                "round {round} {route}: {differ} of 10000 keys placed differently"
            );
            let used: std::collections::HashSet<&String> = pa.iter().collect();
            assert_eq!(used.len(), 3 + round, "{route}: every server owns keys");
        }
        // the answer changes under both: a fourth server, records in another order
        dns.records("svc.test", &["127.0.0.5", "127.0.0.3", "127.0.0.2", "127.0.0.4"]);
        for admin in [a, b] {
            eventually_async(Duration::from_secs(10), || async {
                let s = send(&client(), admin, "GET", "/status", &[]).await.body;
                let v: serde_json::Value = serde_json::from_str(&s).unwrap();
                (v["upstreams"]["mag"]["servers"].as_array()?.len() == 4
                    && v["upstreams"]["ring"]["servers"].as_array()?.len() == 4)
                    .then_some(())
            })
            .await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_that_never_resolves_is_503_and_a_check_warning() {
    let dns = spawn_dns().await;
    let yaml = format!(
        "listeners: [{{ address: \"{{LISTEN}}\" }}]\nadmin: {{ address: \"127.0.0.1:0\" }}\nupstreams:\n  p:\n    balance: maglev\n    hash: {{ key: path }}\n    servers: [{{ address: \"nothing.test:80\" }}]\n    discovery: {{ dns_refresh: 150ms, resolver: \"{}\" }}\nroutes: [{{ upstream: p }}]\n",
        dns.addr
    );
    let lb = spawn_lb_file(&yaml, &[]).await;
    let r = send(&client(), lb.addr, "GET", "/", &[]).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(servers_of(&lb).await.is_empty());
    let out = process::bin().args(["check", "-c"]).arg(&lb.path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "an unresolvable name failed the check: {stderr}");
    assert!(
        stderr.contains("warning: upstreams.p: nothing.test:80 does not resolve"),
        "{stderr}"
    );
    // once the platform creates it, it serves
    dns.records("nothing.test", &["127.0.0.2"]);
    eventually_async(Duration::from_secs(10), || async {
        (servers_of(&lb).await.len() == 1).then_some(())
    })
    .await;
}
