//! `GET /status` (SPEC §4): config version, and per upstream per server its
//! address, weight, health, ejection, in-flight and requests; also what the
//! dashboard shows beside the metrics: listeners, routes, recent reloads and
//! served certificates.

use crate::server::Handle;
use serde_json::{json, Value};

pub fn status(handle: &Handle) -> Value {
    let snap = handle.shared().state.load();
    let mut upstreams = serde_json::Map::new();
    for (u, balance) in snap.upstreams.iter().zip(&snap.algorithms) {
        let servers: Vec<Value> = u
            .servers
            .iter()
            .map(|s| {
                json!({
                    "address": s.id,
                    "weight": s.weight,
                    "healthy": s.health.healthy(),
                    "ejected": s.health.ejected(),
                    "eligible": s.health.eligible(),
                    "in_flight": s.load.in_flight(),
                    "requests": s.load.requests(),
                })
            })
            .collect();
        upstreams.insert(u.name.clone(), json!({ "balance": balance, "servers": servers }));
    }
    let config = &snap.config;
    let listeners: Vec<Value> = config
        .listeners
        .iter()
        .map(
            |l| json!({ "address": l.address.to_string(), "tls": l.tls.is_some(), "proxy_protocol": l.proxy_protocol }),
        )
        .collect();
    let routes: Vec<Value> = config
        .routes
        .iter()
        .map(|r| {
            let pools: Vec<&str> = r
                .upstreams()
                .into_iter()
                .map(|u| config.upstreams[u].name.as_str())
                .collect();
            json!({ "name": r.label, "action": r.action.kind(), "upstreams": pools })
        })
        .collect();
    let mut certificates: Vec<Value> = snap
        .tls
        .iter()
        .flat_map(|(listener, tls)| {
            tls.certificates
                .iter()
                .map(move |(name, not_after)| json!({ "listener": listener, "name": name, "not_after": not_after }))
        })
        .collect();
    certificates.sort_by(|a, b| a["listener"].as_str().cmp(&b["listener"].as_str()));
    json!({
        "version": snap.version,
        "listeners": listeners,
        "routes": routes,
        "upstreams": upstreams,
        "reloads": handle.shared().reloads.recent(),
        "certificates": certificates,
    })
}
