//! The front door (SPEC §2.5) over real sockets: the PROXY protocol, the
//! client address behind trusted proxies, access rules, local rate limits
//! and basic auth. One test binary, a module per concern.

use crate::common;

mod access;
mod basic_auth;
mod client;
mod config_errors;
mod forward_auth;
mod proxy_protocol;
mod rate_limit;
mod redis;

use std::net::SocketAddr;

/// One series of the admin `/metrics`, 0 when absent.
pub async fn metric(admin: SocketAddr, name: &str, labels: &[(&str, &str)]) -> f64 {
    common::prom::scraped(admin, name, labels).await.unwrap_or(0.0)
}

/// The `X-Forwarded-For` the backend saw on its last request.
pub fn last_xff(b: &common::Backend) -> String {
    let seen = b.seen();
    let last = seen.last().expect("the backend saw a request");
    last.headers["x-forwarded-for"].to_str().unwrap().to_string()
}
