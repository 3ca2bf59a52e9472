//! The balancers' invariants for any servers, weights, eligibility and keys:
//! never an ineligible pick, a pick whenever someone is eligible, weights
//! kept exactly per cycle, and a bounded-load cap that holds.

use fulcrum::balance::*;
use proptest::prelude::*;
use std::sync::Arc;

fn members(weights: &[u32]) -> Vec<Member> {
    weights
        .iter()
        .enumerate()
        .map(|(i, &w)| Member {
            id: format!("10.0.{}.{}:80", i / 250, i % 250 + 1),
            weight: w,
        })
        .collect()
}

/// Every algorithm over `m`, by name.
fn all(m: &[Member]) -> Vec<(&'static str, Box<dyn Balancer>)> {
    let loads: Vec<Arc<ServerLoad>> = m.iter().map(|_| Arc::default()).collect();
    vec![
        ("ring_hash", Box::new(Ring::new(m))),
        (
            "ring_hash bounded",
            Box::new(Ring::new(m).with_bound(Bound::new(1.25, m))),
        ),
        ("maglev", Box::new(Maglev::new(m, 251))),
        (
            "maglev bounded",
            Box::new(Maglev::new(m, 251).with_bound(Bound::new(1.25, m))),
        ),
        ("weighted_round_robin", Box::new(WeightedRoundRobin::new(m))),
        ("round_robin", Box::new(RoundRobinPick::new(m))),
        ("random", Box::new(RandomPick::new(m))),
        ("least_connections", Box::new(LeastConnections::new(m, loads))),
        ("p2c_ewma", Box::new(P2cEwma::new(m))),
    ]
}

/// A view with eligibility and in-flight counts.
struct Live {
    eligible: Vec<bool>,
    in_flight: Vec<u64>,
}

impl View for Live {
    fn is_eligible(&self, i: usize) -> bool {
        self.eligible[i]
    }
    fn in_flight(&self, i: usize) -> u64 {
        self.in_flight[i]
    }
}

proptest! {
    // building nine balancers (ring points, a Maglev table) per case is the cost here
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_algorithm_picks_an_ineligible_server_and_each_picks_when_it_can(
        weights in prop::collection::vec(1u32..4, 1..12),
        eligible_bits in any::<u16>(),
        keys in prop::collection::vec(any::<u64>(), 1..40),
    ) {
        let m = members(&weights);
        let eligible: Vec<bool> = (0..m.len()).map(|i| eligible_bits >> i & 1 == 1).collect();
        let anyone = eligible.contains(&true);
        let view = Live { eligible: eligible.clone(), in_flight: vec![0; m.len()] };
        for (name, b) in all(&m) {
            for &key in &keys {
                let got = b.pick(Some(key), &view);
                match got {
                    Some(i) => prop_assert!(eligible[i], "{} picked ineligible {}", name, i),
                    None => prop_assert!(!anyone, "{} picked nobody with {:?} eligible", name, eligible),
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn smooth_wrr_keeps_every_weight_exactly_per_cycle(weights in prop::collection::vec(1u32..30, 1..10)) {
        let m = members(&weights);
        let wrr = WeightedRoundRobin::new(&m);
        let g = weights.iter().fold(0u32, |g, &w| num_gcd(g, w));
        let total: u32 = weights.iter().map(|w| w / g).sum();
        let mut counts = vec![0u32; m.len()];
        for _ in 0..total {
            counts[wrr.pick(None, &All).unwrap()] += 1;
        }
        let want: Vec<u32> = weights.iter().map(|w| w / g).collect();
        prop_assert_eq!(counts, want);
    }

    #[test]
    fn bounded_load_never_lets_a_server_past_its_cap(
        weights in prop::collection::vec(1u32..5, 2..8),
        factor in 1.0f64..2.0,
        steps in prop::collection::vec((any::<u64>(), any::<prop::sample::Index>(), prop::bool::ANY), 1..200),
        maglev in prop::bool::ANY,
    ) {
        let m = members(&weights);
        let b: Box<dyn Balancer> = if maglev {
            Box::new(Maglev::new(&m, 251).with_bound(Bound::new(factor, &m)))
        } else {
            Box::new(Ring::new(&m).with_bound(Bound::new(factor, &m)))
        };
        let mut view = Live { eligible: vec![true; m.len()], in_flight: vec![0; m.len()] };
        let weight_sum: u32 = weights.iter().sum();
        for (key, finish, start) in steps {
            if start || view.in_flight.iter().all(|&n| n == 0) {
                let total = view.in_flight.iter().sum::<u64>() as f64 + 1.0;
                let i = b.pick(Some(key), &view).unwrap();
                let cap = (factor * total * weights[i] as f64 / weight_sum as f64).ceil();
                prop_assert!((view.in_flight[i] as f64) < cap, "server {} at {} of cap {}", i, view.in_flight[i], cap);
                view.in_flight[i] += 1;
            } else {
                let busy: Vec<usize> = (0..m.len()).filter(|&i| view.in_flight[i] > 0).collect();
                view.in_flight[busy[finish.index(busy.len())]] -= 1;
            }
        }
    }
}

fn num_gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        num_gcd(b, a % b)
    }
}
