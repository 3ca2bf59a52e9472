//! Zero series (SPEC §5): every series whose labels the config fixes is
//! created at 0 before its first event, so `rate()` and alerts have something
//! to work on from the first scrape, and again after each reload.

use super::Metrics;
use crate::config::Store;
use crate::state::Snapshot;

/// `fulcrum_requests_rejected_total` reasons: the fixed set fulcrum counts.
const REJECT_REASONS: [&str; 7] = [
    "bad_request",
    "header_too_large",
    "body_too_large",
    "header_timeout",
    "proxy_protocol",
    "h2_flood",
    "abuse_ban",
];

impl Metrics {
    /// Creates (without changing) every config-fixed series of `snap`.
    pub(super) fn zero_series(&self, snap: &Snapshot) {
        for reason in REJECT_REASONS {
            self.requests_rejected.with_label_values(&[reason]);
        }
        for l in &snap.config.listeners {
            self.downstream_connections.with_label_values(&[&l.address.to_string()]);
        }
        for listener in snap.tls.keys() {
            for result in ["success", "failure"] {
                self.tls_handshakes.with_label_values(&[listener, result]);
            }
        }
        self.zero_routes(snap);
        self.zero_upstreams(snap);
    }

    fn zero_routes(&self, snap: &Snapshot) {
        let durations = self.request_duration.local();
        for r in &snap.config.routes {
            let pools = r.upstreams();
            if pools.is_empty() {
                durations.with_label_values(&[&r.label, ""]);
            }
            for u in pools {
                durations.with_label_values(&[&r.label, &snap.config.upstreams[u].name]);
            }
            if let Some(m) = &r.policy.mirror {
                let pool = &snap.config.upstreams[m.upstream].name;
                for result in ["sent", "failed", "skipped"] {
                    self.mirror_requests.with_label_values(&[&r.label, pool, result]);
                }
            }
            if let Some(i) = r.policy.rate_limit {
                let policy = &snap.config.rate_limits[i].name;
                self.rate_limited.with_label_values(&[&r.label, policy]);
                if matches!(snap.config.rate_limits[i].store, Store::Redis { .. }) {
                    self.rate_limit_store_errors.with_label_values(&[policy]);
                }
            }
            let gates = [
                (r.policy.access.is_some(), "ip"),
                (r.policy.basic_auth.is_some(), "basic_auth"),
                (r.policy.forward_auth.is_some(), "forward_auth"),
            ];
            for (_, reason) in gates.iter().filter(|(on, _)| *on) {
                self.access_denied.with_label_values(&[r.label.as_str(), reason]);
            }
            if let Some(c) = &r.policy.compress {
                for e in &c.algorithms {
                    self.compressed_responses.with_label_values(&[&r.label, e.token()]);
                }
            }
        }
    }

    fn zero_upstreams(&self, snap: &Snapshot) {
        for (u, declared) in snap.upstreams.iter().zip(&snap.declared.upstreams) {
            let name = u.name.as_str();
            self.retries.with_label_values(&[name]);
            self.retries_denied.with_label_values(&[name]);
            for reason in ["full", "timeout"] {
                self.upstream_queue_overflow.with_label_values(&[name, reason]);
            }
            if !declared.names.is_empty() {
                for result in ["success", "failure"] {
                    self.dns_resolutions.with_label_values(&[name, result]);
                }
            }
            if let Some(hash) = declared.balance.hash() {
                self.hash_key_missing
                    .with_label_values(&[name, &hash.fallback.to_string()]);
                if hash.bounded_load.is_some() {
                    self.bounded_load_overflow.with_label_values(&[name]);
                }
            }
            for s in &u.servers {
                let server = s.id.as_str();
                if declared.health_check.is_some() {
                    for result in ["pass", "fail"] {
                        self.health_checks.with_label_values(&[name, server, result]);
                    }
                }
                if declared.outlier_detection.is_some() {
                    self.outlier_ejections.with_label_values(&[name, server]);
                }
            }
        }
    }
}
