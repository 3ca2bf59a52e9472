//! Metrics: an owned prometheus Registry with typed handles (no globals, so
//! tests run in parallel). Label values come from the config or a fixed set.

use prometheus::{Encoder, Gauge, IntCounterVec, Opts, Registry, TextEncoder};

/// Every metric fulcrum exports.
pub struct Metrics {
    registry: Registry,
    pub config_reloads: IntCounterVec,
    pub last_reload_success: Gauge,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let config_reloads = IntCounterVec::new(
            Opts::new(
                "fulcrum_config_reloads_total",
                "Config reloads by result (success or failure).",
            ),
            &["result"],
        )
        .expect("valid metric");
        let last_reload_success = Gauge::new(
            "fulcrum_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful config load.",
        )
        .expect("valid metric");
        registry
            .register(Box::new(config_reloads.clone()))
            .expect("unique metric");
        registry
            .register(Box::new(last_reload_success.clone()))
            .expect("unique metric");
        for result in ["success", "failure"] {
            config_reloads.with_label_values(&[result]);
        }
        Self {
            registry,
            config_reloads,
            last_reload_success,
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
