//! TLS with rustls (ring provider): certificate loading and checks shared by
//! config validation and the running listeners, the SNI certificate
//! resolver and acceptor of a TLS listener, and the client config of a TLS
//! upstream.

mod server;
mod upstream;

pub use server::TlsListener;
pub use upstream::client_config;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The one crypto provider fulcrum uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Which half of a certificate pair is at fault.
#[derive(Debug)]
pub enum PairError {
    Cert(String),
    Key(String),
}

/// A certificate chain with its key, ready to serve.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub key: Arc<CertifiedKey>,
    /// The leaf's DNS names (subject alternative names, else the common name).
    pub names: Vec<String>,
    /// The leaf's notAfter, in seconds since the epoch.
    pub not_after: i64,
}

/// Parses a PEM chain and key (PKCS#8, PKCS#1 or SEC1), and checks that the
/// key matches the leaf and the leaf has not expired.
pub fn certified(cert_pem: &[u8], key_pem: &[u8]) -> Result<Loaded, PairError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| PairError::Cert(format!("not a PEM certificate chain: {e}")))?;
    let leaf = chain
        .first()
        .ok_or_else(|| PairError::Cert("no certificate in the file".into()))?;
    let (names, not_after) = describe(leaf).map_err(PairError::Cert)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if not_after < now {
        return Err(PairError::Cert(format!(
            "the certificate expired (notAfter {not_after}, unix seconds)"
        )));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| PairError::Key(format!("not a PEM private key (PKCS#8, PKCS#1 or SEC1): {e}")))?;
    let signing = provider()
        .key_provider
        .load_private_key(key)
        .map_err(|e| PairError::Key(format!("unusable private key: {e}")))?;
    let key = CertifiedKey::new(chain, signing);
    key.keys_match()
        .map_err(|_| PairError::Key("the key does not match the certificate".into()))?;
    Ok(Loaded {
        key: Arc::new(key),
        names,
        not_after,
    })
}

/// The leaf's DNS names and notAfter.
fn describe(leaf: &CertificateDer<'_>) -> Result<(Vec<String>, i64), String> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| format!("not a valid X.509 certificate: {e}"))?;
    let mut names: Vec<String> = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_ascii_lowercase()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if names.is_empty() {
        if let Some(cn) = cert.subject().iter_common_name().next().and_then(|c| c.as_str().ok()) {
            names.push(cn.to_ascii_lowercase());
        }
    }
    Ok((names, cert.validity().not_after.timestamp()))
}

/// A trust store from a PEM bundle with at least one certificate.
pub fn roots(pem: &[u8]) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("not a PEM certificate bundle: {e}"))?;
        store.add(cert).map_err(|e| format!("unusable CA certificate: {e}"))?;
    }
    if store.is_empty() {
        return Err("no certificate in the file".into());
    }
    Ok(store)
}
