//! Validation of `upstreams`: balance, hash policy, servers and timeouts.

use super::schema::{KeyList, RawDiscovery, RawHash, RawServer, RawUpstream};
use super::types::*;
use super::validate::Ctx;
use http::HeaderName;
use serde_yaml::Value;
use std::net::SocketAddr;
use std::time::Duration;

/// Every `balance` value, as spelt in the config.
pub const ALGORITHMS: &[&str] = &[
    "round_robin",
    "weighted_round_robin",
    "random",
    "least_connections",
    "p2c_ewma",
    "consistent_hash",
    "maglev",
];

/// Validates the `upstreams` mapping; entries with problems are left out of the result.
pub(super) fn validate_upstreams(cx: &mut Ctx, value: Option<Value>) -> Vec<UpstreamConfig> {
    // none at all is fine for routes that only redirect or respond; a
    // route naming a pool is then told it is unknown
    let Some(value) = value else { return Vec::new() };
    let mut out = Vec::new();
    for (name, path, v) in cx.named("upstreams", value, "must map names to pools", "upstream") {
        if let Some(raw) = cx.de::<RawUpstream>(v, &path) {
            if let Some(u) = upstream(cx, &path, name, raw) {
                out.push(u);
            }
        }
    }
    out
}

fn upstream(cx: &mut Ctx, path: &str, name: String, mut raw: RawUpstream) -> Option<UpstreamConfig> {
    let before = cx.problems.len();
    let protect = super::protect::RawProtection {
        max_in_flight: raw.max_in_flight,
        queue: raw.queue,
        slow_start: raw.slow_start,
        budget: raw.retries.as_mut().and_then(|r| r.budget.take()),
    };
    let protect = super::protect::protection(cx, path, protect);
    let discovery = raw
        .discovery
        .map_or_else(DiscoveryConfig::default, |d| discovery(cx, path, d));
    let tpath = format!("{path}.tls");
    let tls = raw
        .tls
        .and_then(|v| cx.de::<super::tls::RawUpstreamTls>(v, &tpath))
        .and_then(|t| super::tls::upstream_tls(cx, &tpath, t));
    let ppath = format!("{path}.protocol");
    let protocol = match (raw.protocol.as_deref(), tls.is_some()) {
        (None | Some("http1"), _) => Protocol::Http1,
        (Some("h2c"), false) => Protocol::H2c,
        (Some("h2"), true) => Protocol::H2,
        (Some("h2c"), true) => {
            cx.err(
                &ppath,
                "h2c is cleartext HTTP/2; with tls write h2 (or http1 to let ALPN decide)",
            );
            Protocol::Http1
        }
        (Some("h2"), false) => {
            cx.err(&ppath, "h2 needs tls; for cleartext HTTP/2 write h2c");
            Protocol::Http1
        }
        (Some(other), _) => {
            cx.err(&ppath, format!("`{other}` is not http1, h2c or h2 (with tls)"));
            Protocol::Http1
        }
    };
    let retries = raw.retries.map_or(DEFAULT_RETRIES, |r| {
        let key = format!("{path}.retries.attempts");
        super::limits::int(cx, &key, r.attempts, DEFAULT_RETRIES.into(), 0, MAX_RETRIES) as u32
    });
    let (servers, names) = servers(cx, path, raw.servers.unwrap_or_default());
    let balance = balance(cx, path, raw.balance.as_deref(), raw.hash, servers.len() + names.len());
    let health_check = raw
        .health_check
        .map(|h| super::health::health_check(cx, &format!("{path}.health_check"), h));
    let outlier_detection = raw
        .outlier_detection
        .map(|o| super::health::outlier(cx, &format!("{path}.outlier_detection"), o));
    let (connect, response) = raw.timeouts.map_or((None, None), |t| (t.connect, t.response));
    let connect_timeout = cx.duration(connect, &format!("{path}.timeouts.connect"), Duration::from_secs(1));
    let response_timeout = cx.duration(response, &format!("{path}.timeouts.response"), Duration::from_secs(30));
    if cx.problems.len() > before {
        return None;
    }
    Some(UpstreamConfig {
        name,
        balance: balance?,
        servers,
        connect_timeout,
        response_timeout,
        health_check,
        outlier_detection,
        protocol,
        names,
        discovery,
        tls,
        retries,
        protect,
    })
}

/// Extra attempts when none are configured: one, as nginx and HAProxy also
/// retry a refused connection on another server by default.
const DEFAULT_RETRIES: u32 = 1;
const MAX_RETRIES: u64 = 10;

