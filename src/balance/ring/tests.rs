//! Ring quality over 100,000 keys: balance, movement, order independence, weights.

use super::super::quality::*;
use super::super::{hash_key, All, Balancer, Bound, Member};
use super::Ring;

fn build(ms: &[Member]) -> Box<dyn Balancer> {
    Box::new(Ring::new(ms))
}

#[test]
fn balance_max_over_mean_at_most_1_10() {
    let keys = keys();
    for n in [4, 10, 100] {
        let ring = Ring::new(&members(n));
        let sampled = sampled_max_over_mean(&ring, n, &keys);
        let exact = exact_max_over_mean(&ring.shares());
        eprintln!("ring n={n}: sampled max/mean {sampled:.4}, keyspace {exact:.4}");
        assert!(sampled <= 1.10, "n={n}: sampled max/mean {sampled}");
        assert!(exact <= 1.10, "n={n}: keyspace max/mean {exact}");
        assert!((ring.shares().iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }
}

#[test]
fn adding_or_removing_one_moves_at_most_1_1_over_n() {
    check_movement_at_sizes("ring", &build, 1.1, true);
}

#[test]
fn reordering_servers_moves_no_key() {
    check_order_independence(&build, &keys());
}

#[test]
fn weights_set_shares() {
    check_weights(&|ms| Ring::new(ms).shares(), 0.05);
}

#[test]
fn ineligible_moves_only_its_keys_and_they_return() {
    let keys = keys();
    let ring = Ring::new(&members(10));
    let mut eligible = vec![true; 10];
    eligible[3] = false;
    let all: Vec<usize> = keys.iter().map(|&k| ring.pick(Some(k), &All).unwrap()).collect();
    let without: Vec<usize> = keys.iter().map(|&k| ring.pick(Some(k), &eligible).unwrap()).collect();
    for (a, w) in all.iter().zip(&without) {
        assert_ne!(*w, 3);
        if *a != 3 {
            assert_eq!(a, w);
        }
    }
    assert!(all.iter().filter(|&&a| a == 3).count() > KEYS / 20);
    let back: Vec<usize> = keys.iter().map(|&k| ring.pick(Some(k), &All).unwrap()).collect();
    assert_eq!(all, back);
}

#[test]
fn edges_empty_none_eligible_no_key() {
    let ring = Ring::new(&[]);
    assert!(ring.is_empty());
    assert_eq!(ring.pick(Some(1), &All), None);
    let ring = Ring::new(&members(3));
    assert_eq!(ring.len(), 3 * 4096);
    assert_eq!(ring.pick(Some(1), &[false, false, false]), None);
    assert_eq!(ring.pick(None, &All), None);
    let one = Ring::new(&members(1));
    assert!((one.shares()[0] - 1.0).abs() < 1e-9);
    assert_eq!(one.pick(Some(u64::MAX), &All), Some(0));
}

#[test]
fn huge_pools_are_capped() {
    let ms: Vec<Member> = (0..2000)
        .map(|i| Member {
            id: format!("10.2.{}.{}:80", i / 250, i % 250),
            weight: 1000,
        })
        .collect();
    let ring = Ring::new(&ms);
    assert!(ring.len() as u64 <= super::MAX_POINTS);
    assert_eq!(ring.len(), 2000 * 2000);
}

#[test]
fn bounded_load_caps_the_hot_home() {
    let ms = members(4);
    let ring = Ring::new(&ms).with_bound(Bound::new(1.5, &ms));
    let hot = hash_key(b"hot");
    let home = Ring::new(&ms).pick(Some(hot), &All).unwrap();
    struct Busy(usize);
    impl super::super::View for Busy {
        fn is_eligible(&self, _: usize) -> bool {
            true
        }
        fn in_flight(&self, i: usize) -> u64 {
            if i == self.0 {
                4
            } else {
                0
            }
        }
    }
    // cap = ceil(1.5 * 5 / 4) = 2; home holds 4
    let went = ring.pick(Some(hot), &Busy(home)).unwrap();
    assert_ne!(went, home);
    assert_eq!(ring.overflows(), 1);
    assert_eq!(ring.pick(Some(hot), &All), Some(home), "idle pool: the key is home");
}

#[test]
fn mapping_is_stable_across_builds() {
    // Pinned once from this implementation: a change here breaks every
    // deployed instance's key placement, so it must be deliberate.
    let ms = members(5);
    let ring = Ring::new(&ms);
    let got: Vec<usize> = ["alice", "bob", "carol", "dave", "erin"]
        .iter()
        .map(|k| ring.pick(Some(hash_key(k.as_bytes())), &All).unwrap())
        .collect();
    assert_eq!(got, PINNED);
}

const PINNED: [usize; 5] = [2, 2, 1, 3, 4];

#[test]
fn the_index_finds_the_same_point_as_a_search_of_the_whole_ring() {
    // every index size, from one bucket to the most, against the plain rule:
    // the first point at or after the hash, wrapping to the first
    for n in [1, 2, 3, 4, 10, 100] {
        let ring = Ring::new(&members(n));
        let (positions, owners) = ring.points();
        let mut hash = 0x9e37_79b9_7f4a_7c15u64;
        let edges = positions
            .iter()
            .flat_map(|&p| [p, p.wrapping_add(1), p.wrapping_sub(1)]);
        let randoms = (0..20_000).map(|_| {
            hash = hash.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            hash
        });
        for h in edges.take(3_000).chain(randoms).chain([0, u64::MAX]) {
            let plain = positions.partition_point(|&p| p < h) % positions.len();
            assert_eq!(ring.first_point(h), plain, "n={n} hash={h:#x}");
            assert_eq!(ring.pick(Some(h), &All), Some(owners[plain] as usize));
        }
    }
}
