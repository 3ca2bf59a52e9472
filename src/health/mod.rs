//! Health: the pure per-server state machine (active rise/fall, passive
//! outlier ejection) and the probe tasks that drive it.
//!
//! A server is eligible when it is healthy and not ejected. It starts healthy
//! (and a reload that adds it starts it healthy); its state is shared by every
//! snapshot that keeps its address.

mod probe;

pub use probe::{spawn_probes, Probes};

use crate::config::{HealthCheckConfig, OutlierConfig};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// A change worth a log line and a metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Active checks passed `healthy_threshold` times in a row.
    Healthy,
    /// Active checks failed `unhealthy_threshold` times in a row.
    Unhealthy,
    /// Live traffic failed `consecutive_failures` times in a row: ejected for
    /// `duration`; `epoch` identifies this ejection for [`Health::end_ejection`].
    Ejected { duration: Duration, epoch: u64 },
    /// A passing active check ended an ejection early.
    EjectionEnded,
}

#[derive(Debug, Default)]
struct Counters {
    passes: u32,
    fails: u32,
    live_failures: u32,
    ejections: u32,
    epoch: u64,
}

/// One server's health.
#[derive(Debug)]
pub struct Health {
    healthy: AtomicBool,
    ejected: AtomicBool,
    /// When it last became eligible after start-up (`upstream::now_ns`), 0
    /// when eligible since start-up: where a slow-start ramp begins.
    since: AtomicU64,
    counters: Mutex<Counters>,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            healthy: AtomicBool::new(true),
            ejected: AtomicBool::new(false),
            since: AtomicU64::new(0),
            counters: Mutex::default(),
        }
    }
}

impl Health {
    /// Healthy and not ejected: the one notion every algorithm uses.
    #[inline]
    pub fn eligible(&self) -> bool {
        self.healthy.load(Ordering::Relaxed) && !self.ejected.load(Ordering::Relaxed)
    }

    /// A server added after start-up (by a reload or DNS): eligible from now.
    pub fn added() -> Self {
        let h = Self::default();
        h.became_eligible();
        h
    }

    /// When the server last became eligible after start-up; 0 for never.
    pub fn eligible_since(&self) -> u64 {
        self.since.load(Ordering::Relaxed)
    }

    fn became_eligible(&self) {
        if self.eligible() {
            self.since.store(crate::upstream::now_ns(), Ordering::Relaxed);
        }
    }

    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    pub fn ejected(&self) -> bool {
        self.ejected.load(Ordering::Relaxed)
    }

    /// Ejections so far.
    pub fn ejections(&self) -> u32 {
        self.lock().ejections
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.counters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records an active check; returns the transitions it caused.
    pub fn check(&self, pass: bool, cfg: &HealthCheckConfig) -> Vec<Transition> {
        let mut c = self.lock();
        let mut out = Vec::new();
        if pass {
            c.passes = c.passes.saturating_add(1);
            c.fails = 0;
            if !self.healthy() && c.passes >= cfg.healthy_threshold {
                self.healthy.store(true, Ordering::Relaxed);
                self.became_eligible();
                out.push(Transition::Healthy);
            }
            if self.ejected() {
                self.ejected.store(false, Ordering::Relaxed);
                c.live_failures = 0;
                self.became_eligible();
                out.push(Transition::EjectionEnded);
            }
        } else {
            c.fails = c.fails.saturating_add(1);
            c.passes = 0;
            if self.healthy() && c.fails >= cfg.unhealthy_threshold {
                self.healthy.store(false, Ordering::Relaxed);
                out.push(Transition::Unhealthy);
            }
        }
        out
    }

    /// Records a live request's outcome. After `consecutive_failures` failures
    /// in a row the server is ejected for base x ejections so far (capped at
    /// 10x), if `may_eject` allows (the pool's `max_ejection_percent`).
    pub fn live(&self, failed: bool, cfg: &OutlierConfig, may_eject: impl FnOnce() -> bool) -> Option<Transition> {
        let mut c = self.lock();
        if !failed {
            c.live_failures = 0;
            return None;
        }
        if self.ejected() {
            return None; // requests that were in flight when it was ejected do not count again
        }
        c.live_failures = c.live_failures.saturating_add(1);
        if c.live_failures < cfg.consecutive_failures || !may_eject() {
            return None;
        }
        c.live_failures = 0;
        c.ejections = c.ejections.saturating_add(1);
        c.epoch += 1;
        self.ejected.store(true, Ordering::Relaxed);
        Some(Transition::Ejected {
            duration: cfg.base_ejection_time * c.ejections.min(10),
            epoch: c.epoch,
        })
    }

    /// Ends ejection `epoch` when its time is up; false when it already ended
    /// (early, by a passing check) or a newer ejection replaced it.
    pub fn end_ejection(&self, epoch: u64) -> bool {
        let c = self.lock();
        if c.epoch == epoch && self.ejected() {
            self.ejected.store(false, Ordering::Relaxed);
            self.became_eligible();
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests;