fn balance(cx: &mut Ctx, path: &str, balance: Option<&str>, hash: Option<RawHash>, servers: usize) -> Option<Balance> {
    let bpath = format!("{path}.balance");
    let hpath = format!("{path}.hash");
    let name = balance.unwrap_or("weighted_round_robin");
    let plain = match name {
        "round_robin" => Some(Balance::RoundRobin),
        "weighted_round_robin" => Some(Balance::WeightedRoundRobin),
        "random" => Some(Balance::Random),
        "least_connections" => Some(Balance::LeastConnections),
        "p2c_ewma" => Some(Balance::P2cEwma),
        "consistent_hash" | "maglev" => None,
        other => {
            cx.err(
                &bpath,
                format!(
                    "`{other}` is not an algorithm; expected one of: {}",
                    ALGORITHMS.join(", ")
                ),
            );
            return None;
        }
    };
    if plain.is_some() {
        if hash.is_some() {
            cx.err(
                &hpath,
                format!("only with balance: consistent_hash or maglev, not {name}"),
            );
        }
        return plain;
    }
    let Some(mut hash) = hash else {
        cx.err(&hpath, format!("required with balance: {name} (at least hash.key)"));
        return None;
    };
    let table_size = hash.table_size.take();
    let policy = hash_policy(cx, &hpath, hash)?;
    if name == "consistent_hash" {
        if table_size.is_some() {
            cx.err(&format!("{hpath}.table_size"), "only for balance: maglev");
        }
        return Some(Balance::ConsistentHash(policy));
    }
    let size = table_size_of(cx, &format!("{hpath}.table_size"), table_size, servers)?;
    Some(Balance::Maglev(policy, size))
}

/// `table_size`: a prime at least 100x the servers; by default 65537, or the
/// smallest prime at least 100x the servers when that is larger.
fn table_size_of(cx: &mut Ctx, path: &str, value: Option<Value>, servers: usize) -> Option<usize> {
    let min = 100 * servers.max(1);
    let Some(value) = value else {
        return Some(if crate::balance::DEFAULT_TABLE_SIZE >= min {
            crate::balance::DEFAULT_TABLE_SIZE
        } else {
            (min..).find(|&n| is_prime(n)).expect("primes are unbounded")
        });
    };
    match value.as_u64() {
        Some(n) if n as usize >= min && n <= 1 << 26 && is_prime(n as usize) => Some(n as usize),
        Some(n) if n as usize >= min && n <= 1 << 26 => {
            let next = (n as usize..).find(|&k| is_prime(k)).expect("primes are unbounded");
            cx.err(path, format!("{n} is not prime (the next prime is {next})"));
            None
        }
        _ => {
            cx.err(
                path,
                format!("must be a prime from {min} (100 x {servers} servers) to 2^26, found {value:?}"),
            );
            None
        }
    }
}

fn is_prime(n: usize) -> bool {
    n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| !n.is_multiple_of(d))
}

fn hash_policy(cx: &mut Ctx, path: &str, raw: RawHash) -> Option<HashPolicy> {
    let bounded_load = match raw.bounded_load {
        None => None,
        Some(v) => match v.as_f64() {
            // 1.0 (Envoy's hash_balance_factor 100): every server at most ceil(mean)
            Some(c) if c >= 1.0 && c.is_finite() => Some(c),
            _ => {
                cx.err(
                    &format!("{path}.bounded_load"),
                    format!(
                        "must be a number of at least 1.0 (e.g. 1.25), found {}",
                        super::validate::shown(&v)
                    ),
                );
                None
            }
        },
    };
    let fallback = match raw.fallback.as_deref() {
        None | Some("random") => Fallback::Random,
        Some("round_robin") => Fallback::RoundRobin,
        Some("reject") => Fallback::Reject,
        Some(other) => {
            cx.err(
                &format!("{path}.fallback"),
                format!("`{other}` is not random, round_robin or reject"),
            );
            Fallback::Random
        }
    };
    let texts = match raw.key {
        None => {
            cx.err(
                &format!("{path}.key"),
                "required: header:NAME, cookie:NAME, query:NAME, path, host or client_ip",
            );
            return None;
        }
        Some(KeyList::One(k)) => vec![(format!("{path}.key"), k)],
        Some(KeyList::Many(ks)) if ks.is_empty() => {
            cx.err(&format!("{path}.key"), "the list is empty");
            return None;
        }
        Some(KeyList::Many(ks)) => ks
            .into_iter()
            .enumerate()
            .map(|(i, k)| (format!("{path}.key[{i}]"), k))
            .collect(),
    };
    let mut keys = Vec::new();
    for (kpath, text) in texts {
        match key_source(&text) {
            Ok(k) => keys.push(k),
            Err(e) => cx.err(&kpath, e),
        }
    }
    Some(HashPolicy {
        keys,
        fallback,
        bounded_load,
    })
}

