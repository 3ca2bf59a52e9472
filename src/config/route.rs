//! `routes`: each entry's match conditions, its one action and its policies
//! (SPEC §2.2, §2.3), validated into [`RouteConfig`] with every problem
//! reported at its key path.

use super::schema::RawRoute;
use super::types::*;
use super::validate::Ctx;
use super::{action, policy};
use http::{HeaderName, HeaderValue, Method};
use regex::Regex;
use serde_yaml::Value;
use std::collections::{BTreeMap, HashSet};

/// The longest `path_regex` accepted.
pub const MAX_REGEX_LEN: usize = 1000;

/// What every route may refer to.
pub(crate) struct Known<'a> {
    pub upstreams: &'a [UpstreamConfig],
    /// Every upstream written, valid or not, so a route to an upstream that
    /// has its own problems is not reported a second time.
    pub names: &'a [String],
    pub request_id: bool,
    pub rate_limits: &'a [super::RateLimitConfig],
}

impl Known<'_> {
    /// The index of upstream `name`, reporting an unknown one at `path`.
    pub fn upstream(&self, cx: &mut Ctx, path: &str, name: &str) -> usize {
        if !self.names.iter().any(|n| n == name) {
            cx.err(
                path,
                format!("unknown upstream `{name}`; defined: {}", self.names.join(", ")),
            );
        }
        self.upstreams.iter().position(|u| u.name == name).unwrap_or(0)
    }
}

pub(super) fn validate_routes(cx: &mut Ctx, value: Option<Value>, known: &Known<'_>) -> Vec<RouteConfig> {
    let items = cx.entries(value, "routes", "route", "{ match, upstream }");
    let mut out = Vec::new();
    let mut route_names = HashSet::new();
    for (i, item) in items.into_iter().enumerate() {
        let path = format!("routes[{i}]");
        let Some(raw) = cx.de::<RawRoute>(item, &path) else {
            continue;
        };
        if let Some(name) = &raw.name {
            if name.is_empty() || !route_names.insert(name.clone()) {
                cx.err(
                    &format!("{path}.name"),
                    format!("`{name}` is empty or used by another route"),
                );
            }
        }
        if let Some(route) = validate_route(cx, &path, i, raw, known) {
            out.push(route);
        }
    }
    out
}

fn validate_route(cx: &mut Ctx, path: &str, i: usize, mut raw: RawRoute, known: &Known<'_>) -> Option<RouteConfig> {
    let mut m = raw.matches.take().unwrap_or_default();
    let mpath = format!("{path}.match");
    let prefix_ok = m.path_prefix.as_ref().is_none_or(|p| p.starts_with('/'));
    if !prefix_ok {
        cx.err(&format!("{mpath}.path_prefix"), "must start with /");
    }
    let path_prefix = m.path_prefix.clone().filter(|_| prefix_ok);
    let action = action::validate_action(cx, path, &mut raw, m.path_prefix.as_deref(), known)?;
    let strip_prefix = raw.strip_prefix.unwrap_or(false);
    // a bad path_prefix is reported once, not again as strip_prefix's
    if strip_prefix && m.path_prefix.is_none() {
        cx.err(&format!("{path}.strip_prefix"), "needs match.path_prefix");
    }
    let policy = policy::validate_policy(cx, path, &mut raw, &action, m.path_prefix.as_deref(), known);
    if strip_prefix && policy.rewrite.as_ref().is_some_and(|r| r.path.is_some()) {
        cx.err(
            &format!("{path}.strip_prefix"),
            "cannot be combined with a rewrite of the path; use rewrite.path_prefix: /",
        );
    }
    let methods = methods(cx, &format!("{mpath}.methods"), m.methods.take().unwrap_or_default());
    Some(RouteConfig {
        label: raw.name.unwrap_or_else(|| i.to_string()),
        host: m
            .host
            .as_ref()
            .and_then(|h| host_match(cx, &format!("{mpath}.host"), h)),
        path_prefix,
        path: exact_path(cx, &format!("{mpath}.path"), m.path.as_deref()),
        path_regex: m
            .path_regex
            .as_deref()
            .and_then(|r| regex(cx, &format!("{mpath}.path_regex"), r)),
        query: m.query.take().unwrap_or_default().into_iter().collect(),
        headers: headers(cx, &format!("{mpath}.headers"), m.headers.take().unwrap_or_default()),
        methods,
        action,
        strip_prefix,
        policy,
    })
}

