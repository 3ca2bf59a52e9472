//! Waiting in a pool's FIFO queue (SPEC §2.4) when every eligible server is
//! at `max_in_flight`: bounded by `queue.max` (503 `queue full` at once) and
//! `queue.timeout` (503 `queue timeout`). A request whose client goes away
//! is dropped here with its future, which takes it out of the line.

use super::action::{key_input, Picked};
use super::facts::Facts;
use super::ProxyError;
use crate::upstream::SelectError;

/// Waits for a slot on pool `pool`, then picks afresh.
pub async fn wait<'a>(facts: &'a Facts, pool: usize, parts: &http::request::Parts) -> Result<Picked<'a>, ProxyError> {
    let upstream = &facts.snap.upstreams[pool];
    let overflow = |reason: &'static str| {
        facts.record(|i| i.upstream = Some(pool));
        let counter = &facts.metrics.upstream_queue_overflow;
        counter.with_label_values(&[&upstream.name, reason]).inc();
        ProxyError::Queue {
            upstream: upstream.name.clone(),
            reason,
        }
    };
    let Some(ticket) = upstream.shared.join(upstream.queue.max as usize) else {
        return Err(overflow("full"));
    };
    let deadline = tokio::time::Instant::now() + upstream.queue.timeout;
    loop {
        if ticket.is_head() {
            match upstream.acquire(&key_input(facts, parts), &[], false) {
                Ok(picked) => return Ok(picked),
                Err(SelectError::Full { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if tokio::time::timeout_at(deadline, ticket.turn()).await.is_err() {
            return Err(overflow("timeout"));
        }
    }
}
