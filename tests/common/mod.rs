//! Test harness: real backends and a real fulcrum on 127.0.0.1:0.
#![allow(dead_code, unused_imports)]

pub mod backend;
pub mod client;
pub mod dns;
pub mod h2raw;
pub mod process;
pub mod prom;
pub mod prom_server;
pub mod schema;
pub mod tls;

pub use backend::{spawn_backend, spawn_slow_backend, Backend, Recorded};
pub use client::{client, h2_client, raw_exchange, send, Reply, TestClient};

use fulcrum::server::Server;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// A fulcrum serving in this process; dropped = shut down.
pub struct Lb {
    pub addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

/// Starts fulcrum with `yaml`, in which `{LISTEN}` becomes 127.0.0.1:0 and
/// `{b0}`, `{b1}`, ... the addresses of `backends`.
pub async fn spawn_lb(yaml: &str, backends: &[&Backend]) -> Lb {
    let filled = fill(yaml, backends);
    let config = fulcrum::config::parse(&filled).expect("test config is valid");
    schema::assert_valid(&filled);
    let server = Server::bind(&config, None).await.expect("bind");
    let addr = server.local_addrs()[0];
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(server.serve(async move {
        let _ = rx.await;
    }));
    Lb { addr, _stop: tx }
}

/// A fulcrum serving in this process from a config file, with its handle.
pub struct LbFile {
    pub addr: SocketAddr,
    pub admin: Option<SocketAddr>,
    pub handle: fulcrum::server::Handle,
    pub path: std::path::PathBuf,
    pub dir: process::TempDir,
    stop: Option<oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<bool>>,
}

impl LbFile {
    /// Shuts down and waits for the drain; returns whether it finished in time.
    pub async fn shutdown(mut self) -> bool {
        let _ = self.stop.take().unwrap().send(());
        self.done.take().unwrap().await.unwrap()
    }
}

/// Writes `yaml` (placeholders filled) to a temp file and serves it.
pub async fn spawn_lb_file(yaml: &str, backends: &[&Backend]) -> LbFile {
    spawn_lb_file_in(process::TempDir::new(), yaml, backends).await
}

/// Like `spawn_lb_file`, in a directory the test has already filled (e.g.
/// with certificates the config names).
pub async fn spawn_lb_file_in(dir: process::TempDir, yaml: &str, backends: &[&Backend]) -> LbFile {
    let path = dir.0.join("fulcrum.yaml");
    std::fs::write(&path, fill(yaml, backends)).unwrap();
    let config = fulcrum::config::load(&path).expect("test config is valid");
    schema::assert_valid(&std::fs::read_to_string(&path).unwrap());
    let server = Server::bind(&config, Some(path.clone())).await.expect("bind");
    let addr = server.local_addrs()[0];
    let admin = server.admin_addr();
    let handle = server.handle();
    let (tx, rx) = oneshot::channel::<()>();
    let done = tokio::spawn(server.serve(async move {
        let _ = rx.await;
    }));
    LbFile {
        addr,
        admin,
        handle,
        path,
        dir,
        stop: Some(tx),
        done: Some(done),
    }
}

/// Like `eventually`, for an async condition.
pub async fn eventually_async<T, F: std::future::Future<Output = Option<T>>>(
    deadline: Duration,
    mut f: impl FnMut() -> F,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < deadline, "condition not met within {deadline:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A raw TCP server for upstream faults: reads each connection's first
/// request, writes `reply` (nothing: it just hangs up) and closes.
pub struct RawServer {
    pub addr: SocketAddr,
    /// Connections accepted.
    pub connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Connections on which request bytes arrived.
    pub requests: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

pub async fn spawn_raw_server(reply: &'static [u8]) -> RawServer {
    use std::sync::atomic::Ordering::SeqCst;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = RawServer {
        addr: listener.local_addr().unwrap(),
        connections: Default::default(),
        requests: Default::default(),
    };
    let (connections, requests) = (server.connections.clone(), server.requests.clone());
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            connections.fetch_add(1, SeqCst);
            let requests = requests.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                if let Ok(n) = s.read(&mut buf).await {
                    if n > 0 {
                        requests.fetch_add(1, SeqCst);
                    }
                }
                let _ = s.write_all(reply).await;
            });
        }
    });
    server
}

/// Replaces `{LISTEN}` and `{bN}` placeholders.
pub fn fill(yaml: &str, backends: &[&Backend]) -> String {
    let mut out = yaml.replace("{LISTEN}", "127.0.0.1:0");
    for (i, b) in backends.iter().enumerate() {
        out = out.replace(&format!("{{b{i}}}"), &b.addr.to_string());
    }
    out
}

/// An address nothing listens on (bound, then released).
pub fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// Polls `f` until it returns Some, or panics after `deadline`.
pub async fn eventually<T>(deadline: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < deadline, "condition not met within {deadline:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The server `upstream` picks, in process, for a request whose `x-user` header is `key`.
pub fn pick_for_user(upstream: &fulcrum::upstream::Upstream, key: &str) -> usize {
    let mut headers = http::HeaderMap::new();
    headers.insert("x-user", key.parse().unwrap());
    let input = fulcrum::upstream::KeyInput {
        headers: &headers,
        path: "/",
        query: None,
        host: None,
        client_ip: [127, 0, 0, 1].into(),
    };
    upstream.select(&input).unwrap().0
}