fn exact_path(cx: &mut Ctx, path: &str, value: Option<&str>) -> Option<String> {
    let p = value?;
    if !p.starts_with('/') || p.contains('?') {
        cx.err(
            path,
            format!("`{p}` must start with / and have no query (match the query with match.query)"),
        );
        return None;
    }
    Some(p.to_string())
}

/// Compiles a `path_regex`; a syntax error names its position.
pub(super) fn regex(cx: &mut Ctx, path: &str, pattern: &str) -> Option<Regex> {
    if pattern.len() > MAX_REGEX_LEN {
        cx.err(path, format!("longer than {MAX_REGEX_LEN} characters"));
        return None;
    }
    if let Err(e) = regex_syntax::ast::parse::Parser::new().parse(pattern) {
        let at = e.span().start;
        cx.err(
            path,
            format!("invalid regex `{pattern}` at column {}: {}", at.column, e.kind()),
        );
        return None;
    }
    match Regex::new(pattern) {
        Ok(r) => Some(r),
        Err(e) => {
            let text = e.to_string();
            let last = text.lines().last().unwrap_or("invalid").trim().to_string();
            cx.err(path, format!("invalid regex `{pattern}`: {last}"));
            None
        }
    }
}

/// Letters, digits, `-` and `.`: a DNS name (or IPv4 address) as written in the config.
pub(super) fn is_host_name(h: &str) -> bool {
    !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

fn host_match(cx: &mut Ctx, path: &str, host: &str) -> Option<HostMatch> {
    let host = host.to_ascii_lowercase();
    if let Some(rest) = host.strip_prefix("*.") {
        if is_host_name(rest) {
            return Some(HostMatch::Suffix(format!(".{rest}")));
        }
    } else if is_host_name(&host) {
        return Some(HostMatch::Exact(host));
    }
    cx.err(path, format!("`{host}` is not a host name or *.domain wildcard"));
    None
}

/// A `{ name: value }` map of literal headers.
pub(super) fn headers(cx: &mut Ctx, path: &str, raw: BTreeMap<String, String>) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::new();
    for (name, value) in raw {
        match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) {
            (Ok(n), Ok(v)) => out.push((n, v)),
            (Err(_), _) => cx.err(&format!("{path}.{name}"), "not a valid header name"),
            (_, Err(_)) => cx.err(&format!("{path}.{name}"), "not a valid header value"),
        }
    }
    out
}

/// The IANA HTTP Method Registry (2024), the common ones first so a
/// suggestion prefers them on a tie.
const METHODS: &[&str] = &[
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "PATCH",
    "OPTIONS",
    "CONNECT",
    "TRACE",
    "QUERY",
    "ACL",
    "BASELINE-CONTROL",
    "BIND",
    "CHECKIN",
    "CHECKOUT",
    "COPY",
    "LABEL",
    "LINK",
    "LOCK",
    "MERGE",
    "MKACTIVITY",
    "MKCALENDAR",
    "MKCOL",
    "MKREDIRECTREF",
    "MKWORKSPACE",
    "MOVE",
    "ORDERPATCH",
    "PRI",
    "PROPFIND",
    "PROPPATCH",
    "REBIND",
    "REPORT",
    "SEARCH",
    "UNBIND",
    "UNCHECKOUT",
    "UNLINK",
    "UNLOCK",
    "UPDATE",
    "UPDATEREDIRECTREF",
    "VERSION-CONTROL",
];

/// `match.methods`: registered HTTP methods only, so a typo such as `GTE`
/// is an error naming the nearest method rather than a route that never matches.
fn methods(cx: &mut Ctx, path: &str, raw: Vec<String>) -> Vec<Method> {
    let mut out = Vec::new();
    for (i, m) in raw.into_iter().enumerate() {
        let upper = m.to_ascii_uppercase();
        if let Some(method) = METHODS
            .contains(&upper.as_str())
            .then(|| Method::from_bytes(upper.as_bytes()).ok())
            .flatten()
        {
            out.push(method);
            continue;
        }
        let nearest = METHODS
            .iter()
            .min_by_key(|known| strsim::osa_distance(known, &upper))
            .expect("the registry is not empty");
        cx.err(
            &format!("{path}[{i}]"),
            format!("`{m}` is not a registered HTTP method; did you mean {nearest}?"),
        );
    }
    out
}
