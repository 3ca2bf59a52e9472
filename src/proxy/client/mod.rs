//! The pooled client of one upstream (one per worker thread): keep-alive
//! HTTP/1.1, HTTP/2 with prior knowledge (`protocol: h2c`), or TLS (`tls`),
//! where ALPN picks HTTP/2 or HTTP/1.1 (`protocol: h2` requires HTTP/2). A
//! certificate that does not verify fails the connect: 502, never a
//! plaintext fallback.
//!
//! Requests without a body to plain-HTTP servers go through fulcrum's own
//! HTTP/1.1 client (`h1`, `own`); everything else through hyper's.
//! The pool is fulcrum's own, over hyper's connection API: per server, the
//! idle HTTP/1 connections (a request takes one, and its [`Lease`] puts it
//! back when the response body has been read or abandoned, so busy
//! connections are never scanned) and at most one shared HTTP/2 connection. Only the thread that owns the client
//! uses it, so its lock is never contended.
//!
//! A pooled connection the server has just closed (its keep-alive timeout
//! racing the next request) is the classic source of stray 502s. A request
//! that comes back unsent goes again at once; an idempotent request without
//! a body (copied before sending) is sent again after a failure on a reused
//! connection, up to [`RESENDS`] times, on the next pooled or a new
//! connection. Whatever fails is handed back to the caller when it can
//! still be sent elsewhere: unsent, or as that copy.

use super::send_body::SendBody;
use crate::config::{Protocol, UpstreamConfig};
use http::{header, HeaderValue, Request, Response, Uri, Version};
use hyper::client::conn::{http1, http2};
use hyper_rustls::{FixedServerNameResolver, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::{Connection, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::ServerName;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// The most an upstream HTTP/1 connection's read buffer grows to. hyper's
/// default (about 400 KiB) stays allocated for the connection's life, idle
/// in the pool included: with it, a stuck client cost fulcrum 570 KiB and
/// the soak's RSS kept climbing as the pools filled; bodies stream through
/// 64 KiB reads as fast.
const READ_BUF_MAX: usize = 64 * 1024;

/// Idle pooled connections are closed after this long.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Every this many checkouts, every server's list is swept of closed and
/// expired connections (a server's own list is swept on each of its checkouts).
const SWEEP_EVERY: u32 = 1024;

/// Resends after failures on reused connections, per request.
pub const RESENDS: usize = 3;

mod failure;
mod h1;
mod own;
mod response;

use failure::{failed, BoxError, Resend};
pub use failure::{idempotent, Failure, SendError};
pub use h1::lines::Lines;
pub use response::UpBody;

/// A cheap handle to one upstream's pools; request bodies are capped at
/// `limits.max_body_bytes` as they stream.
#[derive(Clone)]
pub struct UpstreamClient {
    inner: Arc<Inner>,
}

struct Inner {
    connector: HttpsConnector<HttpConnector>,
    /// `protocol: h2c` or `h2`: HTTP/2 on every connection.
    http2_only: bool,
    /// `timeouts.connect`, for the own path's connects.
    connect_timeout: Duration,
    pools: Mutex<Pools>,
}

#[derive(Default)]
struct Pools {
    /// Keyed by `ip:port` from the config: a fast hasher, not SipHash.
    by_server: HashMap<Arc<str>, Pool, crate::fasthash::FastHash>,
    checkouts: u32,
    /// The own path's idle sweeper runs (see `own::sweep_idle`).
    sweeping: bool,
}

/// One server's connections.
struct Pool {
    /// Its key, shared with the leases that bring connections back.
    name: Arc<str>,
    http1: Vec<Idle>,
    http2: Option<http2::SendRequest<SendBody>>,
    /// Idle connections of the own path (`h1`).
    own: Vec<h1::Idle>,
}

impl Pool {
    fn new(name: Arc<str>) -> Self {
        Self {
            name,
            http1: Vec::new(),
            http2: None,
            own: Vec::new(),
        }
    }
}

/// An HTTP/1 connection lent to one request: back in its pool when dropped,
/// which the response body does when it ends or is abandoned.
pub struct Lease(Option<(Arc<Inner>, Arc<str>, http1::SendRequest<SendBody>)>);

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some((inner, name, sender)) = self.0.take() {
            if !sender.is_closed() {
                inner.put_back(&name, sender);
            }
        }
    }
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Lease(http1)"
        } else {
            "Lease(none)"
        })
    }
}

struct Idle {
    sender: http1::SendRequest<SendBody>,
    /// When it was last returned.
    used: Instant,
}

impl Idle {
    fn expired(&self, now: Instant) -> bool {
        self.sender.is_closed() || now.duration_since(self.used) >= POOL_IDLE_TIMEOUT
    }
}

