//! Taking a slot on a server: the pick, `max_in_flight`, slow start for
//! algorithms that do not hash, and the retry budget.

use super::{InFlight, KeyInput, LiveView, SelectError, Upstream, Why};
use crate::balance::{Balancer, View};
use crate::config::MIN_RETRY_CONCURRENCY;
use std::sync::atomic::Ordering;

/// Picks that lose a race for a server's last slot before the request queues.
const RACES: usize = 4;

impl Upstream {
    /// Picks a server and counts the request on it, setting aside the
    /// servers in `tried`. `retry` spends the pool's retry budget. Fails
    /// with `Full` when every eligible server is at `max_in_flight` (or,
    /// for a new request, others already queue, so it waits behind them).
    pub fn acquire(
        &self,
        req: &KeyInput<'_>,
        tried: &[usize],
        retry: bool,
    ) -> Result<(usize, Why<'_>, InFlight), SelectError> {
        if retry {
            self.spend_retry()?;
        }
        let picked = self.acquire_slot(req, tried, retry);
        if retry && picked.is_err() {
            self.shared.retries.fetch_sub(1, Ordering::Relaxed);
        }
        picked
    }

    fn acquire_slot(
        &self,
        req: &KeyInput<'_>,
        tried: &[usize],
        retry: bool,
    ) -> Result<(usize, Why<'_>, InFlight), SelectError> {
        let full = || SelectError::Full {
            upstream: self.name.clone(),
        };
        if self.max_in_flight == u64::MAX {
            // the hot path: no limit, so nothing to race for
            let _admission = self.admission();
            let (i, why) = self.select_among(req, &LiveView::new(self).without(tried))?;
            let guard = InFlight::try_start(self, i, retry).expect("no limit");
            return Ok((i, why, guard));
        }
        for _ in 0..RACES {
            let _admission = self.admission();
            let view = LiveView::new(self).without(tried);
            let (i, why) = match self.select_among(req, &view) {
                Err(SelectError::NoEligible { .. }) if view.any_healthy() => return Err(full()),
                other => other?,
            };
            if let Some(guard) = InFlight::try_start(self, i, retry) {
                return Ok((i, why, guard));
            }
        }
        Err(full())
    }

    /// Counts one more retry in flight, or refuses it over `retries.budget`.
    fn spend_retry(&self) -> Result<(), SelectError> {
        let Some(budget) = self.retry_budget else {
            return Ok(());
        };
        let in_flight: u64 = self.servers.iter().map(|s| s.load.in_flight()).sum();
        let allowed = ((budget * in_flight as f64) as u64).max(MIN_RETRY_CONCURRENCY);
        let now = self.shared.retries.fetch_add(1, Ordering::Relaxed) + 1;
        if now > allowed {
            self.shared.retries.fetch_sub(1, Ordering::Relaxed);
            return Err(SelectError::Budget {
                upstream: self.name.clone(),
            });
        }
        Ok(())
    }

    /// Slow start for picks that do not hash: a ramping server the
    /// algorithm picked is kept with the probability of its ramp, else the
    /// request goes to another eligible server by weight (kept when nobody
    /// else can take it). Asking the algorithm again would bias the share:
    /// round robin would offer the same server the very next turn.
    pub(super) fn ramped(&self, view: &dyn View, pick: impl Fn(&dyn View) -> Option<usize>) -> Option<usize> {
        let i = pick(view)?;
        if self.slow_start.is_none() {
            return Some(i);
        }
        let share = view.ramp(i);
        if share >= 1.0 || fastrand::f64() < share {
            return Some(i);
        }
        Some(self.spread.pick(None, &Except { view, index: i }).unwrap_or(i))
    }
}

/// A view with one more server set aside.
struct Except<'a> {
    view: &'a dyn View,
    index: usize,
}

impl View for Except<'_> {
    fn is_eligible(&self, index: usize) -> bool {
        index != self.index && self.view.is_eligible(index)
    }

    fn in_flight(&self, index: usize) -> u64 {
        self.view.in_flight(index)
    }

    fn latency_ns(&self, index: usize) -> f64 {
        self.view.latency_ns(index)
    }

    fn ramp(&self, index: usize) -> f64 {
        self.view.ramp(index)
    }
}
