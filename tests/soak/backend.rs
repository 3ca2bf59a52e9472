//! The soak's backends: real HTTP/1 servers on loopback that are killed and
//! restarted on the same port, made to hang or to answer garbage, and made
//! unhealthy. Every POST's id is recorded across all of them: an id seen
//! twice is a body that reached a backend twice.

use crate::common::backend::{pattern_body, BoxBody};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub const NORMAL: u8 = 0;
/// Requests are read and never answered.
pub const HANG: u8 = 1;
/// New connections get bytes that are not HTTP.
pub const GARBAGE: u8 = 2;

/// What every backend records.
#[derive(Clone, Default)]
pub struct Seen {
    /// POST id -> times its head reached a backend.
    pub posts: Arc<Mutex<HashMap<u64, u32>>>,
    /// Requests for `/smuggled`, which only a desync could send.
    pub smuggled: Arc<AtomicU64>,
}

impl Seen {
    /// POST ids that reached a backend more than once.
    pub fn duplicates(&self) -> u64 {
        self.posts.lock().unwrap().values().filter(|&&n| n > 1).count() as u64
    }
}

pub struct Backend {
    pub addr: SocketAddr,
    pub mode: Arc<AtomicU8>,
    pub healthy: Arc<AtomicBool>,
    stop: Option<watch::Sender<bool>>,
    seen: Seen,
}

impl Backend {
    pub async fn start(seen: &Seen) -> Backend {
        Self::start_on(seen, "127.0.0.1:0".parse().unwrap()).await
    }

    /// A backend on `addr` (DNS-discovered servers share one port).
    pub async fn start_on(seen: &Seen, addr: SocketAddr) -> Backend {
        let listener = TcpListener::bind(addr).await.unwrap();
        let mut b = Backend {
            addr: listener.local_addr().unwrap(),
            mode: Arc::default(),
            healthy: Arc::new(AtomicBool::new(true)),
            stop: None,
            seen: seen.clone(),
        };
        b.serve(listener);
        b
    }

    /// Closes the listener and every connection at once, as a crash would.
    pub fn kill(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
    }

    /// Listens on the same port again (the old listener may take a moment
    /// to close): an error when it cannot within 5 s.
    pub async fn restart(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => {
                    self.serve(listener);
                    return Ok(());
                }
                Err(e) if Instant::now() > deadline => {
                    return Err(format!("backend {} did not restart: {e}", self.addr))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    fn serve(&mut self, listener: TcpListener) {
        let (stop, stopped) = watch::channel(false);
        self.stop = Some(stop);
        let (mode, healthy, seen) = (self.mode.clone(), self.healthy.clone(), self.seen.clone());
        tokio::spawn(async move {
            let mut until = stopped.clone();
            loop {
                let stream = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((s, _)) => s,
                        Err(_) => continue,
                    },
                    _ = until.changed() => return,
                };
                let mut until = stopped.clone();
                let (mode, healthy, seen) = (mode.clone(), healthy.clone(), seen.clone());
                let killed = until.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        _ = connection(stream, mode, healthy, seen, killed) => {}
                        _ = until.changed() => {}
                    }
                });
            }
        });
    }
}

async fn connection(
    mut stream: TcpStream,
    mode: Arc<AtomicU8>,
    healthy: Arc<AtomicBool>,
    seen: Seen,
    killed: watch::Receiver<bool>,
) {
    if mode.load(SeqCst) == GARBAGE {
        let mut buf = [0u8; 4096];
        let _ = stream.read(&mut buf).await;
        let _ = stream.write_all(b"\x00\x17garbage, not HTTP\r\n\r\n\xff\xfe").await;
        return;
    }
    let service = service_fn(move |req| answer(req, mode.clone(), healthy.clone(), seen.clone(), killed.clone()));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<BoxBody> {
    let mut r = Response::new(Full::new(body.into()).boxed());
    *r.status_mut() = status;
    r
}

async fn answer(
    req: Request<Incoming>,
    mode: Arc<AtomicU8>,
    healthy: Arc<AtomicBool>,
    seen: Seen,
    mut killed: watch::Receiver<bool>,
) -> Result<Response<BoxBody>, Infallible> {
    let last = req.uri().path().rsplit('/').next().unwrap_or("").to_string();
    if last == "healthz" {
        let up = healthy.load(SeqCst) && mode.load(SeqCst) == NORMAL;
        return Ok(text(
            if up {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            },
            "health",
        ));
    }
    if mode.load(SeqCst) == HANG {
        std::future::pending::<()>().await;
    }
    Ok(match last.as_str() {
        "smuggled" => {
            seen.smuggled.fetch_add(1, SeqCst);
            text(StatusCode::OK, "smuggled")
        }
        "post" => {
            let id = req
                .headers()
                .get("x-soak-id")
                .and_then(|v| v.to_str().ok()?.parse().ok());
            if let Some(id) = id {
                *seen.posts.lock().unwrap().entry(id).or_default() += 1;
            }
            let mut body = req.into_body();
            let mut hash = Sha256::new();
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(f) => hash.update(f.into_data().unwrap_or_default()),
                    Err(_) => return Ok(text(StatusCode::BAD_REQUEST, "cut body")),
                }
            }
            text(StatusCode::OK, format!("{:x}", hash.finalize()))
        }
        "stream" => {
            let n: u64 = req
                .uri()
                .query()
                .and_then(|q| q.strip_prefix("bytes=")?.parse().ok())
                .unwrap_or(1 << 20);
            Response::new(pattern_body(n))
        }
        "ws" => {
            let key = req.headers().get("sec-websocket-key").cloned();
            // the tunnel outlives the connection's task: a kill ends it too
            tokio::spawn(async move {
                if let Ok(upgraded) = hyper::upgrade::on(req).await {
                    let (mut r, mut w) = tokio::io::split(TokioIo::new(upgraded));
                    tokio::select! {
                        _ = tokio::io::copy(&mut r, &mut w) => {}
                        _ = killed.changed() => {}
                    }
                }
            });
            let mut r = text(StatusCode::SWITCHING_PROTOCOLS, Bytes::new());
            r.headers_mut().insert("upgrade", "websocket".parse().unwrap());
            r.headers_mut().insert("connection", "upgrade".parse().unwrap());
            if let Some(key) = key {
                r.headers_mut().insert("sec-websocket-accept", key);
            }
            r
        }
        _ => text(StatusCode::OK, "ok"),
    })
}
