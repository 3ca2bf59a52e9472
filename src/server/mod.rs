//! Listeners, reload and graceful shutdown.
//!
//! [`Server::bind`] binds every listener and builds the first snapshot;
//! [`Server::serve`] runs until shutdown. A [`Handle`] reloads while serving:
//! the new config is validated by the same code as `fulcrum check`, the next
//! snapshot is built off the request path and stored with one swap; listeners
//! that stay are never touched, added ones are bound first (a bind failure
//! changes nothing), removed ones stop accepting and their connections drain.
//! On shutdown the listeners stop, every connection is told to finish (HTTP/1
//! answers with `Connection: close`, HTTP/2 sends GOAWAY, idle ones close)
//! and in-flight requests get up to `shutdown_timeout`.

mod ban;
mod discover;
mod drain;
mod h1;
pub mod history;
mod listener;
mod lot;
mod notify;
mod prefixed;
pub mod proxy_header;
mod reload;
mod serve;
mod tarpit;
pub(crate) mod trim;

pub use reload::ReloadError;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::state::Snapshot;
use crate::workers::Workers;
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Build(std::io::Error),
}

/// Everything the listeners, reload and admin share.
pub struct Shared {
    pub state: Arc<ArcSwap<Snapshot>>,
    pub metrics: Arc<Metrics>,
    /// Health probes of the serving snapshot; replaced on reload.
    probes: Mutex<Option<crate::health::Probes>>,
    config_path: Option<PathBuf>,
    /// Running listeners by configured address; the lock also serialises reloads.
    listeners: tokio::sync::Mutex<HashMap<SocketAddr, listener::Running>>,
    /// Taken at shutdown.
    graceful: Mutex<Option<drain::Drain>>,
    shutting_down: AtomicBool,
    /// SHA-256 of the config text last loaded from the file.
    loaded_digest: Mutex<Option<[u8; 32]>>,
    /// Where accepted connections are served; fixed at start.
    workers: Workers,
    /// The last reloads and their outcome.
    pub reloads: history::History,
    /// The text of the config file in force (for `GET /config`).
    source: Mutex<Option<String>>,
    /// Clients cut for an HTTP/2 flood, refused at accept for a while.
    bans: ban::Bans,
    /// Idle HTTP/1 connections between busy spells.
    lot: lot::Lot<listener::Parked>,
}

/// Bound listeners and the first snapshot, ready to serve.
pub struct Server {
    shared: Arc<Shared>,
    pending: Vec<(SocketAddr, TcpListener)>,
    admin: Option<TcpListener>,
}

/// Controls a running server: reload, addresses, version.
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

async fn bind(address: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| ServerError::Bind { address, source })
}

impl Server {
    /// Binds every listener of `config` (port 0 picks a free port) and builds
    /// the first snapshot. `config_path` is the file reloads read.
    pub async fn bind(config: &Config, config_path: Option<PathBuf>) -> Result<Self, ServerError> {
        let mut pending = Vec::new();
        for l in &config.listeners {
            pending.push((l.address, bind(l.address).await?));
        }
        let admin = match config.admin {
            Some(address) => Some(bind(address).await?),
            None => None,
        };
        let bytes = config_path.as_ref().and_then(|p| std::fs::read(p).ok());
        let digest = bytes.as_ref().map(|b| reload::loaded_digest(b, config));
        let source = bytes.and_then(|b| String::from_utf8(b).ok());
        let workers = Workers::start(crate::workers::count(config.workers)).map_err(ServerError::Build)?;
        let metrics = Metrics::with_shards(workers.pools());
        metrics.stamp_success();
        let resolved = discover::initial(config, &metrics).await;
        // the lot serves woken sockets through the Shared it is part of
        let home: Arc<std::sync::OnceLock<std::sync::Weak<Shared>>> = Arc::default();
        let theirs = home.clone();
        let lot = lot::Lot::start(Box::new(move |socket, parked| {
            if let Some(shared) = theirs.get().and_then(std::sync::Weak::upgrade) {
                listener::resume(shared, socket, parked);
            }
        }))
        .map_err(ServerError::Build)?;
        let shared = Arc::new(Shared {
            state: Arc::new(ArcSwap::from_pointee(
                Snapshot::build(config, 1, None, resolved, workers.pools()).map_err(ServerError::Build)?,
            )),
            metrics: Arc::new(metrics),
            probes: Mutex::new(None),
            config_path,
            listeners: tokio::sync::Mutex::new(HashMap::new()),
            graceful: Mutex::new(Some(drain::Drain::default())),
            shutting_down: AtomicBool::new(false),
            loaded_digest: Mutex::new(digest),
            workers,
            reloads: history::History::default(),
            source: Mutex::new(source),
            bans: ban::Bans::default(),
            lot,
        });
        let _ = home.set(Arc::downgrade(&shared));
        Ok(Self { shared, pending, admin })
    }

