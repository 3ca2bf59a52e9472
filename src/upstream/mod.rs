//! A pool at runtime: its servers with their live load, its balancer and its
//! hash policy.
//!
//! `select()` turns a request into a server index, or an error that maps to a
//! status: 400 when a `reject` hash pool gets no key, 503 when no server is
//! eligible. No I/O, no hyper.

mod acquire;
pub mod key;
mod live;
mod queue;
mod split;

pub use key::{extract, KeyInput};
pub use live::{now_ns, ramp, InFlight, LiveView};
pub use queue::{Shared, Ticket};
pub use split::Split;

use crate::balance::{
    hash_key, Balancer, Bound, LeastConnections, Maglev, Member, P2cEwma, RandomPick, Ring, RoundRobinPick, ServerLoad,
    View, WeightedRoundRobin,
};
use crate::config::{Balance, Fallback, HashPolicy, KeySource, OutlierConfig, Protocol, QueueConfig, UpstreamConfig};
use crate::health::{Health, Transition};
use http::uri::Authority;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

/// One server of a pool.
#[derive(Debug)]
pub struct Server {
    pub address: SocketAddr,
    /// `ip:port`, the server's identity and its metrics label.
    pub id: String,
    pub authority: Authority,
    pub weight: u32,
    /// In-flight count and latency estimate, shared with guards and gauges.
    pub load: Arc<ServerLoad>,
    /// Health and ejection, shared with the probes and every snapshot keeping this address.
    pub health: Arc<Health>,
}

/// A pool of servers ready to pick from.
#[derive(Debug)]
pub struct Upstream {
    pub name: String,
    pub servers: Vec<Server>,
    pub connect_timeout: Duration,
    pub response_timeout: Duration,
    pub protocol: Protocol,
    /// Whether the servers are spoken to over TLS.
    pub tls: bool,
    /// Extra attempts on other servers (SPEC §3).
    pub retries: u32,
    balancer: Box<dyn Balancer>,
    hash: Option<HashRuntime>,
    outlier: Option<OutlierConfig>,
    /// Keys a load bound sent past their home, counted across reloads.
    overflow_count: Arc<AtomicU64>,
    /// Held while a bounded-load pool picks and counts a request.
    admission: Option<std::sync::Mutex<()>>,
    /// `max_in_flight` per server, u64::MAX without one.
    pub max_in_flight: u64,
    pub queue: QueueConfig,
    pub slow_start: Option<Duration>,
    pub retry_budget: Option<f64>,
    /// Where slow start sends a ramping server's declined picks.
    spread: RandomPick,
    /// The queue and the retries in flight, kept across reloads.
    pub shared: Arc<Shared>,
    /// Whether in-flight guards report to `shared` (a limit or a budget is set).
    guarded: bool,
}

#[derive(Debug)]
struct HashRuntime {
    policy: HashPolicy,
    random: RandomPick,
    round_robin: RoundRobinPick,
}

/// How a server was chosen, for logs and `explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why<'a> {
    /// Not a hash pool: the algorithm's choice.
    Turn,
    /// Hashed on the value of this key source.
    Key(&'a KeySource),
    /// A hash pool without a key in the request.
    Fallback(Fallback),
}

/// Why no server was chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error("upstream {upstream}: no hash key ({sources}) in the request")]
    MissingKey { upstream: String, sources: String },
    #[error("upstream {upstream}: no eligible server")]
    NoEligible { upstream: String },
    /// Every eligible server is at `max_in_flight`: the request queues.
    #[error("upstream {upstream}: every eligible server is at max_in_flight")]
    Full { upstream: String },
    /// A retry over `retries.budget`.
    #[error("upstream {upstream}: over the retry budget")]
    Budget { upstream: String },
}

/// A pool's servers as the algorithms see them: identity `ip:port` and weight.
pub fn members(cfg: &UpstreamConfig) -> Vec<Member> {
    cfg.servers
        .iter()
        .map(|s| Member {
            id: s.address.to_string(),
            weight: s.weight,
        })
        .collect()
}

