//! Least connections: the eligible server with the fewest requests in flight
//! relative to its weight; ties broken uniformly at random.

use super::{Balancer, Member, Random, ThreadRandom, View};

/// Fewest in-flight / weight wins.
#[derive(Debug)]
pub struct LeastConnections<R: Random = ThreadRandom> {
    weights: Vec<u64>,
    random: R,
}

impl LeastConnections {
    pub fn new(members: &[Member]) -> Self {
        Self::with_random(members, ThreadRandom)
    }
}

impl<R: Random> LeastConnections<R> {
    pub fn with_random(members: &[Member], random: R) -> Self {
        Self {
            weights: members.iter().map(|m| m.weight.max(1) as u64).collect(),
            random,
        }
    }
}

impl<R: Random> Balancer for LeastConnections<R> {
    /// None when nothing is eligible. Ties are broken by reservoir sampling, so
    /// each tied server is equally likely.
    fn pick(&self, _key: Option<u64>, view: &dyn View) -> Option<usize> {
        let mut best: Option<(usize, u64)> = None;
        let mut ties = 0u64;
        for (i, &w) in self.weights.iter().enumerate() {
            if !view.is_eligible(i) {
                continue;
            }
            let load = view.in_flight(i);
            match best {
                // load_i / w_i < load_b / w_b  <=>  load_i * w_b < load_b * w_i
                Some((b, bl)) if load * self.weights[b] > bl * w => {}
                Some((b, bl)) if load * self.weights[b] == bl * w => {
                    ties += 1;
                    if self.random.next_u64() % ties == 0 {
                        best = Some((i, load));
                    }
                }
                _ => {
                    best = Some((i, load));
                    ties = 1;
                }
            }
        }
        best.map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{All, Seeded};
    use super::*;

    struct Loads(Vec<u64>, Vec<bool>);
    impl View for Loads {
        fn is_eligible(&self, i: usize) -> bool {
            self.1[i]
        }
        fn in_flight(&self, i: usize) -> u64 {
            self.0[i]
        }
    }

    fn members(weights: &[u32]) -> Vec<Member> {
        weights
            .iter()
            .enumerate()
            .map(|(i, &weight)| Member { id: format!("10.0.0.{i}:80"), weight })
            .collect()
    }

    #[test]
    fn fewest_in_flight_relative_to_weight() {
        let lc = LeastConnections::with_random(&members(&[1, 1, 1]), Seeded::new(1));
        assert_eq!(lc.pick(None, &Loads(vec![3, 1, 2], vec![true; 3])), Some(1));
        assert_eq!(lc.pick(None, &Loads(vec![3, 0, 2], vec![true, false, true])), Some(2));
        let weighted = LeastConnections::with_random(&members(&[1, 4]), Seeded::new(1));
        assert_eq!(weighted.pick(None, &Loads(vec![1, 3], vec![true; 2])), Some(1), "3/4 < 1/1");
        assert_eq!(weighted.pick(None, &Loads(vec![1, 5], vec![true; 2])), Some(0), "1/1 < 5/4");
        assert_eq!(lc.pick(None, &Loads(vec![0; 3], vec![false; 3])), None);
        assert_eq!(LeastConnections::new(&[]).pick(None, &All), None);
    }

    #[test]
    fn ties_are_broken_without_bias() {
        let lc = LeastConnections::with_random(&members(&[1, 1, 1, 1]), Seeded::new(7));
        let view = Loads(vec![2, 0, 0, 0], vec![true; 4]);
        let mut counts = [0u32; 4];
        for _ in 0..30_000 {
            counts[lc.pick(None, &view).unwrap()] += 1;
        }
        assert_eq!(counts[0], 0);
        for c in &counts[1..] {
            assert!((*c as i64 - 10_000).abs() < 500, "{counts:?}");
        }
    }
}
