//! Consistent hashing with bounded loads (Mirrokni et al.; Google, Vimeo).
//!
//! No server may take more than ceil(c x mean in-flight), the mean counting
//! the request being placed and scaled by weight; a key whose home is full
//! walks on along the ring or table, so most keys keep their home.

use super::{Member, View};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A load bound for a hash algorithm.
#[derive(Debug)]
pub struct Bound {
    factor: f64,
    weights: Vec<u32>,
    overflows: Arc<AtomicU64>,
}

/// The caps in force for one pick.
pub struct Caps<'a> {
    factor: f64,
    total: f64,
    weight_sum: f64,
    weights: &'a [u32],
}

impl Bound {
    /// `factor` is at least 1.0 (validation ensures it).
    pub fn new(factor: f64, members: &[Member]) -> Self {
        Self::counting(factor, members, Arc::default())
    }

    /// Like `new`, counting overflows in `overflows` (which may outlive this
    /// bound, e.g. across reloads).
    pub fn counting(factor: f64, members: &[Member], overflows: Arc<AtomicU64>) -> Self {
        Self {
            factor,
            weights: members.iter().map(|m| m.weight.max(1)).collect(),
            overflows,
        }
    }

    /// Reads the eligible servers' in-flight counts once for this pick.
    pub fn caps(&self, view: &dyn View) -> Caps<'_> {
        let (mut total, mut weight_sum) = (0u64, 0u64);
        for (i, &w) in self.weights.iter().enumerate() {
            if view.is_eligible(i) {
                total += view.in_flight(i);
                weight_sum += w as u64;
            }
        }
        Caps {
            factor: self.factor,
            total: total as f64 + 1.0,
            weight_sum: weight_sum.max(1) as f64,
            weights: &self.weights,
        }
    }

    /// Counts a key sent past its home.
    pub fn overflowed(&self) {
        self.overflows.fetch_add(1, Ordering::Relaxed);
    }

    /// Keys sent past their home so far.
    pub fn overflows(&self) -> u64 {
        self.overflows.load(Ordering::Relaxed)
    }
}

impl Caps<'_> {
    /// Whether server `i` (eligible) can take one more request.
    pub fn admits(&self, i: usize, view: &dyn View) -> bool {
        let share = self.weights.get(i).copied().unwrap_or(1) as f64 / self.weight_sum;
        // slow start scales a ramping server's cap, so its keys overflow on
        let cap = (self.factor * self.total * share * view.ramp(i)).ceil();
        (view.in_flight(i) as f64) < cap
    }
}

/// Walks candidate owners in order and returns the first eligible one under its
/// cap (or, without a bound, the first eligible one), counting an overflow when
/// that is not the first eligible candidate. Some eligible server is always
/// under its cap (the caps add up to more than the load), so a full walk finds
/// one; the first eligible candidate is the answer of last resort.
pub fn walk(owners: impl Iterator<Item = usize>, view: &dyn View, bound: Option<&Bound>) -> Option<usize> {
    let Some(bound) = bound else {
        return owners.into_iter().find(|&o| view.is_eligible(o));
    };
    let caps = bound.caps(view);
    let mut home = None;
    for o in owners.filter(|&o| view.is_eligible(o)) {
        if caps.admits(o, view) {
            if home.is_some_and(|h| h != o) {
                bound.overflowed();
            }
            return Some(o);
        }
        home.get_or_insert(o);
    }
    home
}

#[cfg(test)]
mod tests {
    use super::super::quality::{members, Busy};
    use super::*;

    /// Busy servers, the first ramping up at `ramp` of its weight (slow start).
    struct Ramping(Busy, f64);

    impl View for Ramping {
        fn is_eligible(&self, i: usize) -> bool {
            self.0.is_eligible(i)
        }
        fn in_flight(&self, i: usize) -> u64 {
            self.0.in_flight(i)
        }
        fn ramp(&self, i: usize) -> f64 {
            if i == 0 {
                self.1
            } else {
                1.0
            }
        }
    }

    #[test]
    fn slow_start_scales_a_ramping_servers_cap_so_its_keys_overflow_on() {
        let b = Bound::new(1.25, &members(4));
        // 4 in flight + 1: cap ceil(1.25 x 5 / 4) = 2 at full weight, 1 at a tenth
        let busy = || Busy(vec![1, 1, 1, 1]);
        assert_eq!(walk([0, 1, 2, 3].into_iter(), &busy(), Some(&b)), Some(0));
        assert_eq!(walk([0, 1, 2, 3].into_iter(), &Ramping(busy(), 0.1), Some(&b)), Some(1));
        assert_eq!(walk([0, 1, 2, 3].into_iter(), &Ramping(busy(), 1.0), Some(&b)), Some(0));
    }

    #[test]
    fn a_factor_of_one_caps_every_server_at_the_ceiling_of_the_mean() {
        let b = Bound::new(1.0, &members(4));
        // 7 in flight + the one being placed: a mean of 2, so a server with 2 is full
        let walked = walk([0, 1, 2, 3].into_iter(), &Busy(vec![2, 2, 2, 1]), Some(&b));
        assert_eq!(walked, Some(3));
        assert_eq!(b.overflows(), 1);
        // 9 over 4 servers: ceil(2.25) = 3, so the home takes it
        assert_eq!(
            walk([0, 1, 2, 3].into_iter(), &Busy(vec![2, 2, 2, 2]), Some(&b)),
            Some(0)
        );
        assert_eq!(b.overflows(), 1);
    }
}
