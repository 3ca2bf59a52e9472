//! Serving one accepted connection until it ends, its head or idle timer
//! expires, or shutdown.
//!
//! A plain connection's first bytes are peeked to pick the protocol. HTTP/1
//! is served by fulcrum's own HTTP/1 server (`h1`) while its requests are
//! bodiless GETs, and by hyper's HTTP/1 connection from the first request
//! that is not (with the bytes `h1` read, `prefixed`). Either way it is
//! *parked* between requests: after [`PARK_AFTER`] with nothing in flight,
//! `h1` simply returns, or the socket shows hyper a clean end of stream (see
//! `activity::Noted`), hyper flushes and finishes; fulcrum takes the socket
//! back and hands it, out of tokio, to the parking lot (`lot`); the task
//! ends. The next bytes start a fresh spell on a worker. An idle keep-alive
//! connection then costs its socket and a slab entry instead of read and
//! write buffers (16 KiB and more) and its task. h2c connections are served
//! by hyper-util's auto connection, and so are TLS connections from their
//! first request `h1` does not take (at once when ALPN chose HTTP/2); they
//! are never parked. After the same quiet time `h1` drops its buffers, and
//! hyper's connection is polled once more, an HTTP/2 one giving its buffers
//! back then (the patched `h2` in `vendor/h2`).

use super::drain::Watcher;
use super::h1::End;
use super::prefixed::Prefixed;
use super::Shared;
use crate::activity::{Activity, Alarm, Expired, Noted};
use crate::config::Limits;
use crate::h2_guard::{FrameGuard, PREFACE};
use crate::proxy::ProxyService;
use crate::watchdog::Watchdog;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// Quiet time after a response before an HTTP/1 connection gives back
/// hyper's buffers. Back-to-back keep-alive requests never wait this long,
/// so they never pay the park (the hand-off to the lot and back, a task
/// and a new hyper connection).
pub const PARK_AFTER: Duration = Duration::from_millis(200);

/// hyper's own limit on header lines; setting it explicitly takes a slower
/// (heap) path in hyper's parser, so it is only set when it differs.
const HYPER_MAX_HEADERS: usize = 100;

/// The connection's place in the drain, or None when shutting down (the
/// connection is then dropped unserved).
fn watcher(shared: &Shared) -> Option<Watcher> {
    shared
        .graceful
        .lock()
        .expect("graceful lock")
        .as_ref()
        .map(|d| d.watcher())
}

/// An HTTP/1 connection between busy spells, for the parking lot: its
/// socket out of tokio, when its idle time is up, its place in the drain.
pub struct Idle {
    pub socket: std::net::TcpStream,
    pub until_ns: u64,
    pub drain: Watcher,
}

/// Serves a plain TCP connection, HTTP/1 or h2c, for one busy spell: the
/// HTTP/1 connection that goes quiet comes back to be parked; `resumed`
/// (its drain watcher) when it comes from the lot, so never h2c.
pub async fn plain(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Arc<Shared>,
    limits: &Limits,
    resumed: Option<Watcher>,
) -> Option<Idle> {
    let from_lot = resumed.is_some();
    if from_lot {
        tracing::trace!("connection from {peer} unparked");
    }
    let mut drain = match resumed {
        Some(watcher) => watcher,
        None => watcher(shared)?,
    };
    let activity = Activity::new();
    let dog = Watchdog::new(
        activity.clone(),
        limits.header_read_timeout,
        limits.idle_timeout,
        Some(PARK_AFTER),
    );
    tokio::pin!(dog);
    let mut first = [0u8; PREFACE.len()];
    // nothing is due but the head deadline until bytes come
    let peeked = tokio::select! {
        peeked = stream.peek(&mut first) => peeked,
        Alarm::Expired(why) = &mut dog => return reported(why, peer, shared, limits),
        () = drain.told() => return None,
    };
    match peeked {
        Ok(n) if n > 0 && (from_lot || !FrameGuard::may_be_h2(&first[..n])) => {}
        Ok(0) | Err(_) => return None,
        // the HTTP/2 preface, or the start of it: hyper-util's sniff decides
        Ok(_) => {
            dog.as_mut().quiet_only();
            let io = Prefixed::new(bytes::Bytes::new(), Noted::new(stream, activity.clone()));
            Box::pin(auto_conn(io, peer, shared, limits, false, activity, dog, drain)).await;
            return None;
        }
    }
    let mut noted = Noted::new(stream, activity.clone());
    let prefix = match own_spell(&mut noted, peer, shared, limits, false, dog.as_mut(), &mut drain).await {
        End::Closed => return None,
        End::Expired(why) => return reported(why, peer, shared, limits),
        End::Park => return parked(noted.into_inner(), peer, &activity, limits, drain),
        End::Handoff(read) => read.freeze(),
    };
    let io = TokioIo::new(Prefixed::new(prefix, noted));
    // boxed: the spell's future stays small to spawn
    let mut conn = Box::new(
        http1_builder(limits)
            .serve_connection(io, TowerToHyperService::new(service(shared, peer, &activity, false)))
            .with_upgrades(),
    );
    if drain.draining() {
        Pin::new(&mut *conn).graceful_shutdown();
    }
    let served = loop {
        tokio::select! {
            biased;
            served = &mut *conn => break served,
            alarm = &mut dog => match alarm {
                Alarm::Park => activity.park(),
                Alarm::Expired(why) => return reported(why, peer, shared, limits),
            },
            () = drain.told() => Pin::new(&mut *conn).graceful_shutdown(),
        }
    };
    if let Err(e) = served {
        failed(&e, peer, shared);
        return None;
    }
    // the rest of `parts` (hyper's read buffer, the service) drops with the
    // arm; None: upgraded, the tunnel has the socket
    let (io, unread) = conn.into_parts().map(|parts| (parts.io, !parts.read_buf.is_empty()))?;
    let (noted, unread_prefix) = io.into_inner().into_inner();
    if !noted.parked() || unread || unread_prefix || drain.draining() {
        return None;
    }
    parked(noted.into_inner(), peer, &activity, limits, drain)
}