/// Parses one hash key source such as `header:x-user-id`.
pub fn key_source(text: &str) -> Result<KeySource, String> {
    let bad = || format!("`{text}` is not header:NAME, cookie:NAME, query:NAME, path, host or client_ip");
    match text.split_once(':') {
        None => match text {
            "path" => Ok(KeySource::Path),
            "host" => Ok(KeySource::Host),
            "client_ip" => Ok(KeySource::ClientIp),
            _ => Err(bad()),
        },
        Some((_, "")) => Err(bad()),
        Some(("header", name)) => HeaderName::from_bytes(name.as_bytes())
            .map(KeySource::Header)
            .map_err(|_| format!("`{name}` is not a valid header name")),
        Some(("cookie", name)) => Ok(KeySource::Cookie(name.to_string())),
        Some(("query", name)) => Ok(KeySource::Query(name.to_string())),
        Some(_) => Err(bad()),
    }
}

fn discovery(cx: &mut Ctx, path: &str, raw: RawDiscovery) -> DiscoveryConfig {
    let d = DiscoveryConfig::default();
    let rpath = format!("{path}.discovery.dns_refresh");
    let refresh = cx.duration(raw.dns_refresh, &rpath, d.refresh);
    if refresh < Duration::from_millis(100) {
        cx.err(&rpath, "must be at least 100ms");
    }
    let resolver = raw.resolver.and_then(|r| match r.parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => match r.parse::<std::net::IpAddr>() {
            Ok(ip) => Some(SocketAddr::new(ip, 53)),
            Err(_) => {
                cx.err(
                    &format!("{path}.discovery.resolver"),
                    format!("`{r}` is not ip or ip:port"),
                );
                None
            }
        },
    });
    DiscoveryConfig { refresh, resolver }
}

/// The pool's servers: those given by address, and those given by DNS name.
fn servers(cx: &mut Ctx, path: &str, items: Vec<Value>) -> (Vec<ServerConfig>, Vec<NamedServer>) {
    if items.is_empty() {
        cx.err(&format!("{path}.servers"), "at least one server is required");
    }
    let mut out: Vec<ServerConfig> = Vec::new();
    let mut names: Vec<NamedServer> = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let spath = format!("{path}.servers[{i}]");
        let Some(raw) = cx.de::<RawServer>(item, &spath) else {
            continue;
        };
        let weight = match &raw.weight {
            None => 1,
            Some(v) => match v.as_i64() {
                Some(w) if (1..=1000).contains(&w) => w,
                Some(w) => {
                    cx.err(
                        &format!("{spath}.weight"),
                        format!("{w} is out of range: must be an integer 1..=1000"),
                    );
                    1
                }
                None => {
                    let shown = serde_yaml::to_string(v).unwrap_or_default();
                    let shown = shown.trim();
                    cx.err(
                        &format!("{spath}.weight"),
                        format!("must be an integer 1..=1000, found `{shown}`"),
                    );
                    1
                }
            },
        };
        match raw.address.parse::<SocketAddr>() {
            Ok(address) if out.iter().any(|s| s.address == address) => cx.err(
                &format!("{spath}.address"),
                format!("{address} is listed twice in this upstream"),
            ),
            Ok(address) => out.push(ServerConfig {
                address,
                weight: weight.clamp(1, 1000) as u32,
            }),
            Err(_) if looks_like_name(&raw.address) => {
                let (host, port) = raw.address.rsplit_once(':').expect("checked by looks_like_name");
                let (host, port) = (
                    host.to_ascii_lowercase(),
                    port.parse().expect("checked by looks_like_name"),
                );
                if names.iter().any(|n| n.host == host && n.port == port) {
                    cx.err(
                        &format!("{spath}.address"),
                        format!("{} is listed twice in this upstream", raw.address),
                    );
                } else {
                    names.push(NamedServer {
                        host,
                        port,
                        weight: weight.clamp(1, 1000) as u32,
                    });
                }
            }
            Err(_) => cx.err(
                &format!("{spath}.address"),
                format!("`{}` is not host:port", raw.address),
            ),
        }
    }
    (out, names)
}

fn looks_like_name(address: &str) -> bool {
    match address.rsplit_once(':') {
        Some((host, port)) => port.parse::<u16>().is_ok() && super::route::is_host_name(host),
        None => false,
    }
}
