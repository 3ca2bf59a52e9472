//! A TLS listener's rustls config: certificates chosen by SNI (exact name,
//! then `*.` wildcard, else the first certificate), ALPN, the minimum
//! version, and client certificates verified against `client_ca` (mTLS).

use super::{certified, provider, roots, Loaded};
use crate::config::{ListenerTls, TlsVersion};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// What a TLS listener serves with; rebuilt (files re-read) on every reload.
#[derive(Clone)]
pub struct TlsListener {
    pub acceptor: TlsAcceptor,
    /// (first DNS name, notAfter) per certificate, for the expiry gauge.
    pub certificates: Arc<[(String, i64)]>,
}

#[derive(Debug)]
struct BySni {
    certs: Vec<Loaded>,
}

impl BySni {
    fn find(&self, name: &str) -> &Loaded {
        let name = name.to_ascii_lowercase();
        let wildcard = name.split_once('.').map(|(_, rest)| format!("*.{rest}"));
        let has = |n: &str| self.certs.iter().find(|c| c.names.iter().any(|x| x == n));
        has(&name)
            .or_else(|| wildcard.as_deref().and_then(has))
            .unwrap_or(&self.certs[0])
    }
}

impl ResolvesServerCert for BySni {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(match hello.server_name() {
            Some(name) => self.find(name).key.clone(),
            None => self.certs[0].key.clone(),
        })
    }
}

impl TlsListener {
    /// Builds from validated config (the PEM bytes were read at load time).
    pub fn new(cfg: &ListenerTls) -> Result<Self, String> {
        let certs = cfg
            .certificates
            .iter()
            .map(|p| certified(&p.cert.pem, &p.key.pem).map_err(|e| format!("{}: {e:?}", p.cert.path.display())))
            .collect::<Result<Vec<_>, _>>()?;
        if certs.is_empty() {
            return Err("no certificates".into());
        }
        let versions: &[&'static rustls::SupportedProtocolVersion] = match cfg.min_version {
            TlsVersion::V12 => &[&rustls::version::TLS13, &rustls::version::TLS12],
            TlsVersion::V13 => &[&rustls::version::TLS13],
        };
        let builder = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(versions)
            .map_err(|e| e.to_string())?;
        let builder = match &cfg.client_ca {
            Some(ca) => {
                let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots(&ca.pem)?), provider())
                    .build()
                    .map_err(|e| e.to_string())?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let certificates = certs
            .iter()
            .map(|c| (c.names.first().cloned().unwrap_or_default(), c.not_after))
            .collect::<Vec<_>>()
            .into();
        let mut config = builder.with_cert_resolver(Arc::new(BySni { certs }));
        config.alpn_protocols = cfg.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            certificates,
        })
    }
}