enum Conn {
    Http1(http1::SendRequest<SendBody>),
    Http2(http2::SendRequest<SendBody>),
}

impl Pools {
    /// Counts a checkout (every [`SWEEP_EVERY`]th sweeps all pools) and
    /// finds `key`'s pool.
    fn find(&mut self, key: &str, now: Instant) -> Option<&mut Pool> {
        self.checkouts = self.checkouts.wrapping_add(1);
        if self.checkouts.is_multiple_of(SWEEP_EVERY) {
            self.sweep(now);
        }
        self.by_server.get_mut(key)
    }

    /// `name`'s pool, made when it has none. One lookup at the price of a
    /// key clone: `contains_key` then `get_mut` measured 27,861 instructions
    /// per request against 27,708 (callgrind rr, one run each).
    fn pool_for(&mut self, name: &Arc<str>) -> &mut Pool {
        self.by_server
            .entry(name.clone())
            .or_insert_with(|| Pool::new(name.clone()))
    }

    /// Drops every server's closed and expired connections, and the
    /// servers left with none.
    fn sweep(&mut self, now: Instant) {
        self.by_server.retain(|_, p| {
            p.http1.retain(|i| !i.expired(now));
            p.http2 = p.http2.take().filter(|s| !s.is_closed());
            p.own.retain(|i| !own::spent(i, now));
            !p.http1.is_empty() || p.http2.is_some() || !p.own.is_empty()
        });
    }
}

impl Inner {
    fn put_back(&self, name: &Arc<str>, sender: http1::SendRequest<SendBody>) {
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        let idle = Idle {
            sender,
            used: Instant::now(),
        };
        pools.pool_for(name).http1.push(idle);
    }
}

/// Builds the client; `timeouts.connect` bounds each TCP connect. Fails
/// only on a TLS setting rustls refuses.
pub fn build(cfg: &UpstreamConfig) -> Result<UpstreamClient, String> {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(cfg.connect_timeout));
    http.set_nodelay(true);
    http.enforce_http(false);
    let tls_config = match &cfg.tls {
        Some(tls) => crate::tls::client_config(tls)?,
        // never used: plain pools send http:// URIs, which skip TLS
        None => rustls::ClientConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
    };
    let mut builder = HttpsConnectorBuilder::new().with_tls_config(tls_config).https_or_http();
    if let Some(name) = cfg.tls.as_ref().and_then(|t| t.server_name.clone()) {
        let name = ServerName::try_from(name).map_err(|e| e.to_string())?;
        builder = builder.with_server_name_resolver(FixedServerNameResolver::new(name));
    }
    let connector = match (cfg.protocol, cfg.tls.is_some()) {
        (Protocol::Http1, false) => builder.enable_http1().wrap_connector(http),
        (Protocol::Http1, true) => builder.enable_all_versions().wrap_connector(http),
        (Protocol::H2c | Protocol::H2, _) => builder.enable_http2().wrap_connector(http),
    };
    Ok(UpstreamClient {
        inner: Arc::new(Inner {
            connector,
            http2_only: matches!(cfg.protocol, Protocol::H2c | Protocol::H2),
            connect_timeout: cfg.connect_timeout,
            pools: Mutex::default(),
        }),
    })
}

/// Where a request goes and how it is waited for.
#[derive(Debug, Clone, Copy)]
pub struct To {
    /// The server's address: the request URI's authority, which callers
    /// build from it (parsing it back cost ~340 instructions a request).
    pub addr: std::net::SocketAddr,
    /// How long the response head may take.
    pub timeout: Duration,
    /// An own-path response's header lines pass through instead of filling
    /// its map (see `h1::lines`): for a caller that writes them to fulcrum's
    /// own HTTP/1 server and reads no response header.
    pub pass: bool,
}

