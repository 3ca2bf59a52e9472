//! What an edit changes, as a plan (`fulcrum check --diff OLD`, and the log
//! of every reload): one line per change to listeners, routes (match, action,
//! policies, order), upstreams (algorithm, timeouts, retries, checks,
//! protections) and servers (added, removed, weights, with each server's new
//! share of the pool's weight). `+` added, `-` removed, `~` changed.

use crate::check::action;
use crate::config::{Config, RouteConfig, UpstreamConfig};

fn listed<T: PartialEq + std::fmt::Debug>(out: &mut Vec<String>, what: &str, old: T, new: T) {
    if old != new {
        out.push(format!("~ {what}: {old:?} -> {new:?}"));
    }
}

fn debug(v: &impl std::fmt::Debug) -> String {
    format!("{v:?}")
}

/// `~ PREFIXsection changed` for each section whose rendering differs.
fn sections<const N: usize>(out: &mut Vec<String>, prefix: &str, pairs: [(&str, String, String); N]) {
    for (what, a, b) in pairs {
        if a != b {
            out.push(format!("~ {prefix}{what} changed"));
        }
    }
}

fn route_match(r: &RouteConfig) -> String {
    format!(
        "{:?} {:?} {:?} {:?} {:?} {:?} {:?} strip_prefix={}",
        r.host,
        r.path_prefix,
        r.path,
        r.path_regex.as_ref().map(|re| re.as_str()),
        r.query,
        r.headers,
        r.methods,
        r.strip_prefix
    )
}

fn routes(out: &mut Vec<String>, old: &Config, new: &Config) {
    let find = |c: &'_ Config, label: &str| c.routes.iter().position(|r| r.label == label);
    for r in &new.routes {
        match find(old, &r.label) {
            None => out.push(format!("+ route {} -> {}", r.label, action(new, &r.action))),
            Some(i) => {
                let o = &old.routes[i];
                if route_match(o) != route_match(r) {
                    out.push(format!("~ route {}: match changed", r.label));
                }
                let (a, b) = (action(old, &o.action), action(new, &r.action));
                if a != b {
                    out.push(format!("~ route {}: {a} -> {b}", r.label));
                }
                if debug(&o.policy) != debug(&r.policy) {
                    out.push(format!("~ route {}: policies changed", r.label));
                }
            }
        }
    }
    for o in &old.routes {
        if find(new, &o.label).is_none() {
            out.push(format!("- route {}", o.label));
        }
    }
    let kept = |c: &Config, other: &Config| -> Vec<String> {
        c.routes
            .iter()
            .filter(|r| find(other, &r.label).is_some())
            .map(|r| r.label.clone())
            .collect()
    };
    if kept(old, new) != kept(new, old) {
        out.push(format!("~ route order: {}", kept(new, old).join(", ")));
    }
}

/// Each server's share of the pool's total weight.
fn share(u: &UpstreamConfig, weight: u32) -> String {
    let total: u32 = u.servers.iter().map(|s| s.weight).sum::<u32>() + u.names.iter().map(|n| n.weight).sum::<u32>();
    format!("{:.1}%", f64::from(weight) * 100.0 / f64::from(total.max(1)))
}

fn servers(out: &mut Vec<String>, o: &UpstreamConfig, u: &UpstreamConfig) {
    let entries = |p: &UpstreamConfig| -> Vec<(String, u32)> {
        p.servers
            .iter()
            .map(|s| (s.address.to_string(), s.weight))
            .chain(p.names.iter().map(|n| (format!("{}:{}", n.host, n.port), n.weight)))
            .collect()
    };
    let (before, after) = (entries(o), entries(u));
    for (addr, w) in &after {
        match before.iter().find(|(a, _)| a == addr) {
            None => out.push(format!(
                "+ server {}/{addr} weight {w} (share {})",
                u.name,
                share(u, *w)
            )),
            Some((_, old_w)) if old_w != w => out.push(format!(
                "~ server {}/{addr}: weight {old_w} -> {w} (share {} -> {})",
                u.name,
                share(o, *old_w),
                share(u, *w)
            )),
            Some(_) if share(o, *w) != share(u, *w) => out.push(format!(
                "~ server {}/{addr}: share {} -> {}",
                u.name,
                share(o, *w),
                share(u, *w)
            )),
            Some(_) => {}
        }
    }
    for (addr, _) in &before {
        if !after.iter().any(|(a, _)| a == addr) {
            out.push(format!("- server {}/{addr}", u.name));
        }
    }
}

