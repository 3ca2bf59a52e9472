//! The discovery loop: resolves every DNS name of the serving config at its
//! pool's `dns_refresh`, and when a name's address set changes, builds the
//! next snapshot from the same config (as a reload would: state carried by
//! address, probes restarted) under the reload lock.

use super::Shared;
use crate::config::Config;
use crate::discovery::{self, next_set, resolve, Answer, Resolved};
use crate::metrics::Metrics;
use crate::state::Snapshot;
use hickory_resolver::TokioResolver;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest the loop sleeps, so names added by a reload are resolved promptly.
const MAX_NAP: Duration = Duration::from_millis(250);

/// Resolvers by configured address (None: the system's), made on first use.
#[derive(Default)]
struct Resolvers(HashMap<Option<SocketAddr>, TokioResolver>);

impl Resolvers {
    /// The resolver for `d` (a cheap handle), made on first use.
    fn get(&mut self, d: &crate::config::DiscoveryConfig) -> Result<TokioResolver, String> {
        Ok(match self.0.entry(d.resolver) {
            std::collections::hash_map::Entry::Occupied(e) => e.get().clone(),
            std::collections::hash_map::Entry::Vacant(v) => v.insert(discovery::resolver(d)?).clone(),
        })
    }

    async fn ask(&mut self, d: &crate::config::DiscoveryConfig, host: &str) -> Answer {
        match self.get(d) {
            Ok(r) => resolve(&r, host).await,
            Err(e) => Answer::Failed(e),
        }
    }
}

fn count(metrics: &Metrics, upstream: &str, host: &str, answer: &Answer) {
    let ok = matches!(answer, Answer::Addrs(_));
    metrics
        .dns_resolutions
        .with_label_values(&[upstream, if ok { "success" } else { "failure" }])
        .inc();
    match answer {
        Answer::Addrs(a) if a.len() > discovery::MAX_RECORDS => tracing::warn!(
            "upstream {upstream}: {host} has {} addresses; using the first {}",
            a.len(),
            discovery::MAX_RECORDS
        ),
        Answer::Addrs(_) => {}
        Answer::Empty => tracing::warn!("upstream {upstream}: {host} has no A/AAAA records"),
        Answer::Failed(e) => tracing::warn!("upstream {upstream}: cannot resolve {host}: {e}; keeping the last answer"),
    }
}

/// Resolves every name once (at start), all at once, so start-up waits at
/// most one resolver timeout; names that fail get no servers until a later
/// refresh finds them.
pub async fn initial(config: &Config, metrics: &Metrics) -> Resolved {
    let mut resolvers = Resolvers::default();
    let mut asked = tokio::task::JoinSet::new();
    for (u, n) in discovery::names(config) {
        let (upstream, host, d) = (u.name.clone(), n.host.clone(), u.discovery);
        let resolver = resolvers.get(&d);
        asked.spawn(async move {
            let answer = match resolver {
                Ok(r) => resolve(&r, &host).await,
                Err(e) => Answer::Failed(e),
            };
            (upstream, host, answer)
        });
    }
    let mut resolved = Resolved::new();
    while let Some(Ok((upstream, host, answer))) = asked.join_next().await {
        count(metrics, &upstream, &host, &answer);
        let mut empties = 0;
        if let Some(set) = next_set(None, &answer, &mut empties) {
            resolved.insert((upstream, host), set);
        }
    }
    resolved
}

/// Runs until shutdown.
pub async fn run(shared: Arc<Shared>) {
    let mut resolvers = Resolvers::default();
    // per (upstream, host): empty answers in a row, and when it is due again
    let mut due: HashMap<(String, String), (u32, Instant)> = HashMap::new();
    loop {
        let snap = shared.state.load_full();
        if shared.shutting_down.load(Ordering::SeqCst) {
            return;
        }
        let now = Instant::now();
        let mut changed = Resolved::new();
        for (u, n) in discovery::names(&snap.declared) {
            let key = (u.name.clone(), n.host.clone());
            // first seen: resolved at start (or just added by a reload)
            let first = if snap.resolved.contains_key(&key) {
                now + u.discovery.refresh
            } else {
                now
            };
            let entry = due.entry(key.clone()).or_insert((0, first));
            if entry.1 > now {
                continue;
            }
            entry.1 = now + u.discovery.refresh;
            let answer = resolvers.ask(&u.discovery, &n.host).await;
            count(&shared.metrics, &u.name, &n.host, &answer);
            let last = snap.resolved.get(&key);
            if let Some(set) = next_set(last, &answer, &mut entry.0) {
                if last != Some(&set) {
                    tracing::info!("upstream {}: {} now resolves to {set:?}", u.name, n.host);
                    changed.insert(key, set);
                }
            }
        }
        if !changed.is_empty() {
            apply(&shared, changed).await;
        }
        let nap = due
            .values()
            .map(|(_, at)| at.saturating_duration_since(Instant::now()))
            .min();
        tokio::time::sleep(nap.unwrap_or(MAX_NAP).min(MAX_NAP)).await;
    }
}

/// Builds and swaps in the snapshot with `changed` answers, serialised with reloads.
async fn apply(shared: &Arc<Shared>, changed: Resolved) {
    let _reloads = shared.listeners.lock().await;
    let current = shared.state.load_full();
    let mut resolved = current.resolved.clone();
    resolved.extend(changed);
    match Snapshot::build(
        &current.declared,
        current.version,
        Some(&current),
        resolved,
        current.workers,
    ) {
        Ok(next) => {
            shared.state.store(Arc::new(next));
            shared.start_probes();
        }
        Err(e) => tracing::error!("cannot apply the new DNS answers: {e}"),
    }
}
