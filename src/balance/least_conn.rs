//! Least connections: the eligible server with the fewest requests in flight
//! relative to its weight; ties broken uniformly at random.
//!
//! The struct holds the servers' shared load counters itself, so the scan
//! reads atomics in a tight loop; the view is consulted for eligibility only
//! when some server is not eligible.

use super::{Balancer, Member, Random, ServerLoad, ThreadRandom, View};
use std::sync::Arc;

/// Fewest in-flight / weight wins.
#[derive(Debug)]
pub struct LeastConnections<R: Random = ThreadRandom> {
    weights: Vec<u64>,
    loads: Vec<Arc<ServerLoad>>,
    random: R,
}

impl LeastConnections {
    /// `loads[i]` is member i's live load (shared with its in-flight guards).
    pub fn new(members: &[Member], loads: Vec<Arc<ServerLoad>>) -> Self {
        Self::with_random(members, loads, ThreadRandom)
    }
}

impl<R: Random> LeastConnections<R> {
    pub fn with_random(members: &[Member], loads: Vec<Arc<ServerLoad>>, random: R) -> Self {
        assert_eq!(members.len(), loads.len(), "one load per member");
        Self {
            weights: members.iter().map(|m| m.weight.max(1) as u64).collect(),
            loads,
            random,
        }
    }

    fn scan(&self, eligible: impl Fn(usize) -> bool) -> Option<usize> {
        let mut best: Option<(usize, u64)> = None;
        let mut best_w = 1u64;
        let mut ties = 0u64;
        // one draw from the injected source seeds a cheap local generator for the ties
        let mut state = self.random.next_u64() | 1;
        for (i, (&w, load)) in self.weights.iter().zip(&self.loads).enumerate() {
            if !eligible(i) {
                continue;
            }
            let load = load.in_flight();
            match best {
                // load_i / w_i < load_b / w_b  <=>  load_i * w_b < load_b * w_i
                Some((_, bl)) if load * best_w > bl * w => {}
                Some((_, bl)) if load * best_w == bl * w => {
                    ties += 1;
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    // replace with probability 1/ties (multiply-shift, no division)
                    if ((state as u128 * ties as u128) >> 64) == 0 {
                        best = Some((i, load));
                        best_w = w;
                    }
                }
                _ => {
                    best = Some((i, load));
                    best_w = w;
                    ties = 1;
                }
            }
        }
        best.map(|(i, _)| i)
    }
}

impl<R: Random> Balancer for LeastConnections<R> {
    /// None when nothing is eligible. Ties are broken by reservoir sampling, so
    /// each tied server is equally likely.
    fn pick(&self, _key: Option<u64>, view: &dyn View) -> Option<usize> {
        if view.all_eligible() {
            self.scan(|_| true)
        } else {
            self.scan(|i| view.is_eligible(i))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{All, Seeded};
    use super::*;

    fn setup(weights: &[u32], in_flight: &[u64], seed: u64) -> LeastConnections<Seeded> {
        let members: Vec<Member> = weights
            .iter()
            .enumerate()
            .map(|(i, &weight)| Member {
                id: format!("10.0.0.{i}:80"),
                weight,
            })
            .collect();
        let loads: Vec<Arc<ServerLoad>> = in_flight
            .iter()
            .map(|&n| {
                let l = Arc::new(ServerLoad::default());
                (0..n).for_each(|_| l.start());
                l
            })
            .collect();
        LeastConnections::with_random(&members, loads, Seeded::new(seed))
    }

    #[test]
    fn fewest_in_flight_relative_to_weight() {
        assert_eq!(setup(&[1, 1, 1], &[3, 1, 2], 1).pick(None, &All), Some(1));
        assert_eq!(
            setup(&[1, 1, 1], &[3, 0, 2], 1).pick(None, &[true, false, true]),
            Some(2)
        );
        assert_eq!(setup(&[1, 4], &[1, 3], 1).pick(None, &All), Some(1), "3/4 < 1/1");
        assert_eq!(setup(&[1, 4], &[1, 5], 1).pick(None, &All), Some(0), "1/1 < 5/4");
        assert_eq!(setup(&[1, 1, 1], &[0; 3], 1).pick(None, &[false; 3]), None);
        assert_eq!(LeastConnections::new(&[], vec![]).pick(None, &All), None);
    }

    #[test]
    fn ties_are_broken_without_bias() {
        let lc = setup(&[1, 1, 1, 1], &[2, 0, 0, 0], 7);
        let mut counts = [0u32; 4];
        for _ in 0..30_000 {
            counts[lc.pick(None, &All).unwrap()] += 1;
        }
        assert_eq!(counts[0], 0);
        for c in &counts[1..] {
            assert!((*c as i64 - 10_000).abs() < 500, "{counts:?}");
        }
    }
}
