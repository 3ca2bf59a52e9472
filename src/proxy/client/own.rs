//! Sending on fulcrum's own HTTP/1 path ([`super::h1`]): which requests
//! take it, its idle connections in the pool (and the sweeper that closes
//! those their server closed), and the resend after a pooled connection
//! fails before any response byte, with the same rules as hyper's path
//! (see the parent module).

use super::failure::{failed, idempotent};
use super::h1::{self, Conn};
use super::response::UpBody;
use super::{Failure, Inner, Lease, SendBody, SendError, To, UpstreamClient, POOL_IDLE_TIMEOUT, RESENDS};
use http::{header, Method, Request, Response};
use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// Whether `req` can take the own path: plain HTTP/1 (to the address its
/// caller names), no body, no upgrade, not CONNECT.
pub(super) fn eligible(inner: &Inner, req: &Request<SendBody>) -> bool {
    !(inner.http2_only
        || req.uri().scheme() != Some(&http::uri::Scheme::HTTP)
        || req.method() == Method::CONNECT
        || !http_body::Body::is_end_stream(req.body())
        || req.headers().contains_key(header::UPGRADE))
}

impl Inner {
    /// Pools `conn` again, and starts the idle sweeper when none runs (on
    /// this thread's runtime; outside one, checkouts and sweeps still catch
    /// closed connections).
    pub(super) fn put_back_own(self: &Arc<Self>, name: &Arc<str>, conn: Conn) {
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        let idle = h1::Idle {
            conn,
            used: Instant::now(),
        };
        pools.pool_for(name).own.push(idle);
        if !pools.sweeping {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                pools.sweeping = true;
                runtime.spawn(sweep_idle(Arc::downgrade(self)));
            }
        }
    }
}

/// How often idle own connections are checked for a close by their server.
const IDLE_CHECK: Duration = Duration::from_millis(100);

/// Closes idle own connections whose server closed them (or that expired)
/// every [`IDLE_CHECK`], so they do not sit in CLOSE_WAIT holding a
/// descriptor until their server's next request (hyper's client noticed at
/// once: a task per connection watched it). A check costs no system call
/// for a socket that has not become readable. Ends when the pool has no
/// idle own connection left, or the client is gone (a reload replaced it).
async fn sweep_idle(inner: Weak<Inner>) {
    loop {
        tokio::time::sleep(IDLE_CHECK).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let now = Instant::now();
        let mut pools = inner.pools.lock().unwrap_or_else(|e| e.into_inner());
        let mut left = 0;
        for pool in pools.by_server.values_mut() {
            pool.own.retain(|i| !spent(i, now));
            left += pool.own.len();
        }
        if left == 0 {
            pools.sweeping = false;
            return;
        }
    }
}

/// Whether an idle own connection must not be used again.
pub(super) fn spent(idle: &h1::Idle, now: Instant) -> bool {
    now.duration_since(idle.used) >= POOL_IDLE_TIMEOUT || idle.conn.is_dead()
}

impl UpstreamClient {
    /// [`UpstreamClient::request`] on the own path. The request has no
    /// body, so it is its own copy: handed back when it never left (no
    /// connection), or when it is idempotent.
    pub(super) async fn request_own(
        &self,
        req: Request<SendBody>,
        to: To,
    ) -> Result<(Response<UpBody>, Lease), SendError> {
        let resendable = idempotent(req.method());
        match tokio::time::timeout(to.timeout, self.send_own(&req, to.addr, resendable, to.pass)).await {
            Ok(Ok(resp)) => Ok((resp, Lease(None))),
            Ok(Err(kind)) => {
                let back = resendable || matches!(kind, Failure::Connect(_));
                Err(failed(kind, back.then_some(req)))
            }
            Err(_) => Err(failed(Failure::Timeout, resendable.then_some(req))),
        }
    }

    /// Sends `req` to `addr`: on a pooled connection, again on the next (or
    /// a new one) after a pooled connection fails before any response byte
    /// when `resendable`, up to [`RESENDS`] times. The response's header
    /// lines pass through when `pass` (see `h1::lines`).
    async fn send_own(
        &self,
        req: &Request<SendBody>,
        addr: SocketAddr,
        resendable: bool,
        pass: bool,
    ) -> Result<Response<UpBody>, Failure> {
        let key = req.uri().authority().map_or("", |a| a.as_str());
        let mut resends = 0;
        loop {
            let (name, pooled) = self.checkout_own(key);
            let (mut conn, reused) = match pooled {
                Some(conn) => (conn, true),
                None => match Conn::connect(addr, self.inner.connect_timeout).await {
                    Ok(conn) => (conn, false),
                    Err(e) => return Err(Failure::Connect(Box::new(e))),
                },
            };
            match conn.exchange(req, pass).await {
                Ok(head) => {
                    let body = h1::body::Body::new(conn, head.framing, head.reuse, (self.inner.clone(), name))
                        .with_lines(head.lines);
                    let mut resp = Response::new(UpBody::Own(body));
                    *resp.status_mut() = head.status;
                    *resp.version_mut() = head.version;
                    *resp.headers_mut() = head.headers;
                    return Ok(resp);
                }
                // the server closed a pooled connection as the request went out
                Err(e) if reused && e.nothing_back && resendable && resends < RESENDS => resends += 1,
                Err(e) => return Err(Failure::Request(Box::new(e.error))),
            }
        }
    }

    /// The pool's shared name for `key`, and its most recently returned own
    /// connection still usable (spent ones on top are dropped; the sweep
    /// catches the rest).
    fn checkout_own(&self, key: &str) -> (Arc<str>, Option<Conn>) {
        let now = Instant::now();
        let mut pools = self.inner.pools.lock().unwrap_or_else(|e| e.into_inner());
        let Some(pool) = pools.find(key, now) else {
            return (Arc::from(key), None);
        };
        while let Some(idle) = pool.own.pop() {
            if !spent(&idle, now) {
                return (pool.name.clone(), Some(idle.conn));
            }
        }
        (pool.name.clone(), None)
    }
}
