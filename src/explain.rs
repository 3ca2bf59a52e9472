//! `fulcrum explain`: which route, upstream and server a described request reaches, and why.

use crate::config::Config;
use crate::route::{request_host, RouteInput, Router};
use crate::upstream::{extract, KeyInput, SelectError, Upstream, Why};
use http::{HeaderMap, Method, Uri};
use std::fmt::Write;
use std::net::IpAddr;

/// A request described on the command line (or the admin `/lookup`).
pub struct Described {
    pub method: Method,
    /// Path with optional query.
    pub uri: Uri,
    pub headers: HeaderMap,
    pub client_ip: IpAddr,
}

/// The explanation as lines of text.
pub fn explain(config: &Config, req: &Described) -> String {
    let router = Router::new(config.routes.clone());
    let host = request_host(&req.headers, &req.uri);
    let path = req.uri.path();
    let mut out = String::new();
    let input = RouteInput {
        method: &req.method,
        host,
        path,
        headers: &req.headers,
    };
    let Some(route) = router.find(&input) else {
        let _ = writeln!(out, "no route matches {} {}{path}: 404", req.method, host.unwrap_or(""));
        return out;
    };
    let cfg = &config.upstreams[route.upstream];
    let upstream = Upstream::new(cfg);
    let algo = cfg.balance.name();
    let _ = writeln!(out, "route: {}", route.label);
    let _ = writeln!(out, "upstream: {} ({algo}, {} servers)", cfg.name, cfg.servers.len());
    let key_input = KeyInput {
        headers: &req.headers,
        path,
        query: req.uri.query(),
        host,
        client_ip: req.client_ip,
    };
    match upstream.select(&key_input) {
        Ok((i, why)) => {
            let server = &upstream.servers[i];
            let _ = writeln!(out, "server: {} (weight {})", server.id, server.weight);
            let reason = match why {
                Why::Turn => format!("{algo} does not hash; this is one possible pick (idle pool, fresh start)"),
                Why::Key(source) => {
                    let value = extract(source, &key_input).map(|v| String::from_utf8_lossy(&v).into_owned());
                    format!("hash of {source} = {:?}", value.unwrap_or_default())
                }
                Why::Fallback(f) => {
                    format!("no hash key in the request; fallback {f} (this server is one possible pick)")
                }
            };
            let _ = writeln!(out, "why: {reason}");
        }
        Err(e @ SelectError::MissingKey { .. }) => {
            let _ = writeln!(out, "400: {e}");
        }
        Err(e) => {
            let _ = writeln!(out, "503: {e}");
        }
    }
    out
}
