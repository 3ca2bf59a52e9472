//! Metrics: an owned prometheus Registry with typed handles (no globals, so
//! tests run in parallel). Label values come from the config or a fixed set.
//! The per-request series are sharded per worker thread (`shards`).

mod handles;
mod shards;
mod standard;
mod zero;

pub use handles::{next_id, Key};

pub use shards::Sharded;

use crate::state::Snapshot;
use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::collections::HashMap;
use std::sync::Mutex;

/// Request duration buckets (seconds): 50 µs to 30 s (SPEC §5); a proxy on
/// a fast network answers in well under 0.5 ms.
pub const DURATION_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    30.0,
];

/// Every metric fulcrum exports.
pub struct Metrics {
    /// Process-unique: keys the per-thread handle cache.
    id: u64,
    registry: Registry,
    pub config_reloads: IntCounterVec,
    pub last_reload_success: Gauge,
    /// 1 while eligible: healthy by its checks and not ejected (set at scrape).
    pub upstream_server_healthy: IntGaugeVec,
    /// 1 while ejected by outlier detection (set at scrape).
    pub upstream_server_ejected: IntGaugeVec,
    pub health_checks: IntCounterVec,
    pub outlier_ejections: IntCounterVec,
    /// Per worker: count with `requests.local()`.
    pub requests: Sharded<IntCounterVec>,
    /// Per worker: observe with `request_duration.local()`.
    pub request_duration: Sharded<HistogramVec>,
    pub upstream_in_flight: IntGaugeVec,
    pub retries: IntCounterVec,
    /// Retries refused by `retries.budget`.
    pub retries_denied: IntCounterVec,
    /// Requests waiting for a slot (set at scrape).
    pub upstream_queue_depth: IntGaugeVec,
    /// Requests the queue refused (`full`) or gave up on (`timeout`).
    pub upstream_queue_overflow: IntCounterVec,
    pub downstream_connections: IntGaugeVec,
    pub hash_key_missing: IntCounterVec,
    pub hash_keyspace_share: GaugeVec,
    pub bounded_load_overflow: IntCounterVec,
    pub requests_rejected: IntCounterVec,
    pub tls_handshakes: IntCounterVec,
    pub tls_not_after: GaugeVec,
    pub dns_resolutions: IntCounterVec,
    pub mirror_requests: IntCounterVec,
    /// Requests refused by a route's `rate_limit`.
    pub rate_limited: IntCounterVec,
    /// Failures of a shared rate-limit store (requests let through).
    pub rate_limit_store_errors: IntCounterVec,
    /// Requests denied by `access`, `basic_auth` or `forward_auth`.
    pub access_denied: IntCounterVec,
    pub compressed_responses: IntCounterVec,
    /// Overflows already exported, per upstream.
    exported_overflows: Mutex<HashMap<String, u64>>,
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

fn float_gauge_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    let g = GaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry.register(Box::new(g.clone())).expect("unique metric");
    g
}

impl Metrics {
    /// With one shard of the per-request series (one worker).
    pub fn new() -> Self {
        Self::with_shards(1)
    }