/// Builds the balancer a config asks for.
fn balancer(
    balance: &Balance,
    members: &[Member],
    servers: &[Server],
    overflows: &Arc<AtomicU64>,
) -> Box<dyn Balancer> {
    if members.is_empty() {
        // a pool whose names have not resolved (yet): every pick finds nothing
        return Box::new(RoundRobinPick::new(members));
    }
    let bound = |p: &HashPolicy| p.bounded_load.map(|c| Bound::counting(c, members, overflows.clone()));
    match balance {
        Balance::RoundRobin => Box::new(RoundRobinPick::new(members)),
        Balance::WeightedRoundRobin => Box::new(WeightedRoundRobin::new(members)),
        Balance::Random => Box::new(RandomPick::new(members)),
        Balance::LeastConnections => Box::new(LeastConnections::new(
            members,
            servers.iter().map(|s| s.load.clone()).collect(),
        )),
        Balance::P2cEwma => Box::new(P2cEwma::new(members)),
        Balance::ConsistentHash(p) => {
            let ring = Ring::new(members);
            Box::new(match bound(p) {
                Some(b) => ring.with_bound(b),
                None => ring,
            })
        }
        Balance::Maglev(p, size) => {
            let table = Maglev::new(members, *size);
            Box::new(match bound(p) {
                Some(b) => table.with_bound(b),
                None => table,
            })
        }
    }
}

impl Upstream {
    /// Builds the runtime pool from its validated config. A server that was in
    /// `previous` (same address) keeps its live load and counters; a new one starts idle.
    pub fn new(cfg: &UpstreamConfig, previous: Option<&Upstream>) -> Self {
        let members = members(cfg);
        let servers: Vec<Server> = cfg
            .servers
            .iter()
            .zip(&members)
            .map(|(s, m)| {
                let old = previous.and_then(|p| p.servers.iter().find(|old| old.address == s.address));
                // a server a reload or DNS adds to a pool ramps up (slow start)
                let fresh = || {
                    Arc::new(if previous.is_some() {
                        Health::added()
                    } else {
                        Health::default()
                    })
                };
                Server {
                    address: s.address,
                    authority: m.id.parse().expect("a socket address is an authority"),
                    id: m.id.clone(),
                    weight: s.weight,
                    load: old.map_or_else(Arc::default, |o| o.load.clone()),
                    health: old.map_or_else(fresh, |o| o.health.clone()),
                }
            })
            .collect();
        let overflow_count = previous.map_or_else(Arc::default, |p| p.overflow_count.clone());
        let protect = &cfg.protect;
        let hash = cfg.balance.hash().map(|policy| HashRuntime {
            policy: policy.clone(),
            random: RandomPick::new(&members),
            round_robin: RoundRobinPick::new(&members),
        });
        Self {
            name: cfg.name.clone(),
            connect_timeout: cfg.connect_timeout,
            response_timeout: cfg.response_timeout,
            protocol: cfg.protocol,
            tls: cfg.tls.is_some(),
            retries: cfg.retries,
            balancer: balancer(&cfg.balance, &members, &servers, &overflow_count),
            overflow_count,
            admission: cfg
                .balance
                .hash()
                .and_then(|p| p.bounded_load)
                .map(|_| std::sync::Mutex::new(())),
            servers,
            hash,
            outlier: cfg.outlier_detection.clone(),
            max_in_flight: protect.max_in_flight.map_or(u64::MAX, u64::from),
            queue: protect.queue,
            slow_start: protect.slow_start,
            retry_budget: protect.retry_budget,
            spread: RandomPick::new(&members),
            shared: previous.map_or_else(Arc::default, |p| p.shared.clone()),
            guarded: protect.max_in_flight.is_some() || protect.retry_budget.is_some(),
        }
    }

    /// Records a live request's outcome for outlier detection (connect
    /// errors, timeouts and 5xx are failures). Returns an ejection to time.
    /// Never ejects more than `max_ejection_percent` of the pool at once.
    pub fn record(&self, server: usize, failed: bool) -> Option<Transition> {
        let cfg = self.outlier.as_ref()?;
        let may_eject = || {
            let ejected = self.servers.iter().filter(|s| s.health.ejected()).count();
            (ejected + 1) * 100 <= cfg.max_ejection_percent as usize * self.servers.len()
        };
        self.servers[server].health.live(failed, cfg, may_eject)
    }

