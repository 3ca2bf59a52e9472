//! Power of two random choices by peak-EWMA latency x (in-flight + 1)
//! (linkerd / Finagle): two distinct eligible servers drawn at random, the
//! cheaper wins. Cost is divided by weight, so heavier servers look cheaper.

use super::{Balancer, Member, Random, ThreadRandom, View};

/// Latency assumed for a server with no observation yet (ns).
pub const DEFAULT_RTT_NS: f64 = 1e6;

/// P2C with peak-EWMA cost.
#[derive(Debug)]
pub struct P2cEwma<R: Random = ThreadRandom> {
    weights: Vec<f64>,
    random: R,
}

impl P2cEwma {
    pub fn new(members: &[Member]) -> Self {
        Self::with_random(members, ThreadRandom)
    }
}

impl<R: Random> P2cEwma<R> {
    pub fn with_random(members: &[Member], random: R) -> Self {
        Self {
            weights: members.iter().map(|m| m.weight.max(1) as f64).collect(),
            random,
        }
    }

    fn cost(&self, i: usize, view: &dyn View) -> f64 {
        let rtt = view.latency_ns(i);
        let rtt = if rtt > 0.0 { rtt } else { DEFAULT_RTT_NS };
        rtt * (view.in_flight(i) + 1) as f64 / self.weights[i]
    }

    /// The first eligible index at or after `start`, skipping `not`.
    fn eligible_from(&self, start: usize, not: Option<usize>, view: &dyn View) -> Option<usize> {
        let n = self.weights.len();
        (0..n)
            .map(|s| (start + s) % n)
            .find(|&i| Some(i) != not && view.is_eligible(i))
    }
}

impl<R: Random> Balancer for P2cEwma<R> {
    /// None when nothing is eligible; the only eligible server when there is one.
    fn pick(&self, _key: Option<u64>, view: &dyn View) -> Option<usize> {
        let n = self.weights.len();
        if n == 0 {
            return None;
        }
        let a = self.eligible_from((self.random.next_u64() % n as u64) as usize, None, view)?;
        let Some(b) = self.eligible_from((self.random.next_u64() % n as u64) as usize, Some(a), view) else {
            return Some(a);
        };
        if self.cost(b, view) < self.cost(a, view) {
            Some(b)
        } else {
            Some(a)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Seeded;
    use super::*;

    struct Stats {
        rtt: Vec<f64>,
        in_flight: Vec<u64>,
        eligible: Vec<bool>,
    }
    impl View for Stats {
        fn is_eligible(&self, i: usize) -> bool {
            self.eligible[i]
        }
        fn in_flight(&self, i: usize) -> u64 {
            self.in_flight[i]
        }
        fn latency_ns(&self, i: usize) -> f64 {
            self.rtt[i]
        }
    }

    fn members(n: usize) -> Vec<Member> {
        (0..n)
            .map(|i| Member {
                id: format!("10.0.0.{i}:80"),
                weight: 1,
            })
            .collect()
    }

    #[test]
    fn slow_server_loses_every_comparison() {
        let p = P2cEwma::with_random(&members(4), Seeded::new(3));
        let view = Stats {
            rtt: vec![1e6, 1e6, 100e6, 1e6],
            in_flight: vec![0; 4],
            eligible: vec![true; 4],
        };
        let mut counts = [0u32; 4];
        for _ in 0..10_000 {
            counts[p.pick(None, &view).unwrap()] += 1;
        }
        assert_eq!(counts[2], 0, "{counts:?}");
        for c in [counts[0], counts[1], counts[3]] {
            assert!((c as i64 - 3333).abs() < 400, "{counts:?}");
        }
    }

    #[test]
    fn in_flight_multiplies_cost() {
        let p = P2cEwma::with_random(&members(2), Seeded::new(5));
        let view = Stats {
            rtt: vec![2e6, 1e6],
            in_flight: vec![0, 3],
            eligible: vec![true; 2],
        };
        // 2ms x 1 beats 1ms x 4: with two servers both are always drawn
        for _ in 0..100 {
            assert_eq!(p.pick(None, &view), Some(0));
        }
    }

    #[test]
    fn eligibility_edges() {
        let p = P2cEwma::with_random(&members(3), Seeded::new(9));
        let one = Stats {
            rtt: vec![0.0; 3],
            in_flight: vec![0; 3],
            eligible: vec![false, true, false],
        };
        for _ in 0..20 {
            assert_eq!(p.pick(None, &one), Some(1));
        }
        let none = Stats {
            rtt: vec![0.0; 3],
            in_flight: vec![0; 3],
            eligible: vec![false; 3],
        };
        assert_eq!(p.pick(None, &none), None);
        assert_eq!(P2cEwma::new(&[]).pick(None, &none), None);
    }
}
