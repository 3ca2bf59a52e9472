//! The soak's good clients: mixed requests through fulcrum, each outcome
//! counted by kind. `LOST` (no answer at all) and `ALTERED` (an answer whose
//! bytes are not what the backend sent) must stay at zero.

use crate::common::backend::{pattern_chunk, BoxBody};
use crate::common::client::TestClient;
use crate::stats::Stats;
use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest wait for a response head (fulcrum's own timeouts are shorter).
const HEAD_WAIT: Duration = Duration::from_secs(15);
/// Longest wait for a whole body.
const BODY_WAIT: Duration = Duration::from_secs(30);

pub struct Clients {
    pub addr: SocketAddr,
    pub h1: TestClient,
    pub h2: TestClient,
    pub stats: Stats,
    next_id: AtomicU64,
}

impl Clients {
    pub fn new(addr: SocketAddr, stats: Stats) -> Self {
        Clients {
            addr,
            h1: crate::common::client(),
            h2: crate::common::h2_client(),
            stats,
            next_id: AtomicU64::new(1),
        }
    }

    /// One request of a random kind.
    pub async fn one(&self, rng: &mut fastrand::Rng) {
        let h2 = rng.bool();
        match rng.u8(0..11) {
            0 | 1 => self.get("get", "/get", h2, &[]).await,
            2 => self.fresh_connection().await,
            3 | 4 => self.post(rng, h2).await,
            5 => self.stream(rng, h2).await,
            6 | 7 => {
                let user = format!("u{}", rng.u8(0..100));
                self.get("hash", "/hash/get", h2, &[("x-user", &user)]).await
            }
            8 => self.websocket().await,
            9 => self.get("extra", "/extra/get", h2, &[]).await,
            _ => self.get("dns", "/dns/get", h2, &[]).await,
        }
    }

    fn client(&self, h2: bool) -> &TestClient {
        if h2 {
            &self.h2
        } else {
            &self.h1
        }
    }

    /// Sends a request; None (counted as lost) when no head came.
    async fn send(&self, kind: &str, req: Request<BoxBody>, h2: bool) -> Option<http::Response<hyper::body::Incoming>> {
        self.stats.add(format!("sent {kind}"));
        match tokio::time::timeout(HEAD_WAIT, self.client(h2).request(req)).await {
            Ok(Ok(resp)) => {
                self.stats.add(format!("answered {}", resp.status().as_u16()));
                Some(resp)
            }
            Ok(Err(e)) => {
                self.stats.add(format!("LOST {kind}: {}", cause(&e)));
                None
            }
            Err(_) => {
                self.stats.add(format!("LOST {kind}: no head within {HEAD_WAIT:?}"));
                None
            }
        }
    }

    /// Reads a whole body; None (counted) when it was cut.
    async fn body(&self, kind: &str, resp: http::Response<hyper::body::Incoming>) -> Option<Bytes> {
        match tokio::time::timeout(BODY_WAIT, resp.into_body().collect()).await {
            Ok(Ok(b)) => Some(b.to_bytes()),
            Ok(Err(_)) => {
                self.stats
                    .add(format!("error {kind}: body cut (a backend died mid-response)"));
                None
            }
            Err(_) => {
                self.stats
                    .add(format!("error {kind}: body not done within {BODY_WAIT:?}"));
                None
            }
        }
    }

    async fn get(&self, kind: &str, path: &str, h2: bool, headers: &[(&str, &str)]) {
        let mut req = Request::get(format!("http://{}{path}", self.addr));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(Bytes::new()).boxed()).unwrap();
        if let Some(resp) = self.send(kind, req, h2).await {
            let ok = resp.status() == 200;
            if let Some(body) = self.body(kind, resp).await {
                if ok && &body[..] != b"ok" {
                    self.stats.add(format!("ALTERED {kind}: body {body:?}"));
                }
            }
        }
    }

    /// A POST of up to 1 MiB whose digest the backend returns.
    async fn post(&self, rng: &mut fastrand::Rng, h2: bool) {
        let len = if rng.bool() {
            rng.usize(0..4096)
        } else {
            rng.usize(0..=1 << 20)
        };
        let body: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
        let digest = format!("{:x}", Sha256::digest(&body));
        let id = self.next_id.fetch_add(1, SeqCst);
        let req = Request::post(format!("http://{}/post", self.addr))
            .header("x-soak-id", id.to_string())
            .body(Full::new(Bytes::from(body)).boxed())
            .unwrap();
        if let Some(resp) = self.send("post", req, h2).await {
            let ok = resp.status() == 200;
            if let Some(got) = self.body("post", resp).await {
                if ok && got != digest.as_bytes() {
                    self.stats.add("ALTERED post: the backend hashed other bytes");
                }
            }
        }
    }

    /// A streamed response of up to 2 MiB, checked byte for byte.
    async fn stream(&self, rng: &mut fastrand::Rng, h2: bool) {
        let n = rng.usize(64 << 10..=2 << 20);
        let req = Request::get(format!("http://{}/stream?bytes={n}", self.addr))
            .body(Full::new(Bytes::new()).boxed())
            .unwrap();
        if let Some(resp) = self.send("stream", req, h2).await {
            let ok = resp.status() == 200;
            if let Some(got) = self.body("stream", resp).await {
                if ok && !is_pattern(&got, n) {
                    self.stats.add(format!("ALTERED stream: {} bytes of {n}", got.len()));
                }
            }
        }
    }

    /// A new connection for one request (`Connection: close`).
    async fn fresh_connection(&self) {
        self.stats.add("sent fresh");
        let exchange = async {
            let mut s = TcpStream::connect(self.addr).await?;
            s.write_all(b"GET /get HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n")
                .await?;
            let mut out = Vec::new();
            s.read_to_end(&mut out).await?;
            Ok::<_, std::io::Error>(out)
        };
        match tokio::time::timeout(HEAD_WAIT, exchange).await {
            Ok(Ok(out)) => match status_of(&out) {
                Some(code) => {
                    self.stats.add(format!("answered {code}"));
                    if code == 200 && !out.ends_with(b"\r\n\r\nok") {
                        self.stats.add("ALTERED fresh: body");
                    }
                }
                None => self.stats.add("LOST fresh: closed without an answer"),
            },
            Ok(Err(e)) => self.stats.add(format!("LOST fresh: {e}")),
            Err(_) => self.stats.add("LOST fresh: no answer in time"),
        }
    }

    /// An upgrade to a tunnel the backend echoes, three messages through it.
    async fn websocket(&self) {
        self.stats.add("sent websocket");
        let run = async {
            let mut s = TcpStream::connect(self.addr).await?;
            s.write_all(b"GET /ws HTTP/1.1\r\nHost: soak\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").await?;
            let mut head = Vec::new();
            let mut byte = [0u8];
            while !head.ends_with(b"\r\n\r\n") {
                if s.read(&mut byte).await? == 0 {
                    break;
                }
                head.push(byte[0]);
            }
            let Some(code) = status_of(&head) else {
                return Ok(Err("LOST websocket: closed without an answer".to_string()));
            };
            self.stats.add(format!("answered {code}"));
            if code != 101 {
                return Ok(Ok(()));
            }
            for _ in 0..3 {
                let message: Vec<u8> = (0..1024).map(|_| fastrand::u8(..)).collect();
                s.write_all(&message).await?;
                let mut echo = vec![0u8; message.len()];
                if s.read_exact(&mut echo).await.is_err() {
                    return Ok(Err("error websocket: tunnel cut (a backend died)".to_string()));
                }
                if echo != message {
                    return Ok(Err("ALTERED websocket: echo differs".to_string()));
                }
            }
            Ok::<_, std::io::Error>(Ok(()))
        };
        match tokio::time::timeout(BODY_WAIT, run).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(outcome))) => self.stats.add(outcome),
            Ok(Err(e)) => self.stats.add(format!("error websocket: {}", e.kind())),
            Err(_) => self.stats.add("LOST websocket: no answer in time"),
        }
    }
}

/// Whether `got` is the backend's `n`-byte pattern body.
fn is_pattern(got: &[u8], n: usize) -> bool {
    const STEP: usize = 16 * 1024;
    got.len() == n
        && (0..n)
            .step_by(STEP)
            .all(|off| got[off..(off + STEP).min(n)] == pattern_chunk(off as u64, STEP.min(n - off))[..])
}

/// The status code of a raw HTTP/1 answer.
pub fn status_of(bytes: &[u8]) -> Option<u16> {
    let line = bytes.split(|&b| b == b'\n').next()?;
    std::str::from_utf8(line)
        .ok()?
        .strip_prefix("HTTP/1.1 ")?
        .get(..3)?
        .parse()
        .ok()
}

/// A client error's cause in a few words (the innermost source).
fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}
