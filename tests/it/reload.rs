//! Reload without losing a request: file watch patterns, bad files, listeners,
//! state carried over, reloads under load, streams across a reload.

use crate::common;
use common::backend::pattern_chunk;
use common::*;
use http::Request;
use http_body_util::BodyExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(10);

fn to(backend: &str) -> String {
    format!(
        "listeners: [{{ address: \"127.0.0.1:0\" }}]\nadmin: {{ address: \"127.0.0.1:0\" }}\nupstreams:\n  p: {{ servers: [{{ address: \"{backend}\" }}] }}\nroutes: [{{ upstream: p }}]\n"
    )
}

async fn body_of(addr: std::net::SocketAddr) -> String {
    send(&client(), addr, "GET", "/", &[]).await.body
}

/// Waits until requests reach `want`.
async fn until_served_by(addr: std::net::SocketAddr, want: &str) {
    let deadline = std::time::Instant::now() + DEADLINE;
    while body_of(addr).await != want {
        assert!(std::time::Instant::now() < deadline, "never switched to {want}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_watch_catches_edit_rename_and_symlink_swap() {
    let bs = [
        spawn_backend("a").await,
        spawn_backend("b").await,
        spawn_backend("c").await,
        spawn_backend("d").await,
    ];
    let dir = common::process::TempDir::new();
    // the Kubernetes ConfigMap layout: fulcrum.yaml -> ..data/fulcrum.yaml, ..data -> ..v1
    let v1 = dir.0.join("..v1");
    std::fs::create_dir(&v1).unwrap();
    std::fs::write(v1.join("fulcrum.yaml"), to(&bs[0].addr.to_string())).unwrap();
    std::os::unix::fs::symlink("..v1", dir.0.join("..data")).unwrap();
    let path = dir.0.join("fulcrum.yaml");
    std::os::unix::fs::symlink("..data/fulcrum.yaml", &path).unwrap();
    let config = fulcrum::config::load(&path).unwrap();
    let server = fulcrum::server::Server::bind(&config, Some(path.clone()))
        .await
        .unwrap();
    let addr = server.local_addrs()[0];
    let handle = server.handle();
    tokio::spawn(server.serve(std::future::pending()));
    assert_eq!(body_of(addr).await, "a");

    // symlink swap: new directory, atomic rename of the ..data link
    let v2 = dir.0.join("..v2");
    std::fs::create_dir(&v2).unwrap();
    std::fs::write(v2.join("fulcrum.yaml"), to(&bs[1].addr.to_string())).unwrap();
    std::os::unix::fs::symlink("..v2", dir.0.join("..data_tmp")).unwrap();
    std::fs::rename(dir.0.join("..data_tmp"), dir.0.join("..data")).unwrap();
    until_served_by(addr, "b").await;

    // atomic rename over the file (replacing the symlink itself)
    let tmp = dir.0.join("new.yaml");
    std::fs::write(&tmp, to(&bs[2].addr.to_string())).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    until_served_by(addr, "c").await;

    // in-place edit
    std::fs::write(&path, to(&bs[3].addr.to_string())).unwrap();
    until_served_by(addr, "d").await;
    assert_eq!(handle.version(), 4, "each change made exactly one reload");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_files_change_nothing_and_the_next_good_one_is_taken() {
    let bs = [spawn_backend("a").await, spawn_backend("b").await];
    let lb = spawn_lb_file(&to("{b0}"), &[&bs[0]]).await;
    let c = client();
    let good = to(&bs[0].addr.to_string());
    let bad: Vec<(&str, String)> = vec![
        ("invalid YAML", "listeners: [\n".into()),
        ("schema error", good.replace("servers", "servrs")),
        ("dangling upstream", good.replace("upstream: p", "upstream: q")),
        ("empty file", String::new()),
        ("truncated file", good[..good.len() / 2].to_string()),
    ];
    for (i, (what, text)) in bad.iter().enumerate() {
        std::fs::write(&lb.path, text).unwrap();
        let err = lb.handle.reload().await.expect_err(what);
        assert!(!err.to_string().is_empty());
        assert_eq!(body_of(lb.addr).await, "a", "{what}: the old config keeps serving");
        let m = send(&c, lb.admin.unwrap(), "GET", "/metrics", &[]).await.body;
        assert!(
            m.contains(&format!("fulcrum_config_reloads_total{{result=\"failure\"}} {}", i + 1)),
            "{what}: {m}"
        );
    }
    std::fs::remove_file(&lb.path).unwrap();
    assert!(lb
        .handle
        .reload()
        .await
        .unwrap_err()
        .to_string()
        .contains("cannot read"));
    assert_eq!(body_of(lb.addr).await, "a");
    std::fs::write(&lb.path, to(&bs[1].addr.to_string())).unwrap();
    until_served_by(lb.addr, "b").await;
    assert_eq!(lb.handle.version(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listeners_are_added_and_removed_and_staying_ones_untouched() {
    let b = spawn_backend("a").await;
    // one worker, one upstream pool: the exact connection count below
    let one = format!("workers: 1\n{}", to("{b0}"));
    let lb = spawn_lb_file(&one, &[&b]).await;
    let yaml = fill(&one, &[&b]);
    // keep-alive connection on the staying listener
    let c = client();
    assert_eq!(send(&c, lb.addr, "GET", "/", &[]).await.body, "a");
    let two = yaml.replace(
        "listeners: [{ address: \"127.0.0.1:0\" }]",
        "listeners: [{ address: \"127.0.0.1:0\" }, { address: \"127.0.0.2:0\" }]",
    );
    std::fs::write(&lb.path, &two).unwrap();
    lb.handle.reload().await.unwrap();
    let addrs = lb.handle.local_addrs().await;
    assert_eq!(addrs.len(), 2);
    assert_eq!(addrs[0], lb.addr, "the staying listener was not rebound");
    assert_eq!(body_of(addrs[1]).await, "a");
    std::fs::write(&lb.path, &yaml).unwrap();
    lb.handle.reload().await.unwrap();
    assert_eq!(lb.handle.local_addrs().await, vec![lb.addr]);
    eventually(DEADLINE, || {
        std::net::TcpStream::connect(addrs[1]).is_err().then_some(())
    })
    .await;
    assert_eq!(
        send(&c, lb.addr, "GET", "/", &[]).await.body,
        "a",
        "the old keep-alive connection still works"
    );
    assert_eq!(b.accepted(), 1, "the upstream pool survived both reloads");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_state_carries_over_by_address() {
    let bs = [spawn_backend("a").await, spawn_backend("b").await];
    let yaml = "listeners: [{ address: \"127.0.0.1:0\" }]\nadmin: { address: \"127.0.0.1:0\" }\nupstreams:\n  p: { servers: [{ address: \"{b0}\" }, { address: \"{b1}\" }] }\nroutes: [{ upstream: p }]\n";
    let lb = spawn_lb_file(yaml, &[&bs[0], &bs[1]]).await;
    for _ in 0..4 {
        body_of(lb.addr).await;
    }
    // reorder the servers and change a weight: same addresses, same counters
    let next = fill(yaml, &[&bs[0], &bs[1]]);
    let next = next.replace(
        &format!("{{ address: \"{}\" }}, {{ address: \"{}\" }}", bs[0].addr, bs[1].addr),
        &format!(
            "{{ address: \"{}\", weight: 3 }}, {{ address: \"{}\" }}",
            bs[1].addr, bs[0].addr
        ),
    );
    std::fs::write(&lb.path, next).unwrap();
    lb.handle.reload().await.unwrap();
    let status = send(&client(), lb.admin.unwrap(), "GET", "/status", &[]).await.body;
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let servers = status["upstreams"]["p"]["servers"].as_array().unwrap();
    assert_eq!(servers[0]["address"], bs[1].addr.to_string());
    assert_eq!(servers[0]["weight"], 3);
    assert_eq!(servers[0]["requests"], 2);
    assert_eq!(servers[1]["requests"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_reloads_under_load_lose_nothing() {
    let bs = [spawn_backend("a").await, spawn_backend("b").await];
    let base = "listeners: [{ address: \"127.0.0.1:0\" }]\nupstreams:\n  p: { servers: [{ address: \"{b0}\", weight: W }, { address: \"{b1}\" }] }\n  q: { servers: [{ address: \"{b1}\" }] }\nroutes:\n  - { match: { path_prefix: /q }, upstream: ROUTE }\n  - { upstream: p }\n";
    let variant = |i: usize| {
        fill(
            &base
                .replace("W", &(1 + i % 5).to_string())
                .replace("ROUTE", if i.is_multiple_of(2) { "q" } else { "p" }),
            &[&bs[0], &bs[1]],
        )
    };
    let lb = spawn_lb_file(&variant(0), &[]).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut clients = Vec::new();
    for fresh in [false, false, true, true] {
        let (stop, ok, failed, addr) = (stop.clone(), ok.clone(), failed.clone(), lb.addr);
        clients.push(tokio::spawn(async move {
            let keep = client();
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let c = if fresh { client() } else { keep.clone() };
                let path = if n % 2 == 0 { "/q/x" } else { "/" };
                n += 1;
                let req = Request::get(format!("http://{addr}{path}"))
                    .body(common::backend::pattern_body(0))
                    .unwrap();
                let good = match c.request(req).await {
                    Ok(r) => r.status() == 200 && r.into_body().collect().await.is_ok(),
                    Err(_) => false,
                };
                if good {
                    ok.fetch_add(1, Ordering::SeqCst)
                } else {
                    failed.fetch_add(1, Ordering::SeqCst)
                };
            }
        }));
    }
    for i in 1..=50 {
        std::fs::write(&lb.path, variant(i)).unwrap();
        lb.handle.reload().await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.await.unwrap();
    }
    assert_eq!(lb.handle.version(), 51);
    assert_eq!(failed.load(Ordering::SeqCst), 0, "{} ok", ok.load(Ordering::SeqCst));
    assert!(ok.load(Ordering::SeqCst) > 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_across_a_reload_completes_byte_exact() {
    let b = spawn_backend("a").await;
    let lb = spawn_lb_file(&to("{b0}"), &[&b]).await;
    let chunks = 40u64;
    let resp = client()
        .request(
            Request::get(format!("http://{}/drip/{chunks}/50", lb.addr))
                .body(common::backend::pattern_body(0))
                .unwrap(),
        )
        .await
        .unwrap();
    let reload = {
        let (handle, path, b2) = (lb.handle.clone(), lb.path.clone(), b.addr);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            std::fs::write(
                &path,
                to(&b2.to_string()).replace("servers:", "balance: round_robin, servers:"),
            )
            .unwrap();
            handle.reload().await.unwrap()
        })
    };
    let mut body = resp.into_body();
    let mut n = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            for piece in data.chunks(64 * 1024) {
                assert_eq!(piece, &pattern_chunk(n, piece.len())[..], "byte {n} differs");
                n += piece.len() as u64;
            }
        }
    }
    assert_eq!(n, chunks * 64 * 1024);
    assert_eq!(reload.await.unwrap(), 2, "the reload happened while streaming");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_http2_and_ignores_a_late_reload() {
    let b = spawn_backend("a").await;
    let lb = spawn_lb_file(&to("{b0}"), &[&b]).await;
    let (addr, handle) = (lb.addr, lb.handle.clone());
    let h2 = h2_client();
    assert_eq!(send(&h2, addr, "GET", "/", &[]).await.body, "a");
    let slow = tokio::spawn(async move { send(&h2, addr, "GET", "/sleep/500", &[]).await });
    eventually(DEADLINE, || (b.seen().len() == 2).then_some(())).await;
    assert!(lb.shutdown().await, "drained within shutdown_timeout");
    let reply = slow.await.unwrap();
    assert_eq!(
        (reply.status.as_u16(), reply.body.as_str()),
        (200, "a"),
        "the in-flight HTTP/2 request finished"
    );
    assert!(std::net::TcpStream::connect(addr).is_err(), "the listener is closed");
    let err = handle.reload().await.unwrap_err();
    assert!(matches!(err, fulcrum::server::ReloadError::ShuttingDown), "{err}");
}
