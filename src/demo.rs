//! Demo backends for `fulcrum demo`: tiny HTTP servers that answer with their own name.

use crate::config::Config;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// A backend's name: its upstream and 1-based position, e.g. `web-2`.
pub fn backend_name(upstream: &str, index: usize) -> String {
    format!("{upstream}-{}", index + 1)
}

/// Starts a backend on every loopback server address of `config`; returns (name, address) pairs.
pub async fn spawn_backends(config: &Config) -> std::io::Result<Vec<(String, SocketAddr)>> {
    let mut out = Vec::new();
    for u in &config.upstreams {
        for (i, s) in u.servers.iter().enumerate() {
            if s.address.ip().is_loopback() {
                let name = backend_name(&u.name, i);
                let addr = spawn_backend(name.clone(), s.address).await?;
                out.push((name, addr));
            }
        }
    }
    Ok(out)
}

/// Starts one backend on `addr` (port 0 picks one) answering `NAME ADDR: METHOD PATH`.
pub async fn spawn_backend(name: String, addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let name = name.clone();
            let service = service_fn(move |req: Request<Incoming>| {
                let text = format!("{name} {local}: {} {}\n", req.method(), req.uri());
                async move { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(text)))) }
            });
            tokio::spawn(async move {
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(local)
}

/// The admin URLs the demo prints, when the config has an admin listener.
pub fn admin_urls(admin: SocketAddr) -> String {
    format!(
        "Admin:\n\
         \x20 dashboard  http://{admin}/\n\
         \x20 metrics    curl -s http://{admin}/metrics\n\
         \x20 status     curl -s http://{admin}/status\n\
         \x20 config     curl -s http://{admin}/config\n\
         \x20 lookup     curl -s 'http://{admin}/lookup?path=/api/x&host=api.example.com&header=x-user-id:alice'\n"
    )
}

/// The curl commands the demo prints for a listener address.
pub fn curl_examples(listener: SocketAddr) -> String {
    format!(
        "Try:\n\
         \x20 # weighted round robin (web: weights 5,1,1): 7 requests, exactly 5/1/1\n\
         \x20 for i in 1 2 3 4 5 6 7; do curl -s http://{listener}/; done\n\
         \x20 # consistent hash on x-user-id: the same user always reaches the same server\n\
         \x20 for u in alice alice bob bob carol carol; do curl -s -H \"x-user-id: $u\" -H 'Host: api.example.com' http://{listener}/api/whoami; done\n\
         \x20 # answered by fulcrum itself (no backend), with a request ID\n\
         \x20 curl -si http://{listener}/healthz\n\
         \x20 # a redirect: 301 to an absolute Location, query kept\n\
         \x20 curl -si 'http://{listener}/old/page?x=1'\n\
         \x20 # no route matches a DELETE: 404\n\
         \x20 curl -si -X DELETE http://{listener}/\n"
    )
}