/// The connection, parked: its socket out of tokio, for the lot.
fn parked(stream: TcpStream, peer: SocketAddr, activity: &Activity, limits: &Limits, drain: Watcher) -> Option<Idle> {
    super::trim::freed();
    let until_ns = activity.idle_since_ns() + limits.idle_timeout.as_nanos() as u64;
    let socket = stream.into_std().ok()?;
    tracing::trace!("connection from {peer} parked");
    Some(Idle {
        socket,
        until_ns,
        drain,
    })
}

/// Serves a decrypted TLS connection: fulcrum's own HTTP/1 server first
/// unless ALPN chose HTTP/2, then hyper-util's auto connection (HTTP/1.1 or
/// HTTP/2 by its bytes) from whatever it handed over.
pub async fn tls<I>(io: I, peer: SocketAddr, shared: &Arc<Shared>, limits: &Limits, h2: bool)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let Some(mut drain) = watcher(shared) else {
        return;
    };
    let activity = Activity::new();
    let dog = Watchdog::new(
        activity.clone(),
        limits.header_read_timeout,
        limits.idle_timeout,
        Some(PARK_AFTER),
    );
    tokio::pin!(dog);
    dog.as_mut().quiet_only();
    let mut noted = Noted::new(io, activity.clone());
    let mut prefix = bytes::Bytes::new();
    if !h2 {
        prefix = match own_spell(&mut noted, peer, shared, limits, true, dog.as_mut(), &mut drain).await {
            End::Closed | End::Park => return,
            End::Expired(why) => return report(why, peer, shared, limits),
            End::Handoff(read) => read.freeze(),
        };
    }
    let io = Prefixed::new(prefix, noted);
    auto_conn(io, peer, shared, limits, true, activity, dog, drain).await;
}

/// fulcrum's own HTTP/1 server (`h1`) for the spell's first requests, boxed
/// as hyper's connection is; a TLS connection is never parked.
async fn own_spell<I>(
    noted: &mut Noted<I>,
    peer: SocketAddr,
    shared: &Arc<Shared>,
    limits: &Limits,
    tls: bool,
    dog: Pin<&mut Watchdog>,
    drain: &mut Watcher,
) -> End
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut service = service(shared, peer, noted.activity(), tls);
    Box::pin(super::h1::serve(noted, &mut service, limits, dog, drain, !tls)).await
}

/// The proxy service of one connection.
fn service(shared: &Shared, peer: SocketAddr, activity: &Arc<Activity>, tls: bool) -> ProxyService {
    let service = ProxyService::new(shared.state.clone(), shared.metrics.clone(), peer).with_activity(activity.clone());
    if tls {
        service.over_tls()
    } else {
        service
    }
}

