//! Active health check tasks: one per checked server, spread over the
//! interval, off the request path; stopped when the snapshot they belong to
//! is replaced (a reload starts fresh ones for the servers that stay, whose
//! health state carries over).

use super::{Health, Transition};
use crate::config::HealthCheckConfig;
use crate::metrics::Metrics;
use crate::state::Snapshot;
use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;

/// The running probes of one snapshot; dropping this stops them.
pub struct Probes {
    stop: watch::Sender<bool>,
}

impl Drop for Probes {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

type CheckClient = Client<HttpConnector, Empty<Bytes>>;

/// Starts probes for every server of every upstream with `health_check`.
/// (The health and ejection gauges are read from the servers when scraped.)
pub fn spawn_probes(snapshot: &Snapshot, metrics: &Arc<Metrics>) -> Probes {
    let (stop, stopped) = watch::channel(false);
    for (u, cfg) in snapshot.upstreams.iter().zip(&snapshot.config.upstreams) {
        let Some(check) = &cfg.health_check else { continue };
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(check.timeout));
        // a fresh connection per check: a check proves the server still accepts
        let client: CheckClient = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(connector);
        for s in &u.servers {
            let probe = Probe {
                upstream: u.name.clone(),
                server: s.id.clone(),
                address: s.address,
                health: s.health.clone(),
                check: check.clone(),
                client: client.clone(),
                metrics: metrics.clone(),
            };
            tokio::spawn(probe.run(stopped.clone()));
        }
    }
    Probes { stop }
}

struct Probe {
    upstream: String,
    server: String,
    address: SocketAddr,
    health: Arc<Health>,
    check: HealthCheckConfig,
    client: CheckClient,
    metrics: Arc<Metrics>,
}

impl Probe {
    /// First check after a delay derived from the server's address, so the
    /// servers of a pool are spread over the interval; then every interval.
    async fn run(self, mut stop: watch::Receiver<bool>) {
        let spread = crate::balance::hash_key(self.server.as_bytes()) % 1000;
        let mut delay = self.check.interval.mul_f64(spread as f64 / 1000.0);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let outcome = self.check_once().await;
            self.record(outcome);
            delay = self.check.interval;
        }
    }

    async fn check_once(&self) -> Result<(), String> {
        let uri = format!("http://{}{}", self.address, self.check.path);
        let sent = tokio::time::timeout(
            self.check.timeout,
            self.client.get(uri.parse().map_err(|e| format!("{e}"))?),
        );
        match sent.await {
            Err(_) => Err(format!("no answer within {:?}", self.check.timeout)),
            Ok(Err(e)) => Err(crate::proxy::error_chain(&e)),
            Ok(Ok(resp)) => {
                let code = resp.status().as_u16();
                let (lo, hi) = self.check.expected_status;
                if (lo..=hi).contains(&code) {
                    Ok(())
                } else {
                    Err(format!("status {code}, expected {lo}-{hi}"))
                }
            }
        }
    }

    fn record(&self, outcome: Result<(), String>) {
        let pass = outcome.is_ok();
        self.metrics.health_check(&self.upstream, &self.server, pass);
        for t in self.health.check(pass, &self.check) {
            match (&t, &outcome) {
                (Transition::Unhealthy, Err(why)) => tracing::warn!(
                    "upstream {} server {} is unhealthy: {} failed checks in a row (last: {why})",
                    self.upstream,
                    self.server,
                    self.check.unhealthy_threshold
                ),
                (Transition::Healthy, _) => tracing::info!(
                    "upstream {} server {} is healthy again: {} passing checks in a row",
                    self.upstream,
                    self.server,
                    self.check.healthy_threshold
                ),
                (Transition::EjectionEnded, _) => tracing::info!(
                    "upstream {} server {}: ejection ended early by a passing check",
                    self.upstream,
                    self.server
                ),
                _ => {}
            }
        }
    }
}