    /// With `shards` shards of the per-request series: one per worker thread.
    pub fn with_shards(shards: usize) -> Self {
        let registry = Registry::new();
        standard::register(&registry);
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
            "1 while the server is eligible: healthy by its active checks (always, without checks) and not ejected.",
            &["upstream", "server"],
        );
        let upstream_server_ejected = gauge_vec(
            &registry,
            "fulcrum_upstream_server_ejected",
            "1 while outlier detection has the server ejected.",
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
        let requests = Sharded::register(&registry, shards, || {
            IntCounterVec::new(
                Opts::new(
                    "fulcrum_requests_total",
                    "Requests answered, by route, upstream, server and status code.",
                ),
                &["route", "upstream", "server", "code"],
            )
            .expect("valid metric")
        });
        let request_duration = Sharded::register(&registry, shards, || {
            HistogramVec::new(
                HistogramOpts::new(
                    "fulcrum_request_duration_seconds",
                    "Time from request to the end of the response body.",
                )
                .buckets(DURATION_BUCKETS.to_vec()),
                &["route", "upstream"],
            )
            .expect("valid metric")
        });
        let upstream_in_flight = gauge_vec(
            &registry,
            "fulcrum_upstream_in_flight",
            "Requests in flight per server.",
            &["upstream", "server"],
        );
        let retries = counter(
            &registry,
            "fulcrum_retries_total",
            "Retries to another server.",
            &["upstream"],
        );
        let retries_denied = counter(
            &registry,
            "fulcrum_retries_denied_total",
            "Retries refused because the pool's retry budget was spent.",
            &["upstream"],
        );
        let upstream_queue_depth = gauge_vec(
            &registry,
            "fulcrum_upstream_queue_depth",
            "Requests waiting for a server slot (max_in_flight).",
            &["upstream"],
        );
        let upstream_queue_overflow = counter(
            &registry,
            "fulcrum_upstream_queue_overflow_total",
            "Requests answered 503 by the pool's queue: full, or waited past its timeout.",
            &["upstream", "reason"],
        );
        let rate_limited = counter(
            &registry,
            "fulcrum_rate_limited_total",
            "Requests answered 429 by a route's rate limit.",
            &["route", "policy"],
        );
        let rate_limit_store_errors = counter(
            &registry,
            "fulcrum_rate_limit_store_errors_total",
            "Rate-limit store failures; the request was let through.",
            &["policy"],
        );
        let access_denied = counter(
            &registry,
            "fulcrum_access_denied_total",
            "Requests denied by access rules (ip), basic_auth or forward_auth.",
            &["route", "reason"],
        );
        let downstream_connections = gauge_vec(
            &registry,
            "fulcrum_downstream_connections",
            "Open client connections.",
            &["listener"],
        );
        let hash_key_missing = counter(
            &registry,
            "fulcrum_hash_key_missing_total",
            "Requests to a hash pool without a key, by fallback.",
            &["upstream", "fallback"],
        );
        let hash_keyspace_share = float_gauge_vec(
            &registry,
            "fulcrum_hash_keyspace_share",
            "Share of the keyspace each server of a hash pool owns now.",
            &["upstream", "server"],
        );
        let bounded_load_overflow = counter(
            &registry,
            "fulcrum_bounded_load_overflow_total",
            "Keys sent past their home server by bounded_load.",
            &["upstream"],
        );
        let requests_rejected = counter(
            &registry,
            "fulcrum_requests_rejected_total",
            "Requests rejected before routing, by reason.",
            &["reason"],
        );
        let tls_handshakes = counter(
            &registry,
            "fulcrum_tls_handshakes_total",
            "TLS handshakes on each TLS listener, by result (success or failure).",
            &["listener", "result"],
        );
        let tls_not_after = float_gauge_vec(
            &registry,
            "fulcrum_tls_certificate_not_after_timestamp_seconds",
            "When each served certificate expires (unix seconds), by its first DNS name.",
            &["listener", "name"],
        );
        let dns_resolutions = counter(
            &registry,
            "fulcrum_dns_resolutions_total",
            "DNS resolutions of server names, by result (failure: error, timeout or empty answer).",
            &["upstream", "result"],
        );
        let mirror_requests = counter(
            &registry,
            "fulcrum_mirror_requests_total",
            "Mirror copies by route, mirror pool and result (sent, failed, skipped).",
            &["route", "upstream", "result"],
        );
        let compressed_responses = counter(
            &registry,
            "fulcrum_compressed_responses_total",
            "Responses compressed, by route and encoding.",
            &["route", "encoding"],
        );
        Self {
            id: next_id(),
            registry,
            mirror_requests,
            compressed_responses,
            dns_resolutions,
            tls_handshakes,
            tls_not_after,
            config_reloads,
            last_reload_success,
            upstream_server_healthy,
            upstream_server_ejected,
            health_checks,
            outlier_ejections,
            requests,
            request_duration,
            upstream_in_flight,
            retries,
            retries_denied,
            rate_limited,
            rate_limit_store_errors,
            access_denied,
            upstream_queue_depth,
            upstream_queue_overflow,
            downstream_connections,
            hash_key_missing,
            hash_keyspace_share,
            bounded_load_overflow,
            requests_rejected,
            exported_overflows: Mutex::default(),
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

    pub fn health_check(&self, upstream: &str, server: &str, pass: bool) {
        self.health_checks
            .with_label_values(&[upstream, server, if pass { "pass" } else { "fail" }])
            .inc();
    }

    pub fn ejected(&self, upstream: &str, server: &str) {
        self.outlier_ejections.with_label_values(&[upstream, server]).inc();
    }

    /// Brings the scrape-time figures up to date from the serving snapshot:
    /// in-flight gauges, keyspace shares (with live eligibility), bounded-load
    /// overflows, certificate expiry, and the zero series (`zero`).
    pub fn refresh(&self, snap: &Snapshot) {
        self.upstream_in_flight.reset();
        self.upstream_server_healthy.reset();
        self.upstream_server_ejected.reset();
        self.upstream_queue_depth.reset();
        self.hash_keyspace_share.reset();
        self.tls_not_after.reset();
        self.zero_series(snap);
        for (listener, tls) in &snap.tls {
            for (name, not_after) in tls.certificates.iter() {
                self.tls_not_after
                    .with_label_values(&[listener, name])
                    .set(*not_after as f64);
            }
        }
        let mut exported = self.exported_overflows.lock().unwrap_or_else(|e| e.into_inner());
        for u in &snap.upstreams {
            self.upstream_queue_depth
                .with_label_values(&[&u.name])
                .set(u.shared.depth() as i64);
            for s in &u.servers {
                let labels = [u.name.as_str(), s.id.as_str()];
                self.upstream_in_flight
                    .with_label_values(&labels)
                    .set(s.load.in_flight() as i64);
                let (eligible, ejected) = (s.health.eligible(), s.health.ejected());
                self.upstream_server_healthy
                    .with_label_values(&labels)
                    .set(eligible as i64);
                self.upstream_server_ejected
                    .with_label_values(&labels)
                    .set(ejected as i64);
            }
            if let Some(shares) = u.keyspace_shares() {
                for (s, share) in u.servers.iter().zip(shares) {
                    self.hash_keyspace_share.with_label_values(&[&u.name, &s.id]).set(share);
                }
                let total = u.overflows();
                let seen = exported.entry(u.name.clone()).or_insert(0);
                if total > *seen {
                    self.bounded_load_overflow
                        .with_label_values(&[&u.name])
                        .inc_by(total - *seen);
                    *seen = total;
                }
            }
        }
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
