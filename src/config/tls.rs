//! Validation of `listeners[].tls` and `upstreams.*.tls`: the PEM files are
//! read here (relative to the config's directory) and checked by the same
//! code that will serve them, so a missing file, a key that does not match
//! its certificate, or an expired or garbage certificate is a config error
//! naming the key path and the file, and a rotated file makes a new config.

use super::validate::Ctx;
use serde::Deserialize;
use serde_yaml::Value;
use std::path::PathBuf;

/// `listeners[].tls` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListenerTls {
    pub certificates: Option<Vec<RawCertPair>>,
    pub alpn: Option<Vec<String>>,
    pub min_version: Option<Value>,
    pub client_ca: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCertPair {
    pub cert: String,
    pub key: String,
}

/// `upstreams.*.tls` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstreamTls {
    pub server_name: Option<String>,
    pub ca: Option<String>,
}

/// A file's path and the bytes read from it at load time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemFile {
    pub path: PathBuf,
    pub pem: Vec<u8>,
}

/// One certificate chain and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPair {
    pub cert: PemFile,
    pub key: PemFile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    V12,
    V13,
}

/// A TLS listener: certificates by SNI (the first is the default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerTls {
    pub certificates: Vec<CertPair>,
    pub alpn: Vec<String>,
    pub min_version: TlsVersion,
    /// Client certificates are required and verified against it (mTLS).
    pub client_ca: Option<PemFile>,
}

/// TLS to a pool's servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamTls {
    /// SNI and the name verified; None: the server's host.
    pub server_name: Option<String>,
    /// None: the platform's trust roots.
    pub ca: Option<PemFile>,
}

fn read(cx: &mut Ctx, path: &str, file: &str) -> Option<PemFile> {
    let full = cx.base.join(file);
    match std::fs::read(&full) {
        Ok(pem) => Some(PemFile { path: full, pem }),
        Err(e) => {
            cx.err(path, format!("cannot read {}: {e}", full.display()));
            None
        }
    }
}

/// A CA bundle: readable and holding at least one certificate.
fn ca(cx: &mut Ctx, path: &str, file: &str) -> Option<PemFile> {
    let pem = read(cx, path, file)?;
    if let Err(e) = crate::tls::roots(&pem.pem) {
        cx.err(path, format!("{}: {e}", pem.path.display()));
        return None;
    }
    Some(pem)
}

pub(super) fn listener_tls(cx: &mut Ctx, path: &str, raw: RawListenerTls) -> Option<ListenerTls> {
    let before = cx.problems.len();
    let mut certificates = Vec::new();
    let written = raw.certificates.unwrap_or_default();
    if written.is_empty() {
        cx.err(
            &format!("{path}.certificates"),
            "at least one { cert, key } is required",
        );
    }
    for (i, pair) in written.into_iter().enumerate() {
        let ppath = format!("{path}.certificates[{i}]");
        let cert = read(cx, &format!("{ppath}.cert"), &pair.cert);
        let key = read(cx, &format!("{ppath}.key"), &pair.key);
        let (Some(cert), Some(key)) = (cert, key) else { continue };
        match crate::tls::certified(&cert.pem, &key.pem) {
            Ok(_) => certificates.push(CertPair { cert, key }),
            Err(crate::tls::PairError::Cert(e)) => {
                cx.err(&format!("{ppath}.cert"), format!("{}: {e}", cert.path.display()))
            }
            Err(crate::tls::PairError::Key(e)) => {
                cx.err(&format!("{ppath}.key"), format!("{}: {e}", key.path.display()))
            }
        }
    }
    let alpn = raw.alpn.unwrap_or_else(|| vec!["h2".into(), "http/1.1".into()]);
    for (i, p) in alpn.iter().enumerate() {
        if p != "h2" && p != "http/1.1" {
            cx.err(&format!("{path}.alpn[{i}]"), format!("`{p}` is not h2 or http/1.1"));
        }
    }
    // "1.2" may be written unquoted, which YAML reads as a number
    let written = raw.min_version.as_ref().map(|v| match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => format!("{other:?}"),
    });
    let min_version = match written {
        None => TlsVersion::V12,
        Some(v) if v == "1.2" => TlsVersion::V12,
        Some(v) if v == "1.3" => TlsVersion::V13,
        Some(v) => {
            cx.err(
                &format!("{path}.min_version"),
                format!("`{v}` is not \"1.2\" or \"1.3\""),
            );
            TlsVersion::V12
        }
    };
    let client_ca = raw.client_ca.and_then(|f| ca(cx, &format!("{path}.client_ca"), &f));
    (cx.problems.len() == before).then_some(ListenerTls {
        certificates,
        alpn,
        min_version,
        client_ca,
    })
}

pub(super) fn upstream_tls(cx: &mut Ctx, path: &str, raw: RawUpstreamTls) -> Option<UpstreamTls> {
    let before = cx.problems.len();
    if let Some(name) = &raw.server_name {
        if rustls::pki_types::ServerName::try_from(name.as_str()).is_err() {
            cx.err(
                &format!("{path}.server_name"),
                format!("`{name}` is not a DNS name or IP address"),
            );
        }
    }
    let ca = raw.ca.and_then(|f| ca(cx, &format!("{path}.ca"), &f));
    (cx.problems.len() == before).then_some(UpstreamTls {
        server_name: raw.server_name,
        ca,
    })
}
