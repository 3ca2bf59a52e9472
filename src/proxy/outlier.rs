//! Passive outlier detection on live traffic: feed each outcome to the pool,
//! and time the ejections it decides.

use crate::health::Transition;
use crate::metrics::Metrics;
use crate::upstream::Upstream;
use std::sync::Arc;

/// Records one request's outcome; on an ejection, logs it, counts it and
/// schedules its end.
pub fn record(upstream: &Upstream, server: usize, failed: bool, metrics: &Arc<Metrics>) {
    let Some(Transition::Ejected { duration, epoch }) = upstream.record(server, failed) else {
        return;
    };
    let s = &upstream.servers[server];
    tracing::warn!(
        "upstream {} server {} ejected for {duration:?}: consecutive failures on live traffic",
        upstream.name,
        s.id
    );
    metrics.ejected(&upstream.name, &s.id);
    let (health, name, id) = (s.health.clone(), upstream.name.clone(), s.id.clone());
    tokio::spawn(async move {
        tokio::time::sleep(duration).await;
        if health.end_ejection(epoch) {
            tracing::info!("upstream {name} server {id} returns after its ejection");
        }
    });
}
