//! Maglev quality over 100,000 keys, weights, eligibility and bounded loads.

use super::super::quality::*;
use super::super::{hash_key, All, Balancer, Bound, Member};
use super::{Maglev, DEFAULT_TABLE_SIZE};

fn build(ms: &[Member]) -> Box<dyn Balancer> {
    Box::new(Maglev::new(ms, DEFAULT_TABLE_SIZE))
}

#[test]
fn balance_exact_share_at_most_1_02() {
    let keys = keys();
    for n in [4, 10, 100] {
        let m = Maglev::new(&members(n), DEFAULT_TABLE_SIZE);
        let exact = exact_max_over_mean(&m.shares());
        eprintln!(
            "maglev n={n}: table max/mean {exact:.4}, sampled {:.4}",
            sampled_max_over_mean(&m, n, &keys)
        );
        assert!(exact <= 1.02, "n={n}: table max/mean {exact}");
        assert!(m.table().iter().all(|&o| (o as usize) < n), "every entry is filled");
    }
}

#[test]
fn adding_or_removing_one_moves_at_most_1_7_over_n() {
    check_movement_at_sizes("maglev", &build, 1.7, false);
}

#[test]
fn reordering_servers_moves_no_key() {
    check_order_independence(&build, &keys());
}

#[test]
fn weights_set_shares() {
    check_weights(&|ms| Maglev::new(ms, DEFAULT_TABLE_SIZE).shares(), 0.02);
}

#[test]
fn ineligible_moves_only_its_keys_and_edges() {
    let keys = keys();
    let m = Maglev::new(&members(10), DEFAULT_TABLE_SIZE);
    let mut eligible = vec![true; 10];
    eligible[4] = false;
    for &k in &keys[..10_000] {
        let home = m.pick(Some(k), &All).unwrap();
        let now = m.pick(Some(k), &eligible).unwrap();
        assert_ne!(now, 4);
        if home != 4 {
            assert_eq!(home, now);
        }
    }
    assert_eq!(m.pick(None, &All), None);
    assert_eq!(m.pick(Some(1), &vec![false; 10]), None);
    assert_eq!(Maglev::new(&[], DEFAULT_TABLE_SIZE).pick(Some(1), &All), None);
}

#[test]
fn bounded_load_sends_overflow_onward_and_keeps_other_keys_home() {
    let ms = members(4);
    let plain = Maglev::new(&ms, DEFAULT_TABLE_SIZE);
    let bounded = Maglev::new(&ms, DEFAULT_TABLE_SIZE).with_bound(Bound::new(1.25, &ms));
    let hot = hash_key(b"hot");
    let home = plain.pick(Some(hot), &All).unwrap();
    // home already holds 5 of 8 in flight: cap = ceil(1.25 * 9 / 4) = 3
    let mut load = vec![1u64; 4];
    load[home] = 5;
    let view = Busy(load);
    let went = bounded.pick(Some(hot), &view).unwrap();
    assert_ne!(went, home, "the full home is passed over");
    assert_eq!(bounded.overflows(), 1);
    // keys whose home is not full stay home
    let mut stayed = 0;
    for i in 0..1000u64 {
        let k = hash_key(&i.to_le_bytes());
        let h = plain.pick(Some(k), &All).unwrap();
        if h != home {
            assert_eq!(bounded.pick(Some(k), &view), Some(h));
            stayed += 1;
        }
    }
    assert!(stayed > 600);
}
