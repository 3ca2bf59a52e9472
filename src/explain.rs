//! `fulcrum explain` and the admin `/lookup`: which route, upstream and server
//! a described request reaches, and why.

use crate::config::{Action, Config};
use crate::proxy::redirect_location;
use crate::route::{request_host, RouteInput, Router};
use crate::upstream::{extract, KeyInput, SelectError, Split, Upstream, Why};
use http::{HeaderMap, Method, Uri};
use serde::Serialize;
use std::fmt;
use std::net::IpAddr;

/// A request described on the command line (or the admin `/lookup`).
pub struct Described {
    pub method: Method,
    /// Path with optional query.
    pub uri: Uri,
    pub headers: HeaderMap,
    pub client_ip: IpAddr,
}

/// Where a request goes and why.
#[derive(Debug, Serialize, PartialEq)]
pub struct Explanation {
    /// 200 when a server is chosen; else the status fulcrum would answer.
    pub status: u16,
    pub route: Option<String>,
    pub upstream: Option<String>,
    pub algorithm: Option<&'static str>,
    pub server: Option<String>,
    pub weight: Option<u32>,
    pub why: String,
    /// `upstream`, `backends`, `redirect` or `respond`, once a route matched.
    pub action: Option<&'static str>,
    /// The redirect's `Location`.
    pub location: Option<String>,
    /// The route's policies, in the order a request meets them.
    pub policies: Vec<&'static str>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(route) = &self.route {
            writeln!(f, "route: {route}")?;
        }
        if let Some(action) = self.action {
            writeln!(f, "action: {action}")?;
        }
        if !self.policies.is_empty() {
            writeln!(f, "policies: {}", self.policies.join(", "))?;
        }
        if let Some(location) = &self.location {
            writeln!(f, "location: {location}")?;
        }
        if let (Some(u), Some(a)) = (&self.upstream, self.algorithm) {
            writeln!(f, "upstream: {u} ({a})")?;
        }
        if let (Some(s), Some(w)) = (&self.server, self.weight) {
            writeln!(f, "server: {s} (weight {w})")?;
        }
        if self.status == 200 || self.action.is_some_and(|a| a == "redirect" || a == "respond") {
            writeln!(f, "why: {}", self.why)
        } else {
            writeln!(f, "{}: {}", self.status, self.why)
        }
    }
}

/// Explains against a config, every server eligible and idle.
pub fn explain(config: &Config, req: &Described) -> Explanation {
    let router = Router::new(config.routes.clone());
    let upstreams: Vec<Upstream> = config.upstreams.iter().map(|u| Upstream::new(u, None)).collect();
    let algorithms: Vec<&'static str> = config.upstreams.iter().map(|u| u.balance.name()).collect();
    explain_in(&router, &upstreams, &algorithms, req)
}

/// Explains against live routes and pools (their current load and eligibility).
pub fn explain_in(
    router: &Router,
    upstreams: &[Upstream],
    algorithms: &[&'static str],
    req: &Described,
) -> Explanation {
    let host = request_host(&req.headers, &req.uri);
    let path = req.uri.path();
    let input = RouteInput {
        method: &req.method,
        host,
        path,
        query: req.uri.query(),
        headers: &req.headers,
    };
    let mut out = Explanation {
        status: 404,
        route: None,
        upstream: None,
        algorithm: None,
        server: None,
        weight: None,
        why: format!("no route matches {} {}{path}", req.method, host.unwrap_or("")),
        action: None,
        location: None,
        policies: Vec::new(),
    };
    let Some(route) = router.find(&input) else {
        return out;
    };
    out.route = Some(route.label.clone());
    out.action = Some(route.action.kind());
    out.policies = route.policy.names();
    let mut split_note = None;
    let pool = match &route.action {
        Action::Upstream(u) => *u,
        Action::Backends(list) => {
            // a fresh split: the first pick of a cycle, without moving the live one
            let pick = Split::new(list).map_or(list[0].upstream, |s| s.pick(upstreams));
            let total: u32 = list.iter().map(|b| b.weight).sum();
            let shares: Vec<String> = list
                .iter()
                .map(|b| format!("{} {}/{total}", upstreams[b.upstream].name, b.weight))
                .collect();
            split_note = Some(format!(
                "backends split {}; this request: {}",
                shares.join(", "),
                upstreams[pick].name
            ));
            pick
        }
        Action::Redirect(r) => {
            let port = req
                .headers
                .get(http::header::HOST)
                .and_then(|h| crate::route::host_port(h.to_str().ok()?));
            let location = redirect_location(r, "http", host, port, &req.uri, route.path_prefix.as_deref());
            out.status = r.status.as_u16();
            out.why = format!("redirect {} to {location}, no upstream contacted", r.status.as_u16());
            out.location = Some(location);
            return out;
        }
        Action::Respond(r) => {
            out.status = r.status.as_u16();
            out.why = format!(
                "fixed response {} of {} bytes, no upstream contacted",
                r.status.as_u16(),
                r.body.len()
            );
            return out;
        }
    };
    let upstream = &upstreams[pool];
    let algo = algorithms[pool];
    out.upstream = Some(upstream.name.clone());
    out.algorithm = Some(algo);
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
            out.status = 200;
            out.server = Some(server.id.clone());
            out.weight = Some(server.weight);
            out.why = match why {
                Why::Turn => format!("{algo} does not hash; this is one possible pick"),
                Why::Key(source) => {
                    let value = extract(source, &key_input).map(|v| String::from_utf8_lossy(&v).into_owned());
                    format!("hash of {source} = {:?}", value.unwrap_or_default())
                }
                Why::Fallback(f) => {
                    format!("no hash key in the request; fallback {f} (this server is one possible pick)")
                }
            };
        }
        Err(e @ SelectError::MissingKey { .. }) => {
            out.status = 400;
            out.why = e.to_string();
        }
        Err(e) => {
            out.status = 503;
            out.why = e.to_string();
        }
    }
    if let Some(note) = split_note {
        out.why = format!("{note}; {}", out.why);
    }
    out
}
