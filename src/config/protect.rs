//! Validation of a pool's protections (SPEC §2.4): `max_in_flight` with its
//! `queue`, `slow_start` and `retries.budget`.

use super::schema::RawQueue;
use super::validate::Ctx;
use serde_yaml::Value;
use std::time::Duration;

/// A pool's protections; every field off by default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Protection {
    /// Requests in flight per server at most (HAProxy `maxconn`).
    pub max_in_flight: Option<u32>,
    /// Where requests wait when every eligible server is full.
    pub queue: QueueConfig,
    /// Ramp of a server that becomes eligible after start-up.
    pub slow_start: Option<Duration>,
    /// Retries in flight at most this share (0.01..=1.0) of requests in flight.
    pub retry_budget: Option<f64>,
}

/// The pool's FIFO queue of requests waiting for a free slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    /// Requests waiting at most (not counting those in flight); 0 = 503 at once.
    pub max: u32,
    /// Longest wait before a 503.
    pub timeout: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            max: 1000,
            timeout: Duration::from_secs(5),
        }
    }
}

/// Retries always allowed in flight, whatever the budget (Envoy's `min_retry_concurrency`).
pub const MIN_RETRY_CONCURRENCY: u64 = 3;

const MAX_IN_FLIGHT: u64 = 1_000_000;
const MAX_QUEUE: u64 = 1_000_000;

/// The raw protection keys of one upstream.
pub(super) struct RawProtection {
    pub max_in_flight: Option<Value>,
    pub queue: Option<RawQueue>,
    pub slow_start: Option<Value>,
    pub budget: Option<Value>,
}

pub(super) fn protection(cx: &mut Ctx, path: &str, raw: RawProtection) -> Protection {
    let d = Protection::default();
    let max_in_flight = raw.max_in_flight.map(|v| {
        let key = format!("{path}.max_in_flight");
        super::limits::int(cx, &key, Some(v), 1, 1, MAX_IN_FLIGHT) as u32
    });
    let queue = match raw.queue {
        None => d.queue,
        Some(q) => {
            let qpath = format!("{path}.queue");
            if max_in_flight.is_none() {
                cx.err(
                    &qpath,
                    "only with max_in_flight: requests queue when every server is at its limit",
                );
            }
            let max = super::limits::int(cx, &format!("{qpath}.max"), q.max, d.queue.max.into(), 0, MAX_QUEUE);
            let tpath = format!("{qpath}.timeout");
            let timeout = cx.duration(q.timeout, &tpath, d.queue.timeout);
            if timeout.is_zero() || timeout > Duration::from_secs(3600) {
                cx.err(&tpath, format!("must be from 1ms to 1h, found {timeout:?}"));
            }
            QueueConfig {
                max: max as u32,
                timeout,
            }
        }
    };
    let slow_start = raw.slow_start.map(|v| {
        let spath = format!("{path}.slow_start");
        let window = cx.duration(Some(v), &spath, Duration::from_secs(1));
        if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&window) {
            cx.err(&spath, format!("must be from 1s to 1h, found {window:?}"));
        }
        window
    });
    let retry_budget = raw.budget.and_then(|v| {
        let bpath = format!("{path}.retries.budget");
        let share = percent(&v);
        if share.is_none() {
            cx.err(
                &bpath,
                format!(
                    "must be a share from 1% to 100% such as 20%, found {}",
                    super::validate::shown(&v)
                ),
            );
        }
        share
    });
    Protection {
        max_in_flight,
        queue,
        slow_start,
        retry_budget,
    }
}

/// `20%` (or `20.5%`) as 0.2; None outside 1%..=100%.
fn percent(v: &Value) -> Option<f64> {
    let text = v.as_str()?.trim().strip_suffix('%')?;
    let n: f64 = text.trim().parse().ok()?;
    (1.0..=100.0).contains(&n).then_some(n / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_reads_shares_from_one_to_a_hundred() {
        assert_eq!(percent(&Value::from("20%")), Some(0.2));
        assert_eq!(percent(&Value::from("100%")), Some(1.0));
        assert_eq!(percent(&Value::from("0.5%")), None);
        assert_eq!(percent(&Value::from("101%")), None);
        assert_eq!(percent(&Value::from("20")), None);
        assert_eq!(percent(&Value::from(20)), None);
    }
}
