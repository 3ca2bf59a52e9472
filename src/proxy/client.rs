//! The pooled client of one upstream: keep-alive HTTP/1.1, HTTP/2 with
//! prior knowledge (`protocol: h2c`), or TLS (`tls`), where ALPN picks
//! HTTP/2 or HTTP/1.1 (`protocol: h2` requires HTTP/2). A certificate that
//! does not verify fails the connect: 502, never a plaintext fallback.

use super::replay::ReplayBody;
use crate::config::{Protocol, UpstreamConfig};
use hyper_rustls::{FixedServerNameResolver, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::ServerName;
use std::time::Duration;

/// Idle pooled connections are closed after this long.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// A client with one connection pool per server of the upstream; request
/// bodies are capped at `limits.max_body_bytes` as they stream.
pub type UpstreamClient = Client<HttpsConnector<HttpConnector>, ReplayBody>;

/// Builds the client; `timeouts.connect` bounds each TCP connect. Fails
/// only on a TLS setting rustls refuses.
pub fn build(cfg: &UpstreamConfig) -> Result<UpstreamClient, String> {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(cfg.connect_timeout));
    http.set_nodelay(true);
    http.enforce_http(false);
    let tls_config = match &cfg.tls {
        Some(tls) => crate::tls::client_config(tls)?,
        // never used: plain pools send http:// URIs, which skip TLS
        None => rustls::ClientConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
    };
    let mut builder = HttpsConnectorBuilder::new().with_tls_config(tls_config).https_or_http();
    if let Some(name) = cfg.tls.as_ref().and_then(|t| t.server_name.clone()) {
        let name = ServerName::try_from(name).map_err(|e| e.to_string())?;
        builder = builder.with_server_name_resolver(FixedServerNameResolver::new(name));
    }
    let connector = match (cfg.protocol, cfg.tls.is_some()) {
        (Protocol::Http1, false) => builder.enable_http1().wrap_connector(http),
        (Protocol::Http1, true) => builder.enable_all_versions().wrap_connector(http),
        (Protocol::H2c | Protocol::H2, _) => builder.enable_http2().wrap_connector(http),
    };
    let mut client = Client::builder(TokioExecutor::new());
    client
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .http2_only(matches!(cfg.protocol, Protocol::H2c | Protocol::H2));
    Ok(client.build(connector))
}
