//! One listener's accept loop: HTTP/1.1 and h2c on the same port, every
//! connection watched for graceful shutdown.

use super::drain::Watcher;
use super::tarpit::Tarpit;
use super::{proxy_header, Shared};
use crate::config::Limits;
use crate::upstream::now_ns;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};

/// Back-off after an accept error such as running out of file descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// A listener being served: stop it by sending `true`.
pub struct Running {
    pub bound: SocketAddr,
    pub stop: watch::Sender<bool>,
    pub task: tokio::task::JoinHandle<()>,
}

/// Starts accepting on `listener` until told to stop.
/// `configured` (the address in the config) names the listener in metrics.
pub fn start(listener: TcpListener, configured: SocketAddr, shared: Arc<Shared>) -> Running {
    let bound = listener.local_addr().expect("a bound listener has an address");
    let (stop, stopped) = watch::channel(false);
    tracing::info!("listening on {bound}");
    let task = tokio::spawn(accept_loop(listener, configured, shared, stopped));
    Running { bound, stop, task }
}

async fn accept_loop(
    listener: TcpListener,
    configured: SocketAddr,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    // shared by the listener's connections (one allocation, not one each)
    let label: Arc<str> = configured.to_string().into();
    let open = Arc::new(AtomicUsize::new(0));
    let freed = Arc::new(Notify::new());
    let mut tarpit = Tarpit::default();
    loop {
        // max_connections: beyond it, new connections wait in the kernel's backlog
        loop {
            let notified = freed.notified();
            if open.load(Ordering::SeqCst) < shared.state.load().config.limits.max_connections {
                break;
            }
            tokio::select! {
                _ = notified => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = tarpit.due() => {
                tarpit.release(now_ns());
                continue;
            }
            _ = stop.wait_for(|s| *s) => break,
        };
        match accepted {
            Ok((stream, peer)) => match shared.refused_until(peer.ip()) {
                // held unread on this thread: see `ban` and `tarpit`
                Some(until) => tarpit.hold(stream, until),
                None => {
                    open.fetch_add(1, Ordering::SeqCst);
                    let slot = Slot {
                        open: open.clone(),
                        freed: freed.clone(),
                    };
                    serve_connection(stream, peer, configured, &label, &shared, slot);
                }
            },
            Err(e) => {
                tracing::warn!("accept failed: {e}; backing off {ACCEPT_BACKOFF:?}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
    if let Ok(addr) = listener.local_addr() {
        tracing::info!("stopped accepting on {addr}");
    }
}

/// A connection's place under `max_connections`, given back on drop.
struct Slot {
    open: Arc<AtomicUsize>,
    freed: Arc<Notify>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
        self.freed.notify_one();
    }
}

fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    configured: SocketAddr,
    label: &Arc<str>,
    shared: &Arc<Shared>,
    slot: Slot,
) {
    let _ = stream.set_nodelay(true);
    let (shared, label) = (shared.clone(), label.clone());
    shared.clone().workers.spawn(stream, move |mut stream| async move {
        let (limits, tls, proxy_protocol) = {
            let snapshot = shared.state.load();
            let tls = snapshot.tls.get(&*label).map(|t| t.acceptor.clone());
            let listener = snapshot.config.listeners.iter().find(|l| l.address == configured);
            (
                snapshot.config.limits.clone(),
                tls,
                listener.is_some_and(|l| l.proxy_protocol),
            )
        };
        let gauge = shared.metrics.downstream_connections.with_label_values(&[&*label]);
        gauge.inc();
        let mut conn = Conn {
            peer,
            gauge,
            _slot: slot,
        };
        let peer = if proxy_protocol {
            // boxed: only these listeners' connections carry the header read's state
            let header = Box::pin(proxy_header::read(&mut stream, peer));
            match tokio::time::timeout(limits.header_read_timeout, header).await {
                // behind a PROXY header the ban is the named source's
                Ok(Ok(source)) if shared.refused_until(source.ip()).is_some() => Err(None),
                Ok(Ok(source)) => Ok(source),
                Ok(Err(why)) => {
                    tracing::debug!("connection from {peer} closed: {why}");
                    Err(Some("proxy_protocol"))
                }
                Err(_) => {
                    tracing::debug!(
                        "connection from {peer}: no PROXY header within {:?}",
                        limits.header_read_timeout
                    );
                    Err(Some("proxy_protocol"))
                }
            }
        } else {
            Ok(peer)
        };
        // Err: closed, counted under this reason (a ban counts itself)
        let Ok(peer) = peer else {
            if let Err(Some(reason)) = peer {
                shared.metrics.requests_rejected.with_label_values(&[reason]).inc();
            }
            return;
        };
        conn.peer = peer;
        match tls {
            None => serve_plain(stream, conn, None, shared, &limits).await,
            // boxed: a TLS connection's larger state is not carried by every
            // plain connection's task (idle memory per connection)
            Some(acceptor) => Box::pin(serve_tls(acceptor, stream, peer, &shared, &limits, &label)).await,
        }
    });
}

/// A served connection's accounting, given back when it drops (its end):
/// the listener's gauge and its `max_connections` place. Parked, it waits
/// in the lot with the socket.
pub(super) struct Conn {
    peer: SocketAddr,
    gauge: prometheus::IntGauge,
    _slot: Slot,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// What the parking lot holds beside a parked socket.
pub(super) type Parked = (Conn, Watcher);

/// Serves a plain connection for a busy spell, and parks it if it goes quiet.
async fn serve_plain(stream: TcpStream, conn: Conn, resumed: Option<Watcher>, shared: Arc<Shared>, limits: &Limits) {
    if let Some(idle) = super::serve::plain(stream, conn.peer, &shared, limits, resumed).await {
        shared.lot.park(idle.socket, idle.until_ns, (conn, idle.drain));
    }
}

/// Serves a parked connection again (on the lot's thread: bytes came).
pub(super) fn resume(shared: Arc<Shared>, socket: std::net::TcpStream, (conn, drain): Parked) {
    shared.clone().workers.spawn_std(socket, move |stream| async move {
        let limits = shared.state.load().config.limits.clone();
        serve_plain(stream, conn, Some(drain), shared, &limits).await;
    });
}

/// Completes the TLS handshake (cut at `header_read_timeout`, counted either
/// way), then serves the decrypted connection.
async fn serve_tls(
    acceptor: tokio_rustls::TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Arc<Shared>,
    limits: &Limits,
    label: &str,
) {
    // a stalled handshake is cut like a trickled head
    let shaken = tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream)).await;
    let result = if matches!(shaken, Ok(Ok(_))) {
        "success"
    } else {
        "failure"
    };
    shared.metrics.tls_handshakes.with_label_values(&[label, result]).inc();
    match shaken {
        Ok(Ok(tls)) => {
            let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
            super::serve::tls(tls, peer, shared, limits, h2).await;
        }
        Ok(Err(e)) => tracing::debug!("TLS handshake from {peer} failed: {e}"),
        Err(_) => tracing::debug!(
            "TLS handshake from {peer} not done within {:?}",
            limits.header_read_timeout
        ),
    }
}
