//! One immutable snapshot of everything a request needs, behind one ArcSwap.

use crate::access_log::AccessLog;
use crate::config::Config;
use crate::discovery::{expand, Resolved};
use crate::proxy::client::{self, UpstreamClient};
use crate::route::Router;
use crate::tls::TlsListener;
use crate::upstream::Upstream;
use std::collections::HashMap;
use std::sync::Arc;

/// Routes, pools and their clients, built together from one config.
pub struct Snapshot {
    /// 1 for the config fulcrum started with, +1 per successful reload.
    pub version: u64,
    /// Process-unique (unlike `version`, which every server starts at 1).
    pub id: u64,
    /// The config as loaded, DNS names unresolved.
    pub declared: Config,
    /// The config in force: `declared` with each name replaced by the
    /// servers it resolved to (see `discovery`).
    pub config: Config,
    /// The DNS answers `config` was expanded with.
    pub resolved: Resolved,
    pub router: Router,
    /// Per route (same index as `config.routes`): its policy stack and split.
    pub routes: Vec<crate::policy::RouteRuntime>,
    /// Indexed like `Config::upstreams`; routes refer to them by index.
    pub upstreams: Vec<Upstream>,
    /// Per upstream (same index), one pooled client per worker thread, so
    /// a worker only ever uses connections that live on its own runtime.
    pub clients: Vec<Vec<UpstreamClient>>,
    /// Worker threads the clients are built for (fixed at start).
    pub workers: usize,
    /// TLS listeners by configured address, certificates read at this load.
    pub tls: HashMap<String, TlsListener>,
    /// `balance` of each upstream, same index.
    pub algorithms: Vec<&'static str>,
    /// Kept across reloads while its config is unchanged.
    pub access_log: Option<Arc<AccessLog>>,
    /// One per `config.rate_limits` (same index), kept across reloads while
    /// the policy is unchanged.
    pub limiters: Vec<Arc<crate::ratelimit::Limiter>>,
    /// `trusted_proxies` as ranges.
    pub trusted: crate::ipset::IpSet,
}

impl Snapshot {
    /// Builds the next snapshot. With `previous`, upstreams that stay (by name)
    /// keep their servers' live state (by address) and, when their connect
    /// timeout is unchanged, their pooled client and its idle connections.
    /// `workers` is the number of worker threads (see `crate::workers`).
    /// Fails when a new access log file cannot be opened or rustls refuses
    /// a TLS setting.
    pub fn build(
        declared: &Config,
        version: u64,
        previous: Option<&Snapshot>,
        resolved: Resolved,
        workers: usize,
    ) -> std::io::Result<Self> {
        let mut config = declared.clone();
        config.upstreams = declared.upstreams.iter().map(|u| expand(u, &resolved)).collect();
        let config = &config;
        let mut upstreams = Vec::new();
        let mut clients = Vec::new();
        for cfg in &config.upstreams {
            let old = previous.and_then(|p| p.upstreams.iter().position(|u| u.name == cfg.name).map(|i| (p, i)));
            let upstream = Upstream::new(cfg, old.map(|(p, i)| &p.upstreams[i]));
            let client = match old {
                Some((p, i)) if same_client(&p.upstreams[i], cfg) => p.clients[i].clone(),
                _ => (0..workers.max(1))
                    .map(|_| client::build(cfg))
                    .collect::<Result<_, _>>()
                    .map_err(|e| std::io::Error::other(format!("upstream {}: {e}", cfg.name)))?,
            };
            upstreams.push(upstream);
            clients.push(client);
        }
        let access_log = match (&config.access_log, previous.and_then(|p| p.access_log.as_ref())) {
            (None, _) => None,
            (Some(cfg), Some(old)) if old.config == *cfg => Some(old.clone()),
            (Some(cfg), _) => {
                Some(Arc::new(AccessLog::start(cfg).map_err(|e| {
                    std::io::Error::new(e.kind(), format!("cannot open the access log: {e}"))
                })?))
            }
        };
        let mut tls = HashMap::new();
        for l in &config.listeners {
            if let Some(cfg) = &l.tls {
                let built =
                    TlsListener::new(cfg).map_err(|e| std::io::Error::other(format!("listener {}: {e}", l.address)))?;
                tls.insert(l.address.to_string(), built);
            }
        }
        let limiters: Vec<Arc<crate::ratelimit::Limiter>> = config
            .rate_limits
            .iter()
            .map(|cfg| {
                let kept = previous.and_then(|p| p.limiters.iter().find(|l| l.config == *cfg));
                kept.cloned()
                    .unwrap_or_else(|| Arc::new(crate::ratelimit::Limiter::new(cfg)))
            })
            .collect();
        Ok(Self {
            version,
            trusted: crate::ipset::IpSet::new(&config.trusted_proxies),
            routes: crate::policy::build(config, &limiters),
            limiters,
            id: crate::metrics::next_id(),
            declared: declared.clone(),
            resolved,
            tls,
            access_log,
            config: config.clone(),
            router: Router::new(config.routes.clone()),
            algorithms: config.upstreams.iter().map(|u| u.balance.name()).collect(),
            upstreams,
            clients,
            workers,
        })
    }
}

/// Whether a pool's client (and its pooled connections) fits the new config.
fn same_client(old: &Upstream, cfg: &crate::config::UpstreamConfig) -> bool {
    old.connect_timeout == cfg.connect_timeout && old.protocol == cfg.protocol && !old.tls && cfg.tls.is_none()
}
