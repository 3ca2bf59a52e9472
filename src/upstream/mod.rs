//! A pool at runtime: its servers, its balancer and its hash policy.
//!
//! `select()` turns a request into a server index, or an error that maps to a
//! status: 400 when a `reject` hash pool gets no key, 503 when no server is
//! eligible. Pure: no I/O, no hyper.

mod key;

pub use key::{extract, KeyInput};

use crate::balance::{hash_key, All, Balancer, View, Member, RandomPick, Ring, RoundRobinPick, WeightedRoundRobin};
use crate::config::{Balance, Fallback, HashPolicy, KeySource, UpstreamConfig};
use http::uri::Authority;
use std::net::SocketAddr;
use std::time::Duration;

/// One server of a pool.
#[derive(Debug)]
pub struct Server {
    pub address: SocketAddr,
    /// `ip:port`, the server's identity and its metrics label.
    pub id: String,
    pub authority: Authority,
    pub weight: u32,
}

/// A pool of servers ready to pick from.
#[derive(Debug)]
pub struct Upstream {
    pub name: String,
    pub servers: Vec<Server>,
    pub connect_timeout: Duration,
    pub response_timeout: Duration,
    balancer: Box<dyn Balancer>,
    hash: Option<HashRuntime>,
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
    /// Not a hash pool: the algorithm's turn.
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
}

impl Upstream {
    /// Builds the runtime pool from its validated config.
    pub fn new(cfg: &UpstreamConfig) -> Self {
        let members: Vec<Member> = cfg
            .servers
            .iter()
            .map(|s| Member {
                id: s.address.to_string(),
                weight: s.weight,
            })
            .collect();
        let servers = cfg
            .servers
            .iter()
            .zip(&members)
            .map(|(s, m)| Server {
                address: s.address,
                authority: m.id.parse().expect("a socket address is an authority"),
                id: m.id.clone(),
                weight: s.weight,
            })
            .collect();
        let (balancer, hash): (Box<dyn Balancer>, _) = match &cfg.balance {
            Balance::WeightedRoundRobin => (Box::new(WeightedRoundRobin::new(&members)), None),
            Balance::ConsistentHash(policy) => (
                Box::new(Ring::new(&members)),
                Some(HashRuntime {
                    policy: policy.clone(),
                    random: RandomPick::new(&members),
                    round_robin: RoundRobinPick::new(&members),
                }),
            ),
        };
        Self {
            name: cfg.name.clone(),
            servers,
            connect_timeout: cfg.connect_timeout,
            response_timeout: cfg.response_timeout,
            balancer,
            hash,
        }
    }

    /// Picks a server for a request. Every server is eligible until health
    /// checking exists; the eligibility hook is the balancer's `eligible` argument.
    pub fn select(&self, req: &KeyInput<'_>) -> Result<(usize, Why<'_>), SelectError> {
        self.select_among(req, &All)
    }

    /// Picks among the servers `eligible` allows.
    pub fn select_among(&self, req: &KeyInput<'_>, eligible: &dyn View) -> Result<(usize, Why<'_>), SelectError> {
        let no_eligible = || SelectError::NoEligible {
            upstream: self.name.clone(),
        };
        let Some(hash) = &self.hash else {
            let i = self.balancer.pick(None, eligible).ok_or_else(no_eligible)?;
            return Ok((i, Why::Turn));
        };
        for source in &hash.policy.keys {
            if let Some(value) = extract(source, req) {
                let i = self
                    .balancer
                    .pick(Some(hash_key(&value)), eligible)
                    .ok_or_else(no_eligible)?;
                return Ok((i, Why::Key(source)));
            }
        }
        let fallback = hash.policy.fallback;
        let picked = match fallback {
            Fallback::Random => hash.random.pick(None, eligible),
            Fallback::RoundRobin => hash.round_robin.pick(None, eligible),
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
