//! Protecting upstreams (SPEC §2.4) over real sockets: `max_in_flight` with
//! its queue, slow start and the retry budget. One test binary, a module
//! per protection.

use crate::common;

mod answers;
mod budget;
mod config_errors;
mod messages;
mod queue;
mod slow_start;

use std::net::SocketAddr;

/// One series of the admin `/metrics`, 0 when absent.
pub async fn metric(admin: SocketAddr, name: &str, labels: &[(&str, &str)]) -> f64 {
    let text = common::send(&common::client(), admin, "GET", "/metrics", &[])
        .await
        .body;
    common::prom::sample(&text, name, labels).unwrap_or(0.0)
}

/// Sum of the samples of `name` whose labels include every one of `labels`.
pub async fn metric_sum(admin: SocketAddr, name: &str, labels: &[(&str, &str)]) -> f64 {
    let text = common::send(&common::client(), admin, "GET", "/metrics", &[])
        .await
        .body;
    let wanted: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && wanted.iter().all(|w| l.contains(w.as_str())))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}
