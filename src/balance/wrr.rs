//! Smooth weighted round robin (nginx's algorithm), precomputed into a schedule.
//!
//! The schedule holds one full cycle of sum(weights)/gcd picks; picking is one
//! atomic increment and an array read, with no lock. Building it costs
//! O(servers x cycle length), once per config snapshot.

use super::{Balancer, Member, View};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Smooth weighted round robin: in every cycle each member is picked exactly
/// `weight` times, interleaved (weights 5,1,1 give a a b a c a a).
#[derive(Debug)]
pub struct WeightedRoundRobin {
    schedule: Vec<u32>,
    next: AtomicUsize,
}

impl WeightedRoundRobin {
    /// Builds the schedule. An empty member list gives a balancer that never picks.
    pub fn new(members: &[Member]) -> Self {
        let g = members.iter().fold(0u32, |g, m| gcd(g, m.weight.max(1)));
        let weights: Vec<i64> = members.iter().map(|m| (m.weight.max(1) / g.max(1)) as i64).collect();
        let total: i64 = weights.iter().sum();
        let mut current = vec![0i64; weights.len()];
        let mut schedule = Vec::with_capacity(total as usize);
        for _ in 0..total {
            let mut best = 0;
            for (i, w) in weights.iter().enumerate() {
                current[i] += w;
                if current[i] > current[best] {
                    best = i;
                }
            }
            current[best] -= total;
            schedule.push(best as u32);
        }
        Self {
            schedule,
            next: AtomicUsize::new(0),
        }
    }

    /// One full cycle of picks, as member indices.
    pub fn cycle(&self) -> &[u32] {
        &self.schedule
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl Balancer for WeightedRoundRobin {
    /// Ineligible members are skipped: the next eligible entry of the schedule is taken.
    fn pick(&self, _key: Option<u64>, eligible: &dyn View) -> Option<usize> {
        let len = self.schedule.len();
        if len == 0 {
            return None;
        }
        // each attempt takes the next slot, so eligible servers keep their
        // relative weights while others are skipped
        (0..len)
            .map(|_| self.schedule[self.next.fetch_add(1, Ordering::Relaxed) % len] as usize)
            .find(|&i| eligible.is_eligible(i))
    }
}

#[cfg(test)]
mod tests {
    use super::super::All;
    use super::*;

    fn members(weights: &[u32]) -> Vec<Member> {
        weights
            .iter()
            .enumerate()
            .map(|(i, &weight)| Member {
                id: format!("10.0.0.{i}:80"),
                weight,
            })
            .collect()
    }

    fn picks(b: &WeightedRoundRobin, n: usize, eligible: &dyn View) -> Vec<usize> {
        (0..n).map(|_| b.pick(None, eligible).unwrap()).collect()
    }

    #[test]
    fn nginx_sequence_5_1_1() {
        let b = WeightedRoundRobin::new(&members(&[5, 1, 1]));
        assert_eq!(picks(&b, 14, &All), [0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0]);
    }

    #[test]
    fn equal_weights_alternate() {
        let b = WeightedRoundRobin::new(&members(&[1, 1, 1]));
        assert_eq!(picks(&b, 6, &All), [0, 1, 2, 0, 1, 2]);
        let b = WeightedRoundRobin::new(&members(&[7, 7]));
        assert_eq!(b.cycle(), &[0, 1], "weights are reduced by their gcd");
    }

    #[test]
    fn exact_counts_per_cycle_and_no_bursts() {
        let weights = [3, 10, 1, 7, 1000];
        let b = WeightedRoundRobin::new(&members(&weights));
        let total: u32 = weights.iter().sum();
        let seq = picks(&b, total as usize, &All);
        for (i, &w) in weights.iter().enumerate() {
            assert_eq!(seq.iter().filter(|&&p| p == i).count(), w as usize);
        }
        // smooth: server 1 (weight 10 of 1021) never picked twice within 50 picks
        let ones: Vec<usize> = seq
            .iter()
            .enumerate()
            .filter(|(_, &p)| p == 1)
            .map(|(k, _)| k)
            .collect();
        assert!(ones.windows(2).all(|w| w[1] - w[0] > 50), "{ones:?}");
    }

    #[test]
    fn skips_ineligible_and_handles_none() {
        let b = WeightedRoundRobin::new(&members(&[5, 1, 1]));
        let only_c = [false, false, true];
        assert_eq!(picks(&b, 3, &only_c), [2, 2, 2]);
        let none = [false, false, false];
        assert_eq!(b.pick(None, &none), None);
        assert_eq!(WeightedRoundRobin::new(&[]).pick(None, &All), None);
    }
}
