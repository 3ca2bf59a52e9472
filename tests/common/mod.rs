//! Test harness: real backends and a real fulcrum on 127.0.0.1:0.
#![allow(dead_code, unused_imports)]

pub mod backend;
pub mod client;
pub mod process;

pub use backend::{spawn_backend, spawn_slow_backend, Backend, Recorded};
pub use client::{client, h2_client, send, Reply};

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
    let config = fulcrum::config::parse(&fill(yaml, backends)).expect("test config is valid");
    let server = Server::bind(&config).await.expect("bind");
    let addr = server.local_addrs()[0];
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(server.serve(async move {
        let _ = rx.await;
    }));
    Lb { addr, _stop: tx }
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