    /// For bounded-load pools, a lock to hold across `select` and the start
    /// of the in-flight guard, so the cap holds under concurrent picks; None
    /// (no lock) for every other pool.
    pub fn admission(&self) -> Option<std::sync::MutexGuard<'_, ()>> {
        self.admission
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Keys a load bound sent past their home so far (kept across reloads).
    pub fn overflows(&self) -> u64 {
        self.overflow_count.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Each server's exact keyspace share given live eligibility; None for
    /// algorithms that do not hash.
    pub fn keyspace_shares(&self) -> Option<Vec<f64>> {
        self.balancer.keyspace_shares(&LiveView::health(&self.servers))
    }

    /// Picks a server for a request from the servers' live state.
    pub fn select(&self, req: &KeyInput<'_>) -> Result<(usize, Why<'_>), SelectError> {
        self.select_among(req, &LiveView::new(self))
    }

    /// Picks among the servers `view` allows.
    pub fn select_among(&self, req: &KeyInput<'_>, view: &dyn View) -> Result<(usize, Why<'_>), SelectError> {
        let no_eligible = || SelectError::NoEligible {
            upstream: self.name.clone(),
        };
        if !(0..self.servers.len()).any(|i| view.is_eligible(i)) {
            return Err(no_eligible());
        }
        let Some(hash) = &self.hash else {
            let i = self
                .ramped(view, |v| self.balancer.pick(None, v))
                .ok_or_else(no_eligible)?;
            return Ok((i, Why::Turn));
        };
        for source in &hash.policy.keys {
            if let Some(value) = extract(source, req) {
                let i = self
                    .balancer
                    .pick(Some(hash_key(&value)), view)
                    .ok_or_else(no_eligible)?;
                return Ok((i, Why::Key(source)));
            }
        }
        let fallback = hash.policy.fallback;
        let picked = match fallback {
            Fallback::Random => self.ramped(view, |v| hash.random.pick(None, v)),
            Fallback::RoundRobin => self.ramped(view, |v| hash.round_robin.pick(None, v)),
            Fallback::Reject => {
                let sources: Vec<String> = hash.policy.keys.iter().map(ToString::to_string).collect();
                return Err(SelectError::MissingKey {
                    upstream: self.name.clone(),
                    sources: sources.join(", "),
                });
            }
        };
        Ok((picked.ok_or_else(no_eligible)?, Why::Fallback(fallback)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(addrs: &[&str]) -> UpstreamConfig {
        let servers: Vec<String> = addrs.iter().map(|a| format!("{{ address: \"{a}\" }}")).collect();
        let yaml = format!(
            "listeners: [{{ address: \"127.0.0.1:0\" }}]\nupstreams: {{ p: {{ slow_start: 10s, servers: [{}] }} }}\nroutes: [{{ upstream: p }}]\n",
            servers.join(", ")
        );
        crate::config::parse(&yaml).expect("valid").upstreams.remove(0)
    }

    #[test]
    fn a_full_server_is_passed_over_and_a_hash_pool_walks_on_from_it() {
        let yaml = "listeners: [{ address: \"127.0.0.1:0\" }]\nupstreams: { p: { balance: consistent_hash, \
                    hash: { key: path }, max_in_flight: 1, servers: [{ address: \"10.0.0.1:80\" }, \
                    { address: \"10.0.0.2:80\" }, { address: \"10.0.0.3:80\" }] } }\nroutes: [{ upstream: p }]\n";
        let u = Upstream::new(&crate::config::parse(yaml).unwrap().upstreams[0], None);
        let headers = http::HeaderMap::new();
        let input = |path| KeyInput {
            headers: &headers,
            path,
            query: None,
            host: None,
            client_ip: [127, 0, 0, 1].into(),
        };
        let (home, _, held) = u.acquire(&input("/k"), &[], false).unwrap();
        let (next, _, second) = u.acquire(&input("/k"), &[], false).unwrap();
        assert_ne!(next, home, "the full home is passed over");
        let (third, _, last) = u.acquire(&input("/k"), &[], false).unwrap();
        assert!(third != home && third != next);
        let full = u.acquire(&input("/k"), &[], false).map(|_| ()).unwrap_err();
        assert!(matches!(full, SelectError::Full { .. }), "every server is full: {full}");
        drop((held, second, last));
        assert_eq!(
            u.acquire(&input("/k"), &[], false).unwrap().0,
            home,
            "the key is home again"
        );
    }

    #[test]
    fn servers_a_reload_adds_ramp_while_those_that_stay_keep_their_state() {
        let first = Upstream::new(&pool(&["10.0.0.1:80"]), None);
        assert_eq!(
            first.servers[0].health.eligible_since(),
            0,
            "start-up servers do not ramp"
        );
        first.shared.retries.store(2, std::sync::atomic::Ordering::Relaxed);
        let next = Upstream::new(&pool(&["10.0.0.1:80", "10.0.0.2:80"]), Some(&first));
        assert_eq!(next.servers[0].health.eligible_since(), 0);
        assert!(next.servers[1].health.eligible_since() > 0, "an added server ramps");
        assert!(
            Arc::ptr_eq(&first.shared, &next.shared),
            "the queue and budget carry over"
        );
        let view = LiveView::new(&next);
        assert!(view.ramp(1) < 0.2 && view.ramp(0) == 1.0);
    }
}
