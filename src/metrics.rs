//! Metrics: an owned prometheus Registry with typed handles (no globals, so
//! tests run in parallel). Label values come from the config or a fixed set.

use prometheus::{Encoder, Gauge, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};

/// Every metric fulcrum exports.
pub struct Metrics {
    registry: Registry,
    pub config_reloads: IntCounterVec,
    pub last_reload_success: Gauge,
    pub upstream_server_healthy: IntGaugeVec,
    pub health_checks: IntCounterVec,
    pub outlier_ejections: IntCounterVec,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry.register(Box::new(c.clone())).expect("unique metric");
    c
}

fn gauge_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry.register(Box::new(g.clone())).expect("unique metric");
    g
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let config_reloads = counter(
            &registry,
            "fulcrum_config_reloads_total",
            "Config reloads by result (success or failure).",
            &["result"],
        );
        for result in ["success", "failure"] {
            config_reloads.with_label_values(&[result]);
        }
        let last_reload_success = Gauge::new(
            "fulcrum_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful config load.",
        )
        .expect("valid metric");
        registry
            .register(Box::new(last_reload_success.clone()))
            .expect("unique metric");
        let upstream_server_healthy = gauge_vec(
            &registry,
            "fulcrum_upstream_server_healthy",
            "1 while the server passes its active health checks (always 1 without checks).",
            &["upstream", "server"],
        );
        let health_checks = counter(
            &registry,
            "fulcrum_health_checks_total",
            "Active health checks by result (pass or fail).",
            &["upstream", "server", "result"],
        );
        let outlier_ejections = counter(
            &registry,
            "fulcrum_outlier_ejections_total",
            "Ejections by passive outlier detection.",
            &["upstream", "server"],
        );
        Self {
            registry,
            config_reloads,
            last_reload_success,
            upstream_server_healthy,
            health_checks,
            outlier_ejections,
        }
    }

    /// Counts a reload and, on success, stamps its time.
    pub fn reloaded(&self, ok: bool) {
        self.config_reloads
            .with_label_values(&[if ok { "success" } else { "failure" }])
            .inc();
        if ok {
            self.stamp_success();
        }
    }

    /// Records now as the last successful load.
    pub fn stamp_success(&self) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        self.last_reload_success.set(now.as_secs_f64());
    }

    pub fn set_healthy(&self, upstream: &str, server: &str, healthy: bool) {
        self.upstream_server_healthy
            .with_label_values(&[upstream, server])
            .set(healthy as i64);
    }

    pub fn health_check(&self, upstream: &str, server: &str, pass: bool) {
        self.health_checks
            .with_label_values(&[upstream, server, if pass { "pass" } else { "fail" }])
            .inc();
    }

    pub fn ejected(&self, upstream: &str, server: &str) {
        self.outlier_ejections.with_label_values(&[upstream, server]).inc();
    }

    /// The Prometheus text exposition (0.0.4).
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
