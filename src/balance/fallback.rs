//! Key-less picks used as a hash pool's fallback: weighted random and round robin.

use super::{Balancer, Member, View};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Random, weights respected. The caller supplies the random number, so the
/// struct stays pure and tests are deterministic.
#[derive(Debug)]
pub struct RandomPick {
    weights: Vec<u32>,
    /// Running totals of the weights: member i owns [cumulative[i] - w_i, cumulative[i]).
    cumulative: Vec<u64>,
}

impl RandomPick {
    pub fn new(members: &[Member]) -> Self {
        let weights: Vec<u32> = members.iter().map(|m| m.weight).collect();
        let cumulative = weights
            .iter()
            .scan(0u64, |sum, &w| {
                *sum += w as u64;
                Some(*sum)
            })
            .collect();
        Self { weights, cumulative }
    }

    /// Picks with probability proportional to weight among eligible members,
    /// driven by `random`. None when nothing is eligible. O(log n) when the
    /// drawn member is eligible; otherwise the draw is redone over the
    /// eligible ones only, in O(n).
    pub fn pick_with(&self, random: u64, eligible: &dyn View) -> Option<usize> {
        let total = *self.cumulative.last()?;
        let target = random % total;
        let i = self.cumulative.partition_point(|&c| c <= target);
        if eligible.is_eligible(i) {
            return Some(i);
        }
        self.pick_eligible(random, eligible)
    }

    fn pick_eligible(&self, random: u64, eligible: &dyn View) -> Option<usize> {
        let total: u64 = self.eligible_weights(eligible).map(|(_, w)| w).sum();
        if total == 0 {
            return None;
        }
        let mut target = random % total;
        for (i, w) in self.eligible_weights(eligible) {
            if target < w {
                return Some(i);
            }
            target -= w;
        }
        None
    }

    fn eligible_weights<'a>(&'a self, eligible: &'a dyn View) -> impl Iterator<Item = (usize, u64)> + 'a {
        self.weights
            .iter()
            .enumerate()
            .filter(|(i, _)| eligible.is_eligible(*i))
            .map(|(i, &w)| (i, w as u64))
    }
}

impl Balancer for RandomPick {
    /// Draws from a fast thread-local generator.
    fn pick(&self, _key: Option<u64>, eligible: &dyn View) -> Option<usize> {
        self.pick_with(fastrand::u64(..), eligible)
    }
}

/// Servers in turn, weights ignored; ineligible ones are skipped.
#[derive(Debug)]
pub struct RoundRobinPick {
    len: usize,
    next: AtomicUsize,
}

impl RoundRobinPick {
    pub fn new(members: &[Member]) -> Self {
        Self {
            len: members.len(),
            next: AtomicUsize::new(0),
        }
    }
}

impl Balancer for RoundRobinPick {
    fn pick(&self, _key: Option<u64>, eligible: &dyn View) -> Option<usize> {
        // each attempt takes the next turn, so skipped servers' turns are
        // shared evenly by the eligible ones rather than given to a neighbour
        (0..self.len)
            .map(|_| self.next.fetch_add(1, Ordering::Relaxed) % self.len)
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

    #[test]
    fn random_respects_weights_exactly_over_the_range() {
        let r = RandomPick::new(&members(&[3, 1]));
        let picks: Vec<usize> = (0..8).map(|x| r.pick_with(x, &All).unwrap()).collect();
        assert_eq!(picks, [0, 0, 0, 1, 0, 0, 0, 1]);
        let only_second = [false, true];
        assert_eq!(r.pick_with(0, &only_second), Some(1));
        assert_eq!(r.pick_with(0, &[false, false]), None);
    }

    #[test]
    fn random_distribution_within_tolerance() {
        let r = RandomPick::new(&members(&[1, 2, 7]));
        let mut counts = [0u32; 3];
        for _ in 0..100_000 {
            counts[r.pick(None, &All).unwrap()] += 1;
        }
        for (c, w) in counts.iter().zip([1.0, 2.0, 7.0]) {
            let expected = 100_000.0 * w / 10.0;
            assert!((*c as f64 - expected).abs() < expected * 0.05, "{counts:?}");
        }
    }

    #[test]
    fn round_robin_in_turn_skipping_ineligible() {
        let r = RoundRobinPick::new(&members(&[5, 1, 1]));
        let seq: Vec<usize> = (0..4).map(|_| r.pick(None, &All).unwrap()).collect();
        assert_eq!(seq, [0, 1, 2, 0]);
        let e = [true, false, true];
        let seq: Vec<usize> = (0..3).map(|_| r.pick(None, &e).unwrap()).collect();
        assert_eq!(seq, [2, 0, 2]);
        assert_eq!(RoundRobinPick::new(&[]).pick(None, &All), None);
    }
}
