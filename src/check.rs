//! `fulcrum check`: a one-screen summary of a valid config.

use crate::config::{Action, Balance, Config, HostMatch, RedirectPath};
use std::fmt::Write;

/// A route's action in words: `web`, `backends api-v1 90%, api-v2 10%`,
/// `redirect 301 to scheme https`, `respond 503`.
pub fn action(config: &Config, action: &Action) -> String {
    match action {
        Action::Upstream(u) => config.upstreams[*u].name.clone(),
        Action::Backends(list) => {
            let total: u32 = list.iter().map(|b| b.weight).sum();
            let parts: Vec<String> = list
                .iter()
                .map(|b| {
                    let pct = f64::from(b.weight) * 100.0 / f64::from(total.max(1));
                    format!("{} {pct:.0}%", config.upstreams[b.upstream].name)
                })
                .collect();
            format!("backends {}", parts.join(", "))
        }
        Action::Redirect(r) => {
            let mut parts = Vec::new();
            if let Some(s) = &r.scheme {
                parts.push(format!("scheme {s}"));
            }
            if let Some(h) = &r.host {
                parts.push(format!("host {h}"));
            }
            if let Some(p) = r.port {
                parts.push(format!("port {p}"));
            }
            match &r.path {
                Some(RedirectPath::Full(p)) => parts.push(format!("path {p}")),
                Some(RedirectPath::Prefix(p)) => parts.push(format!("path prefix {p}")),
                None => {}
            }
            format!("redirect {} ({})", r.status.as_u16(), parts.join(", "))
        }
        Action::Respond(r) => format!("respond {} ({} bytes)", r.status.as_u16(), r.body.len()),
    }
}

/// Listeners, routes, upstreams and servers, one line each.
pub fn summary(config: &Config) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "config ok");
    let addrs: Vec<String> = config.listeners.iter().map(|l| l.address.to_string()).collect();
    let _ = writeln!(out, "listeners: {}", addrs.join(", "));
    let _ = writeln!(out, "routes ({}):", config.routes.len());
    for r in &config.routes {
        let mut cond = Vec::new();
        match &r.host {
            Some(HostMatch::Exact(h)) => cond.push(format!("host {h}")),
            Some(HostMatch::Suffix(s)) => cond.push(format!("host *{s}")),
            None => {}
        }
        if let Some(p) = &r.path_prefix {
            cond.push(format!("path {p}*{}", if r.strip_prefix { " (stripped)" } else { "" }));
        }
        if let Some(p) = &r.path {
            cond.push(format!("path {p}"));
        }
        if let Some(re) = &r.path_regex {
            cond.push(format!("path ~ {}", re.as_str()));
        }
        for (k, v) in &r.query {
            cond.push(format!("?{k}={v}"));
        }
        for (k, v) in &r.headers {
            cond.push(format!("{k}: {}", v.to_str().unwrap_or("?")));
        }
        if !r.methods.is_empty() {
            let m: Vec<&str> = r.methods.iter().map(|m| m.as_str()).collect();
            cond.push(m.join("|"));
        }
        let cond = if cond.is_empty() {
            "everything".to_string()
        } else {
            cond.join(", ")
        };
        let policies = r.policy.names();
        let policies = if policies.is_empty() {
            String::new()
        } else {
            format!(" [{}]", policies.join(", "))
        };
        let _ = writeln!(out, "  {}: {cond} -> {}{policies}", r.label, action(config, &r.action));
    }
    let _ = writeln!(out, "upstreams ({}):", config.upstreams.len());
    for u in &config.upstreams {
        let algo = match u.balance.hash() {
            None => u.balance.name().to_string(),
            Some(p) => {
                let keys: Vec<String> = p.keys.iter().map(ToString::to_string).collect();
                let bound = p
                    .bounded_load
                    .map(|c| format!(", bounded_load {c}"))
                    .unwrap_or_default();
                let table = match u.balance {
                    Balance::Maglev(_, size) => format!(", table {size}"),
                    _ => String::new(),
                };
                format!(
                    "{} on {} (fallback {}{bound}{table})",
                    u.balance.name(),
                    keys.join(", "),
                    p.fallback
                )
            }
        };
        let servers: Vec<String> = u
            .servers
            .iter()
            .map(|s| format!("{} w{}", s.address, s.weight))
            .chain(
                u.names
                    .iter()
                    .map(|n| format!("{}:{} (DNS) w{}", n.host, n.port, n.weight)),
            )
            .collect();
        let _ = writeln!(
            out,
            "  {}: {algo}; {} servers: {}{}",
            u.name,
            servers.len(),
            servers.join(", "),
            protections(&u.protect)
        );
    }
    out
}

/// `; max_in_flight 100 (queue 1000, 5s); slow_start 30s; retry budget 20%`, or nothing.
fn protections(p: &crate::config::Protection) -> String {
    let mut out = String::new();
    if let Some(max) = p.max_in_flight {
        let _ = write!(
            out,
            "; max_in_flight {max} (queue {}, {:?})",
            p.queue.max, p.queue.timeout
        );
    }
    if let Some(window) = p.slow_start {
        let _ = write!(out, "; slow_start {window:?}");
    }
    if let Some(share) = p.retry_budget {
        let _ = write!(out, "; retry budget {}%", share * 100.0);
    }
    out
}

/// Settings that are valid but do nothing, each a warning line.
pub fn warnings(config: &Config) -> Vec<String> {
    config
        .upstreams
        .iter()
        .filter(|u| u.protect.slow_start.is_some() && u.balance.hash().is_some_and(|h| h.bounded_load.is_none()))
        .map(|u| {
            format!(
                "warning: upstreams.{}.slow_start: has no effect on a hash pool without hash.bounded_load \
                 (keys keep their home; the ramp scales the bounded-load cap)",
                u.name
            )
        })
        .collect()
}

/// One warning per DNS name that does not resolve now: not an error, since
/// the platform may create it later (fulcrum serves 503 for that pool until then).
pub async fn dns_warnings(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for (u, n) in crate::discovery::names(config) {
        let answer = match crate::discovery::resolver(&u.discovery) {
            Ok(r) => crate::discovery::resolve(&r, &n.host).await,
            Err(e) => crate::discovery::Answer::Failed(e),
        };
        let why = match answer {
            crate::discovery::Answer::Addrs(_) => continue,
            crate::discovery::Answer::Empty => "no A/AAAA records".to_string(),
            crate::discovery::Answer::Failed(e) => e,
        };
        out.push(format!(
            "warning: upstreams.{}: {}:{} does not resolve now ({why}); its servers appear once it does",
            u.name, n.host, n.port
        ));
    }
    out
}