impl UpstreamClient {
    /// Sends `req` (absolute URI: scheme and the server's authority) on a
    /// pooled connection to its server, or a new one, and waits up to
    /// `to.timeout` for the response head (see [`To`]).
    /// The lease returns an HTTP/1 connection to the pool when dropped.
    pub async fn request(&self, req: Request<SendBody>, to: To) -> Result<(Response<UpBody>, Lease), SendError> {
        if own::eligible(&self.inner, &req) {
            return self.request_own(req, to).await;
        }
        let timeout = to.timeout;
        let copy = Resend::of(&req);
        match tokio::time::timeout(timeout, self.send(req, copy.as_ref())).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(mut e)) => {
                if e.request.is_none() {
                    e.request = copy.map(|c| Box::new(c.into_request()));
                }
                Err(e)
            }
            Err(_) => Err(failed(Failure::Timeout, copy.map(Resend::into_request))),
        }
    }

    async fn send(
        &self,
        mut req: Request<SendBody>,
        copy: Option<&Resend>,
    ) -> Result<(Response<UpBody>, Lease), SendError> {
        let uri = req.uri().clone();
        let key = uri.authority().map_or("", |a| a.as_str());
        let mut resends = 0;
        loop {
            let (name, pooled) = self.checkout(key);
            let (conn, reused) = match pooled {
                Some(conn) => (conn, true),
                // boxed: the connect and handshake state (several KB with
                // TLS) would otherwise sit in every request's future
                None => match Box::pin(self.connect(key, &uri)).await {
                    Ok(conn) => (conn, false),
                    Err(e) => return Err(failed(Failure::Connect(e), Some(req))),
                },
            };
            match conn {
                Conn::Http2(mut sender) => {
                    *req.version_mut() = Version::HTTP_2;
                    return match sender.send_request(req).await {
                        Ok(resp) => Ok((resp.map(UpBody::Hyper), Lease(None))),
                        Err(e) => Err(failed(Failure::Request(Box::new(e)), None)),
                    };
                }
                Conn::Http1(mut sender) => {
                    origin_form(&mut req);
                    let mut e = match sender.try_send_request(req).await {
                        Ok(resp) => {
                            let lease = Lease(Some((self.inner.clone(), name, sender)));
                            return Ok((resp.map(UpBody::Hyper), lease));
                        }
                        // a failed connection is not pooled again
                        Err(e) => e,
                    };
                    let unsent = e.take_message().map(|mut back| {
                        *back.uri_mut() = uri.clone();
                        back
                    });
                    let again = unsent.or_else(|| copy.filter(|_| reused).map(Resend::request));
                    match again {
                        Some(again) if reused && resends < RESENDS => {
                            resends += 1;
                            req = again;
                        }
                        again => return Err(failed(Failure::Request(Box::new(e.into_error())), again)),
                    }
                }
            }
        }
    }

    /// The pool's shared name for `key`, and an idle connection to it that
    /// is ready, if any (closed and expired ones at the top are dropped; the
    /// sweep catches the rest).
    fn checkout(&self, key: &str) -> (Arc<str>, Option<Conn>) {
        let now = Instant::now();
        let mut pools = self.inner.pools.lock().unwrap_or_else(|e| e.into_inner());
        let Some(pool) = pools.find(key, now) else {
            return (Arc::from(key), None);
        };
        let name = pool.name.clone();
        if let Some(h2) = &pool.http2 {
            if !h2.is_closed() {
                return (name, Some(Conn::Http2(h2.clone())));
            }
            pool.http2 = None;
        }
        while pool.http1.last().is_some_and(|i| i.expired(now)) {
            pool.http1.pop();
        }
        // the most recently returned first: its socket is warmest; one whose
        // response has only just ended may not be ready yet
        let ready = pool.http1.iter().rposition(|i| i.sender.is_ready());
        (name, ready.map(|i| Conn::Http1(pool.http1.swap_remove(i).sender)))
    }

    /// A new connection (TCP, TLS when the URI is https), HTTP/2 when the
    /// pool's protocol or ALPN says so; its task runs on this thread.
    async fn connect(&self, key: &str, uri: &Uri) -> Result<Conn, BoxError> {
        let io = self.inner.connector.clone().oneshot(uri.clone()).await?;
        if self.inner.http2_only || io.connected().is_negotiated_h2() {
            let (sender, conn) = http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .handshake(io)
                .await?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!("upstream HTTP/2 connection: {e}");
                }
            });
            let mut pools = self.inner.pools.lock().unwrap_or_else(|e| e.into_inner());
            pools.pool_for(&Arc::from(key)).http2 = Some(sender.clone());
            return Ok(Conn::Http2(sender));
        }
        let (sender, conn) = http1::Builder::new().max_buf_size(READ_BUF_MAX).handshake(io).await?;
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!("upstream connection: {e}");
            }
        });
        Ok(Conn::Http1(sender))
    }
}

/// HTTP/1 sends the path only; the Host header carries the authority.
fn origin_form(req: &mut Request<SendBody>) {
    let uri = std::mem::take(req.uri_mut());
    if !req.headers().contains_key(header::HOST) {
        if let Some(a) = uri.authority() {
            if let Ok(v) = HeaderValue::from_str(a.as_str()) {
                req.headers_mut().insert(header::HOST, v);
            }
        }
    }
    let mut parts = uri.into_parts();
    parts.scheme = None;
    parts.authority = None;
    *req.uri_mut() = Uri::from_parts(parts).unwrap_or_default();
    *req.version_mut() = Version::HTTP_11;
}
