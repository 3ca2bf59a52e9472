//! The rustls client config of a TLS upstream: verification against `ca`
//! or the platform's trust roots. ALPN is set by the connector.

use super::{provider, roots};
use crate::config::UpstreamTls;
use rustls::{ClientConfig, RootCertStore};
use std::sync::{Arc, OnceLock};

/// The platform's trust roots, loaded once per process.
fn platform_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            for e in &found.errors {
                tracing::warn!("platform trust roots: {e}");
            }
            let mut store = RootCertStore::empty();
            let (added, ignored) = store.add_parsable_certificates(found.certs);
            tracing::debug!("platform trust roots: {added} loaded, {ignored} ignored");
            Arc::new(store)
        })
        .clone()
}

/// The client config for a pool's TLS.
pub fn client_config(tls: &UpstreamTls) -> Result<ClientConfig, String> {
    let roots = match &tls.ca {
        Some(ca) => Arc::new(roots(&ca.pem)?),
        None => platform_roots(),
    };
    Ok(ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
