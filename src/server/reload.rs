//! Reload (file, SIGHUP, admin) and the final drain.

use super::{bind, listener, Handle, ServerError, Shared};
use crate::config::{self, Config, ConfigError};
use crate::state::Snapshot;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// How often the config file is checked for changes.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(250);

/// Why a reload changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Bind(#[from] ServerError),
    #[error("no config file to reload (started without one)")]
    NoFile,
    #[error("shutting down: reload ignored")]
    ShuttingDown,
}

/// The digest the file watch compares: the config file's bytes and those
/// of every TLS file it names (`files`, read now or at load).
pub fn digest<'a>(bytes: &[u8], files: impl IntoIterator<Item = &'a [u8]>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(Sha256::digest(bytes));
    for f in files {
        hasher.update(Sha256::digest(f));
    }
    hasher.finalize().into()
}

/// The digest of the config file as loaded into `config`.
pub fn loaded_digest(bytes: &[u8], config: &config::Config) -> [u8; 32] {
    digest(bytes, config.watched_files().into_iter().map(|f| f.pem.as_slice()))
}

/// Reads, validates and applies the config file; logs and counts the outcome.
pub async fn reload_file(shared: &Arc<Shared>) -> Result<u64, ReloadError> {
    let notify = !shared.shutting_down.load(Ordering::SeqCst);
    if notify {
        super::notify::reloading();
    }
    let result = read_and_apply(shared).await;
    if notify {
        super::notify::ready();
    }
    match &result {
        Ok(version) => tracing::info!("config reloaded: version {version}"),
        Err(ReloadError::ShuttingDown) => tracing::info!("reload ignored: shutting down"),
        Err(e) => tracing::error!("reload failed, the old config keeps serving: {e}"),
    }
    if !matches!(result, Err(ReloadError::ShuttingDown)) {
        shared.metrics.reloaded(result.is_ok());
        shared
            .reloads
            .record(result.as_ref().map(|v| *v).map_err(|e| e.to_string()));
    }
    result
}

async fn read_and_apply(shared: &Arc<Shared>) -> Result<u64, ReloadError> {
    if shared.shutting_down.load(Ordering::SeqCst) {
        return Err(ReloadError::ShuttingDown);
    }
    let path = shared.config_path.as_ref().ok_or(ReloadError::NoFile)?;
    let bytes = tokio::fs::read(path).await.map_err(|error| ConfigError::Io {
        path: path.display().to_string(),
        error,
    })?;
    let text = String::from_utf8(bytes.clone()).map_err(|_| {
        ConfigError::Invalid(vec![config::Problem {
            path: String::new(),
            line: None,
            message: "not UTF-8".into(),
        }])
    })?;
    let parsed = config::parse_in(&text, path.parent().unwrap_or(std::path::Path::new(".")));
    // a bad config is not retried by the watch until something changes
    let seen = match &parsed {
        Ok(config) => loaded_digest(&bytes, config),
        Err(_) => watched_now(&bytes, &shared.state.load_full().config).await,
    };
    *shared.loaded_digest.lock().expect("digest lock") = Some(seen);
    let version = apply(shared, parsed?).await?;
    *shared.source.lock().expect("source lock") = Some(text);
    Ok(version)
}

/// Applies a valid config: binds added listeners first (a failure changes
/// nothing), swaps in the next snapshot, then starts the added listeners and
/// stops the removed ones. Serialised with every other reload.
pub async fn apply(shared: &Arc<Shared>, config: Config) -> Result<u64, ReloadError> {
    let mut running = shared.listeners.lock().await;
    if shared.shutting_down.load(Ordering::SeqCst) {
        return Err(ReloadError::ShuttingDown);
    }
    let mut added = Vec::new();
    for l in &config.listeners {
        if !running.contains_key(&l.address) {
            added.push((l.address, bind(l.address).await?));
        }
    }
    let old = shared.state.load_full();
    if config.workers != old.declared.workers {
        tracing::warn!("workers changes take effect on restart; the worker threads stay as they are");
    }
    if config.admin != old.config.admin {
        tracing::warn!("admin.address changes take effect on restart; the admin listener stays where it is");
    }
    let version = old.version + 1;
    let plan = crate::plan::changes(&old.declared, &config);
    let next =
        Snapshot::build(&config, version, Some(&old), old.resolved.clone(), old.workers).map_err(ServerError::Build)?;
    shared.state.store(Arc::new(next));
    shared.start_probes();
    for (address, l) in added {
        running.insert(address, listener::start(l, address, shared.clone()));
    }
    let removed: Vec<_> = running
        .keys()
        .filter(|a| !config.listeners.iter().any(|l| l.address == **a))
        .copied()
        .collect();
    for address in removed {
        if let Some(r) = running.remove(&address) {
            let _ = r.stop.send(true);
        }
    }
    log_plan(version, &plan);
    Ok(version)
}

/// Most changes a reload logs one by one; the rest are counted.
const LOGGED_CHANGES: usize = 20;

/// The reload's changes in the log, one line each (capped).
fn log_plan(version: u64, plan: &[String]) {
    tracing::info!("config version {version}: {} change(s)", plan.len());
    for line in plan.iter().take(LOGGED_CHANGES) {
        tracing::info!("  {line}");
    }
    if plan.len() > LOGGED_CHANGES {
        tracing::info!(
            "  ... and {} more (fulcrum check --diff shows all)",
            plan.len() - LOGGED_CHANGES
        );
    }
}

/// Polls the config file and reloads when its content changes and then holds
/// still for one interval (so bursts of writes make one reload). Reading the
/// path each time follows in-place edits, renames over the file and symlink
/// swaps (Kubernetes ConfigMaps) alike; a briefly missing file is waited out.
pub async fn watch_file(handle: Handle, path: PathBuf) {
    let mut previous: Option<[u8; 32]> = None;
    loop {
        tokio::time::sleep(WATCH_INTERVAL).await;
        let Ok(bytes) = tokio::fs::read(&path).await else {
            previous = None;
            continue;
        };
        let now = watched_now(&bytes, &handle.shared.state.load_full().config).await;
        let loaded = *handle.shared.loaded_digest.lock().expect("digest lock");
        if Some(now) != loaded && previous == Some(now) {
            tracing::info!("{} changed: reloading", path.display());
            let _ = handle.reload().await;
        }
        previous = Some(now);
    }
}

/// The digest of the config file's `bytes` and the TLS files the serving
/// config names, read from disk now (a missing file hashes as empty).
async fn watched_now(bytes: &[u8], serving: &config::Config) -> [u8; 32] {
    let mut files = Vec::new();
    for f in serving.watched_files() {
        files.push(tokio::fs::read(&f.path).await.unwrap_or_default());
    }
    digest(bytes, files.iter().map(Vec::as_slice))
}

/// Stops every listener and drains connections up to `shutdown_timeout`.
pub async fn drain(shared: &Arc<Shared>) -> bool {
    let timeout = shared.state.load().config.shutdown_timeout;
    tracing::info!("shutting down: draining connections for up to {timeout:?}");
    let mut running = shared.listeners.lock().await;
    shared.shutting_down.store(true, Ordering::SeqCst);
    shared.probes.lock().expect("probes lock").take();
    for (_, r) in running.drain() {
        let _ = r.stop.send(true);
        let _ = r.task.await;
    }
    drop(running);
    // parked connections have nothing in flight: closed now
    shared.lot.close();
    let Some(graceful) = shared.graceful.lock().expect("graceful lock").take() else {
        return true;
    };
    match tokio::time::timeout(timeout, graceful.shutdown()).await {
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
