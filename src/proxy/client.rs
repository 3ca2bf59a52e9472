//! The pooled client of one upstream: keep-alive HTTP/1.1, or HTTP/2 with
//! prior knowledge (`protocol: h2c`), one multiplexed connection per server.

use super::replay::ReplayBody;
use crate::config::Protocol;
use crate::upstream::Upstream;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::time::Duration;

/// Idle pooled connections are closed after this long.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// A client with one connection pool per server of the upstream; request
/// bodies are capped at `limits.max_body_bytes` as they stream.
pub type UpstreamClient = Client<HttpConnector, ReplayBody>;

/// Builds the client; `timeouts.connect` bounds each TCP connect.
pub fn build(upstream: &Upstream) -> UpstreamClient {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(upstream.connect_timeout));
    connector.set_nodelay(true);
    connector.enforce_http(true);
    let mut builder = Client::builder(TokioExecutor::new());
    builder
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .http2_only(upstream.protocol == Protocol::H2c);
    builder.build(connector)
}