/// hyper-util's auto connection (HTTP/1 and HTTP/2 by the first bytes).
#[allow(clippy::too_many_arguments)] // one connection's parts, passed once
async fn auto_conn<I>(
    io: Prefixed<Noted<I>>,
    peer: SocketAddr,
    shared: &Arc<Shared>,
    limits: &Limits,
    tls: bool,
    activity: Arc<Activity>,
    mut dog: Pin<&mut Watchdog>,
    mut drain: Watcher,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service(shared, peer, &activity, tls);
    let builder = auto_builder(limits);
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(service));
    tokio::pin!(conn);
    if drain.draining() {
        conn.as_mut().graceful_shutdown();
    }
    let served = loop {
        tokio::select! {
            biased;
            served = conn.as_mut() => break served,
            alarm = &mut dog => match alarm {
                // quiet: polled again at the loop's top, an HTTP/2
                // connection frees its slabs (vendor/h2), for the trimmer
                // to return; an HTTP/1 one (TLS) frees nothing
                Alarm::Park => {
                    if activity.http2() {
                        super::trim::freed();
                    }
                }
                Alarm::Expired(why) => return report(why, peer, shared, limits),
            },
            () = drain.told() => conn.as_mut().graceful_shutdown(),
        }
    };
    if let Err(e) = served {
        failed(e.as_ref(), peer, shared);
    }
}

/// The HTTP/1 settings of both builders: hyper's own HTTP/1 builder and the
/// HTTP/1 half of hyper-util's auto builder have the same methods but no
/// common trait.
macro_rules! http1_settings {
    ($builder:expr, $limits:expr) => {{
        let builder = &mut $builder;
        builder
            .timer(TokioTimer::new())
            // heads are timed by `activity`'s watchdog against
            // limits.header_read_timeout; hyper's own 30 s default would cut
            // a longer configured limit short and costs a timer per request
            .header_read_timeout(None)
            .keep_alive(true)
            .max_buf_size($limits.max_header_bytes);
        if $limits.max_headers != HYPER_MAX_HEADERS {
            builder.max_headers($limits.max_headers);
        }
    }};
}

fn http1_builder(limits: &Limits) -> http1::Builder {
    let mut builder = http1::Builder::new();
    http1_settings!(builder, limits);
    // with the read buffer's cap alone, the soak's 70 KB head written at once
    // was neither answered nor closed (park::the_soaks_oversized_head_...);
    // hyper-util's auto builder has no such setting and answers it
    builder.max_header_size(limits.max_header_bytes);
    builder
}

fn auto_builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    http1_settings!(builder.http1(), limits);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
    builder
}

/// Logs (and counts) a connection the watchdog ended.
fn report(why: Expired, peer: SocketAddr, shared: &Shared, limits: &Limits) {
    match why {
        Expired::Head => {
            tracing::debug!(
                "connection from {peer}: request head not read within {:?}",
                limits.header_read_timeout
            );
            shared
                .metrics
                .requests_rejected
                .with_label_values(&["header_timeout"])
                .inc();
        }
        Expired::Idle => tracing::debug!("connection from {peer}: idle for {:?}, closed", limits.idle_timeout),
    }
}

/// [`report`], for a spell that leaves nothing to park.
fn reported(why: Expired, peer: SocketAddr, shared: &Shared, limits: &Limits) -> Option<Idle> {
    report(why, peer, shared, limits);
    None
}

/// Logs a connection that ended in an error, counting requests hyper refused
/// and banning a flood's source.
fn failed(e: &(dyn std::error::Error + 'static), peer: SocketAddr, shared: &Shared) {
    tracing::debug!("connection from {peer}: {e}");
    let reason = rejected(e);
    if let Some(reason) = reason {
        shared.metrics.requests_rejected.with_label_values(&[reason]).inc();
    }
    shared.ban_if_flood(peer.ip(), e, reason == Some("h2_flood"));
}

/// The `fulcrum_requests_rejected_total` reason for a connection error, if it
/// was a request hyper refused (header timeouts are fulcrum's own, see
/// `activity`).
fn rejected(e: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    if flooded(e) {
        return Some("h2_flood");
    }
    let e = e.downcast_ref::<hyper::Error>()?;
    if e.is_parse_too_large() {
        Some("header_too_large")
    } else if e.is_parse() || e.is_parse_status() {
        Some("bad_request")
    } else {
        None
    }
}

/// Whether the connection ended because `h2_guard` cut a flood. The `h2`
/// crate rebuilds the read's error from its kind and text, so the text is
/// what is compared.
fn flooded(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(err) = cause {
        let io = err.downcast_ref::<std::io::Error>();
        if io
            .and_then(|io| io.get_ref())
            .is_some_and(|inner| inner.to_string() == crate::h2_guard::Flood.to_string())
        {
            return true;
        }
        cause = err.source();
    }
    false
}
