//! `backends`: a weighted split of a route's traffic between pools, by
//! smooth weighted round robin (exact over each cycle of the weights).
//! A pool with weight 0 takes nothing; a pool with no eligible server is
//! passed over while another has one.

use super::Upstream;
use crate::balance::{Balancer, Member, View, WeightedRoundRobin};
use crate::config::Backend;

/// The pools of one route's split.
#[derive(Debug)]
pub struct Split {
    /// Upstream indices of the pools with a weight above 0.
    pools: Vec<usize>,
    wrr: WeightedRoundRobin,
}

impl Split {
    /// None when no pool has a weight (validation rules that out).
    pub fn new(backends: &[Backend]) -> Option<Self> {
        let live: Vec<&Backend> = backends.iter().filter(|b| b.weight > 0).collect();
        if live.is_empty() {
            return None;
        }
        let members: Vec<Member> = live
            .iter()
            .map(|b| Member {
                id: b.upstream.to_string(),
                weight: b.weight,
            })
            .collect();
        Some(Self {
            pools: live.iter().map(|b| b.upstream).collect(),
            wrr: WeightedRoundRobin::new(&members),
        })
    }

    /// The pool for the next request: by weight among pools with an
    /// eligible server; when none has one, the first pool (which answers 503).
    pub fn pick(&self, upstreams: &[Upstream]) -> usize {
        let view = Pools {
            pools: &self.pools,
            upstreams,
        };
        self.wrr.pick(None, &view).map_or(self.pools[0], |i| self.pools[i])
    }
}

struct Pools<'a> {
    pools: &'a [usize],
    upstreams: &'a [Upstream],
}

impl View for Pools<'_> {
    fn is_eligible(&self, index: usize) -> bool {
        self.upstreams[self.pools[index]]
            .servers
            .iter()
            .any(|s| s.health.eligible())
    }
}
