//! Listeners, the accept loop and graceful shutdown.
//!
//! Each listener accepts HTTP/1.1 and HTTP/2 with prior knowledge (h2c) on
//! the same port. On shutdown the listeners stop accepting, every connection
//! is told to finish (HTTP/1 answers with `Connection: close`, HTTP/2 sends
//! GOAWAY, idle ones close) and in-flight requests get up to
//! `shutdown_timeout` to complete.

use crate::config::Config;
use crate::proxy::ProxyService;
use crate::state::Snapshot;
use arc_swap::ArcSwap;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Back-off after an accept error such as running out of file descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// Bound listeners and the live snapshot, ready to serve.
pub struct Server {
    listeners: Vec<TcpListener>,
    state: Arc<ArcSwap<Snapshot>>,
    shutdown_timeout: Duration,
}

impl Server {
    /// Binds every listener of `config` (port 0 picks a free port) and builds the first snapshot.
    pub async fn bind(config: &Config) -> Result<Self, ServerError> {
        let mut listeners = Vec::new();
        for l in &config.listeners {
            let listener = TcpListener::bind(l.address).await.map_err(|source| ServerError::Bind {
                address: l.address,
                source,
            })?;
            listeners.push(listener);
        }
        Ok(Self {
            listeners,
            state: Arc::new(ArcSwap::from_pointee(Snapshot::build(config))),
            shutdown_timeout: config.shutdown_timeout,
        })
    }

    /// The addresses actually bound, in config order.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners.iter().filter_map(|l| l.local_addr().ok()).collect()
    }

    /// Serves until `shutdown` completes, then drains. Returns true when every
    /// connection finished within `shutdown_timeout`.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> bool {
        let graceful = Arc::new(GracefulShutdown::new());
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut accepting = Vec::new();
        for listener in self.listeners {
            if let Ok(addr) = listener.local_addr() {
                tracing::info!("listening on {addr}");
            }
            let state = self.state.clone();
            accepting.push(tokio::spawn(accept_loop(
                listener,
                state,
                graceful.clone(),
                stop_rx.clone(),
            )));
        }
        shutdown.await;
        tracing::info!(
            "shutting down: draining connections for up to {:?}",
            self.shutdown_timeout
        );
        let _ = stop_tx.send(true);
        for task in accepting {
            let _ = task.await;
        }
        let Ok(graceful) = Arc::try_unwrap(graceful) else {
            return false;
        };
        match tokio::time::timeout(self.shutdown_timeout, graceful.shutdown()).await {
            Ok(()) => {
                tracing::info!("all connections drained");
                true
            }
            Err(_) => {
                tracing::warn!("shutdown_timeout reached with connections still open");
                false
            }
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<ArcSwap<Snapshot>>,
    graceful: Arc<GracefulShutdown>,
    mut stop: watch::Receiver<bool>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).keep_alive(true);
    builder.http2().timer(TokioTimer::new());
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|s| *s) => return,
        };
        match accepted {
            Ok((stream, peer)) => serve_connection(stream, peer, &builder, &state, &graceful),
            Err(e) => {
                tracing::warn!("accept failed: {e}; backing off {ACCEPT_BACKOFF:?}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    builder: &auto::Builder<TokioExecutor>,
    state: &Arc<ArcSwap<Snapshot>>,
    graceful: &GracefulShutdown,
) {
    let _ = stream.set_nodelay(true);
    let service = TowerToHyperService::new(ProxyService::new(state.clone(), peer));
    let conn = builder.serve_connection(TokioIo::new(stream), service).into_owned();
    let conn = graceful.watch(conn);
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("connection from {peer}: {e}");
        }
    });
}
