//! Shared quality checks for the hash algorithms over 100,000 keys (tests only).

use super::{hash_key, All, Balancer, Member, View};

pub const KEYS: usize = 100_000;

pub fn members(n: usize) -> Vec<Member> {
    (0..n)
        .map(|i| Member {
            id: format!("10.0.{}.{}:8080", i / 250, i % 250),
            weight: 1,
        })
        .collect()
}

/// Every server eligible, with these in-flight counts.
pub struct Busy(pub Vec<u64>);

impl View for Busy {
    fn is_eligible(&self, _: usize) -> bool {
        true
    }
    fn in_flight(&self, i: usize) -> u64 {
        self.0[i]
    }
}

pub fn keys() -> Vec<u64> {
    (0..KEYS).map(|i| hash_key(format!("user-{i}").as_bytes())).collect()
}

/// Maps every key to the id of its member.
pub fn mapping(b: &dyn Balancer, ms: &[Member], keys: &[u64]) -> Vec<String> {
    keys.iter()
        .map(|&k| ms[b.pick(Some(k), &All).unwrap()].id.clone())
        .collect()
}

/// Sampled max/mean keys per member.
pub fn sampled_max_over_mean(b: &dyn Balancer, n: usize, keys: &[u64]) -> f64 {
    let mut counts = vec![0usize; n];
    for &k in keys {
        counts[b.pick(Some(k), &All).unwrap()] += 1;
    }
    *counts.iter().max().unwrap() as f64 / (keys.len() as f64 / n as f64)
}

/// Largest exact share over the mean.
pub fn exact_max_over_mean(shares: &[f64]) -> f64 {
    shares.iter().cloned().fold(0.0, f64::max) * shares.len() as f64
}

fn moved(a: &[String], b: &[String]) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x != y).count() as f64 / a.len() as f64
}

/// Adds then removes one member of `n`; asserts movement at most `factor` x ideal
/// and, when `minimal` (ring hash; Maglev trades a little disruption for
/// balance), that only the added or removed member's keys move. Returns the
/// (added, removed) moved fractions.
pub fn check_movement(
    build: &dyn Fn(&[Member]) -> Box<dyn Balancer>,
    n: usize,
    factor: f64,
    minimal: bool,
    keys: &[u64],
) -> (f64, f64) {
    let ms = members(n);
    let before = mapping(&*build(&ms), &ms, keys);

    let mut grown = ms.clone();
    grown.push(Member {
        id: "10.9.9.9:8080".into(),
        weight: 1,
    });
    let after = mapping(&*build(&grown), &grown, keys);
    let added = moved(&before, &after);
    assert!(added <= factor / (n + 1) as f64, "add to n={n}: moved {added}");
    assert!(
        !minimal || before.iter().zip(&after).all(|(b, a)| b == a || a == "10.9.9.9:8080"),
        "keys moved between old servers"
    );

    let shrunk: Vec<Member> = ms[1..].to_vec();
    let after = mapping(&*build(&shrunk), &shrunk, keys);
    let removed = moved(&before, &after);
    assert!(removed <= factor / n as f64, "remove from n={n}: moved {removed}");
    assert!(
        !minimal || before.iter().zip(&after).all(|(b, a)| b == a || *b == ms[0].id),
        "keys of staying servers moved"
    );
    (added, removed)
}

/// Reversing and shuffling the member list moves no key.
pub fn check_order_independence(build: &dyn Fn(&[Member]) -> Box<dyn Balancer>, keys: &[u64]) {
    let ms = members(10);
    let mut reordered = ms.clone();
    reordered.reverse();
    reordered.swap(2, 7);
    assert_eq!(
        mapping(&*build(&ms), &ms, keys),
        mapping(&*build(&reordered), &reordered, keys)
    );
}

/// Members of weight 1..=4 get shares within `tolerance` (relative) of w/10.
pub fn check_weights(shares_of: &dyn Fn(&[Member]) -> Vec<f64>, tolerance: f64) {
    let ms: Vec<Member> = (1..=4)
        .map(|w| Member {
            id: format!("10.1.0.{w}:80"),
            weight: w,
        })
        .collect();
    for (m, s) in ms.iter().zip(shares_of(&ms)) {
        let expected = m.weight as f64 / 10.0;
        assert!(
            (s - expected).abs() < expected * tolerance,
            "weight {} share {s}",
            m.weight
        );
    }
}

/// `check_movement` at 4, 10 and 100 members, printing the figures under `name`.
pub fn check_movement_at_sizes(name: &str, build: &dyn Fn(&[Member]) -> Box<dyn Balancer>, factor: f64, minimal: bool) {
    let keys = keys();
    for n in [4, 10, 100] {
        let (added, removed) = check_movement(build, n, factor, minimal, &keys);
        eprintln!(
            "{name} n={n}: add moved {added:.5}, remove moved {removed:.5} (ideal {:.5})",
            1.0 / n as f64
        );
    }
}