fn upstreams(out: &mut Vec<String>, old: &Config, new: &Config) {
    for u in &new.upstreams {
        let Some(o) = old.upstreams.iter().find(|o| o.name == u.name) else {
            let n = u.servers.len() + u.names.len();
            out.push(format!("+ upstream {} ({}, {n} servers)", u.name, u.balance.name()));
            continue;
        };
        let name = &u.name;
        if debug(&o.balance) != debug(&u.balance) {
            out.push(format!("~ upstream {name}: balance {} -> {}", describe(o), describe(u)));
        }
        listed(
            out,
            &format!("upstream {name}: timeouts.connect"),
            o.connect_timeout,
            u.connect_timeout,
        );
        listed(
            out,
            &format!("upstream {name}: timeouts.response"),
            o.response_timeout,
            u.response_timeout,
        );
        listed(out, &format!("upstream {name}: retries.attempts"), o.retries, u.retries);
        listed(out, &format!("upstream {name}: protocol"), o.protocol, u.protocol);
        let prefix = format!("upstream {name}: ");
        sections(
            out,
            &prefix,
            [
                ("health_check", debug(&o.health_check), debug(&u.health_check)),
                (
                    "outlier_detection",
                    debug(&o.outlier_detection),
                    debug(&u.outlier_detection),
                ),
                ("protections", debug(&o.protect), debug(&u.protect)),
                ("tls", debug(&o.tls), debug(&u.tls)),
                ("discovery", debug(&o.discovery), debug(&u.discovery)),
            ],
        );
        servers(out, o, u);
    }
    for o in &old.upstreams {
        if !new.upstreams.iter().any(|u| u.name == o.name) {
            out.push(format!("- upstream {}", o.name));
        }
    }
}

/// `consistent_hash on header:x-user` or `round_robin`.
fn describe(u: &UpstreamConfig) -> String {
    match u.balance.hash() {
        Some(h) => {
            let keys: Vec<String> = h.keys.iter().map(|k| k.to_string()).collect();
            format!("{} on {} (fallback {})", u.balance.name(), keys.join(", "), h.fallback)
        }
        None => u.balance.name().to_string(),
    }
}

/// Every change from `old` to `new`, one line each; empty when equal.
pub fn changes(old: &Config, new: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let addrs = |c: &Config| c.listeners.iter().map(|l| l.address).collect::<Vec<_>>();
    for a in addrs(new).iter().filter(|a| !addrs(old).contains(a)) {
        out.push(format!("+ listener {a}"));
    }
    for a in addrs(old).iter().filter(|a| !addrs(new).contains(a)) {
        out.push(format!("- listener {a}"));
    }
    for l in &new.listeners {
        if let Some(o) = old.listeners.iter().find(|o| o.address == l.address) {
            if o != l {
                out.push(format!("~ listener {}: tls or proxy_protocol changed", l.address));
            }
        }
    }
    listed(&mut out, "admin.address", old.admin, new.admin);
    listed(&mut out, "workers", old.workers, new.workers);
    listed(&mut out, "shutdown_timeout", old.shutdown_timeout, new.shutdown_timeout);
    sections(
        &mut out,
        "",
        [
            ("limits", debug(&old.limits), debug(&new.limits)),
            (
                "trusted_proxies",
                debug(&old.trusted_proxies),
                debug(&new.trusted_proxies),
            ),
            ("access_log", debug(&old.access_log), debug(&new.access_log)),
            ("request_id", debug(&old.request_id), debug(&new.request_id)),
            ("rate_limits", debug(&old.rate_limits), debug(&new.rate_limits)),
            ("error_pages", debug(&old.error_pages), debug(&new.error_pages)),
        ],
    );
    routes(&mut out, old, new);
    upstreams(&mut out, old, new);
    out
}