    /// The addresses actually bound, in config order.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.pending.iter().filter_map(|(_, l)| l.local_addr().ok()).collect()
    }

    /// The admin listener's bound address, when configured.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }

    /// Serves until `shutdown` completes, then drains. Returns true when every
    /// connection finished within `shutdown_timeout`.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> bool {
        self.shared.start_probes();
        {
            let mut running = self.shared.listeners.lock().await;
            for (configured, l) in self.pending {
                running.insert(configured, listener::start(l, configured, self.shared.clone()));
            }
        }
        let handle = Handle {
            shared: self.shared.clone(),
        };
        let admin = self.admin.map(|l| tokio::spawn(crate::admin::serve(l, handle.clone())));
        let watcher = self
            .shared
            .config_path
            .clone()
            .map(|p| tokio::spawn(reload::watch_file(handle, p)));
        let discovery = tokio::spawn(discover::run(self.shared.clone()));
        let trimmer = trim::spawn();
        notify::ready();
        let watchdog = notify::spawn_watchdog();
        shutdown.await;
        notify::stopping();
        if let Some(w) = watcher {
            w.abort();
        }
        discovery.abort();
        trimmer.abort();
        let drained = reload::drain(&self.shared).await;
        if let Some(a) = admin {
            a.abort();
        }
        self.shared.workers.stop().await;
        if let Some(w) = watchdog {
            w.abort();
        }
        drained
    }
}

impl Shared {
    /// Starts the probes of the serving snapshot, stopping the previous ones.
    fn start_probes(&self) {
        let probes = crate::health::spawn_probes(&self.state.load(), &self.metrics);
        *self.probes.lock().expect("probes lock") = Some(probes);
    }
}

impl Handle {
    /// Bound listener addresses, in the current config's order.
    pub async fn local_addrs(&self) -> Vec<SocketAddr> {
        let running = self.shared.listeners.lock().await;
        let config = &self.shared.state.load().config;
        config
            .listeners
            .iter()
            .filter_map(|l| running.get(&l.address).map(|r| r.bound))
            .collect()
    }

    /// The version of the config serving now.
    pub fn version(&self) -> u64 {
        self.shared.state.load().version
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Reopens the access log file (after rotation).
    pub fn reopen_logs(&self) {
        if let Some(log) = &self.shared.state.load().access_log {
            log.reopen();
        }
    }

    /// The config in force with every default filled in (`GET /config`);
    /// None when it was not loaded from a file.
    pub fn effective(&self) -> Option<Result<String, String>> {
        let source = self.shared.source.lock().expect("source lock").clone()?;
        Some(crate::reference::effective(&source, &self.shared.state.load().declared))
    }

    /// Re-reads the config file and applies it; counted in the metrics.
    pub async fn reload(&self) -> Result<u64, ReloadError> {
        reload::reload_file(&self.shared).await
    }

    /// Applies an already validated config (not counted as a file reload).
    pub async fn apply(&self, config: Config) -> Result<u64, ReloadError> {
        reload::apply(&self.shared, config).await
    }
}
