//! Validation of the front door's keys (SPEC §2.5): `rate_limits` and, per
//! route, `access`, `rate_limit`, `basic_auth` and `forward_auth`. A Redis
//! `store` is not built yet and is refused as such.

use super::types::KeySource;
use super::validate::Ctx;
use super::{Cidr, PemFile};
use crate::ipset::IpSet;
use serde::Deserialize;
use serde_yaml::Value;
use std::time::Duration;

/// One named rate-limit policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitConfig {
    pub name: String,
    /// Tried in order; a request with none of them shares one bucket.
    pub keys: Vec<KeySource>,
    /// `rate` requests per `period`.
    pub rate: u32,
    pub period: Duration,
    /// Requests admitted at once from a full bucket.
    pub burst: u32,
    /// Buckets tracked at most (least recently used dropped).
    pub max_keys: usize,
    pub store: Store,
}

/// Where a policy's buckets live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// In this process.
    Local,
    /// In Redis, shared by every fulcrum pointed at it; `timeout` per check.
    Redis { url: String, timeout: Duration },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRedis {
    redis: String,
    timeout: Option<Value>,
}

/// `routes[].access`: deny wins; an empty `allow` allows everyone else.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    pub allow: IpSet,
    pub deny: IpSet,
}

impl Access {
    #[inline]
    pub fn admits(&self, ip: std::net::IpAddr) -> bool {
        !self.deny.contains(ip) && (self.allow.is_empty() || self.allow.contains(ip))
    }
}

/// `routes[].basic_auth`: bcrypt hashes by user, read from an htpasswd file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuth {
    pub realm: String,
    pub users: Vec<(String, String)>,
    /// What an unknown user's password is checked against, at the users' cost.
    pub decoy: String,
    pub file: PemFile,
}

/// `routes[].forward_auth`: ask a pool first (nginx `auth_request`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardAuth {
    /// Index into `Config::upstreams`.
    pub upstream: usize,
    /// Path (and query) of the auth request; starts with `/`.
    pub path: http::uri::PathAndQuery,
    /// Copied from the client's request onto the auth request.
    pub request_headers: Vec<http::HeaderName>,
    /// Copied from a 2xx auth answer onto the upstream request, replacing the client's.
    pub response_headers: Vec<http::HeaderName>,
    pub timeout: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForwardAuth {
    upstream: Option<String>,
    path: Option<String>,
    request_headers: Option<Vec<String>>,
    response_headers: Option<Vec<String>>,
    timeout: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    key: Option<super::schema::KeyList>,
    rate: Option<String>,
    burst: Option<Value>,
    max_keys: Option<Value>,
    store: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccess {
    allow: Option<Vec<String>>,
    deny: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBasicAuth {
    realm: Option<String>,
    users_file: Option<String>,
}

const MAX_KEYS: u64 = 10_000_000;

/// `rate_limits`: named policies.
pub(super) fn rate_limits(cx: &mut Ctx, value: Value) -> Vec<RateLimitConfig> {
    let shape = "must map policy names to { key, rate, burst, max_keys, store }";
    let mut out = Vec::new();
    for (name, path, v) in cx.named("rate_limits", value, shape, "policy") {
        let Some(raw) = cx.de::<RawRateLimit>(v, &path) else {
            continue;
        };
        if let Some(limit) = rate_limit(cx, &path, name, raw) {
            out.push(limit);
        }
    }
    out
}

fn rate_limit(cx: &mut Ctx, path: &str, name: String, raw: RawRateLimit) -> Option<RateLimitConfig> {
    let before = cx.problems.len();
    let keys = match raw.key {
        None => vec![KeySource::ClientIp],
        Some(super::schema::KeyList::One(k)) => vec![(format!("{path}.key"), k)]
            .into_iter()
            .filter_map(|(p, k)| key(cx, &p, &k))
            .collect(),
        Some(super::schema::KeyList::Many(ks)) => ks
            .iter()
            .enumerate()
            .filter_map(|(i, k)| key(cx, &format!("{path}.key[{i}]"), k))
            .collect(),
    };
    let rpath = format!("{path}.rate");
    let (rate, period) = match raw.rate.as_deref().map(parse_rate) {
        Some(Ok(r)) => r,
        Some(Err(e)) => {
            cx.err(&rpath, e);
            (1, Duration::from_secs(1))
        }
        None => {
            cx.err(&rpath, "required: N/s, N/m or N/h (e.g. 100/s)");
            (1, Duration::from_secs(1))
        }
    };
    let burst = super::limits::int(cx, &format!("{path}.burst"), raw.burst, rate.into(), 1, 1_000_000) as u32;
    let max_keys = super::limits::int(cx, &format!("{path}.max_keys"), raw.max_keys, 100_000, 1, MAX_KEYS) as usize;
    let spath = format!("{path}.store");
    let store = match raw.store {
        None => Store::Local,
        Some(Value::String(s)) if s == "local" => Store::Local,
        Some(v @ Value::Mapping(_)) => redis_store(cx, &spath, v).unwrap_or(Store::Local),
        Some(other) => {
            cx.err(
                &spath,
                format!(
                    "expected local or {{ redis: URL, timeout }}, found {}",
                    super::validate::shown(&other)
                ),
            );
            Store::Local
        }
    };
    (cx.problems.len() == before).then_some(RateLimitConfig {
        name,
        keys,
        rate,
        period,
        burst,
        max_keys,
        store,
    })
}

/// `store: { redis: URL, timeout }`: the URL is checked now, connected at first use.
fn redis_store(cx: &mut Ctx, path: &str, value: Value) -> Option<Store> {
    let raw = cx.de::<RawRedis>(value, path)?;
    let upath = format!("{path}.redis");
    let url_ok = raw.redis.starts_with("redis://") || raw.redis.starts_with("unix://");
    if let Err(e) = redis::Client::open(raw.redis.as_str()).map(|_| ()).and_then(|()| {
        if url_ok {
            Ok(())
        } else {
            Err(redis::RedisError::from((
                redis::ErrorKind::InvalidClientConfig,
                "not a redis:// URL",
            )))
        }
    }) {
        cx.err(
            &upath,
            format!("`{}` is not a Redis URL (redis://HOST:PORT/DB): {e}", raw.redis),
        );
        return None;
    }
    let tpath = format!("{path}.timeout");
    let timeout = cx.duration(raw.timeout, &tpath, Duration::from_millis(50));
    if timeout.is_zero() || timeout > Duration::from_secs(10) {
        cx.err(&tpath, format!("must be from 1ms to 10s, found {timeout:?}"));
    }
    Some(Store::Redis {
        url: raw.redis,
        timeout,
    })
}

fn key(cx: &mut Ctx, path: &str, text: &str) -> Option<KeySource> {
    super::key_source(text).map_err(|e| cx.err(path, e)).ok()
}

/// `100/s`, `20/m`, `1000/h`.
pub fn parse_rate(text: &str) -> Result<(u32, Duration), String> {
    let bad = || format!("`{text}` is not a rate: N/s, N/m or N/h with N 1..=1000000 (e.g. 100/s)");
    let (n, unit) = text.trim().split_once('/').ok_or_else(bad)?;
    let n: u32 = n
        .trim()
        .parse()
        .ok()
        .filter(|n| (1..=1_000_000).contains(n))
        .ok_or_else(bad)?;
    let period = match unit.trim() {
        "s" => Duration::from_secs(1),
        "m" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        _ => return Err(bad()),
    };
    Ok((n, period))
}

/// `routes[].access`.
pub(super) fn access(cx: &mut Ctx, path: &str, value: Value) -> Option<Access> {
    let raw = cx.de::<RawAccess>(value, path)?;
    let mut list = |key: &str, items: Option<Vec<String>>| {
        let mut cidrs = Vec::new();
        for (i, text) in items.unwrap_or_default().iter().enumerate() {
            match Cidr::parse(text) {
                Ok(c) => cidrs.push(c),
                Err(e) => cx.err(&format!("{path}.{key}[{i}]"), e),
            }
        }
        IpSet::new(&cidrs)
    };
    let (allow, deny) = (list("allow", raw.allow), list("deny", raw.deny));
    if allow.is_empty() && deny.is_empty() {
        cx.err(path, "needs allow or deny (a list of CIDRs or addresses)");
    }
    Some(Access { allow, deny })
}

/// `routes[].basic_auth`: the users file read now (and on every reload).
pub(super) fn basic_auth(cx: &mut Ctx, path: &str, value: Value) -> Option<BasicAuth> {
    let raw = cx.de::<RawBasicAuth>(value, path)?;
    let realm = raw.realm.unwrap_or_else(|| "fulcrum".to_string());
    if realm.is_empty() || realm.contains('"') || realm.chars().any(char::is_control) {
        cx.err(
            &format!("{path}.realm"),
            "must be non-empty, without quotes or control characters",
        );
    }
    let fpath = format!("{path}.users_file");
    let Some(file) = raw.users_file else {
        cx.err(&fpath, "required: an htpasswd file of user:bcrypt-hash lines");
        return None;
    };
    let full = cx.base.join(&file);
    let bytes = match std::fs::read(&full) {
        Ok(b) => b,
        Err(e) => {
            cx.err(
                &fpath,
                format!("cannot read {}: {}", full.display(), super::io_cause(&e)),
            );
            return None;
        }
    };
    let users = match users(&String::from_utf8_lossy(&bytes)) {
        Ok(u) => u,
        Err(e) => {
            cx.err(&fpath, format!("{}: {e}", full.display()));
            return None;
        }
    };
    // an unknown user costs one bcrypt verify at the users' cost, as a known one does
    let cost = users
        .iter()
        .filter_map(|(_, h)| h.get(4..6)?.parse::<u32>().ok())
        .max()
        .unwrap_or(10);
    let decoy = bcrypt::hash("decoy password that matches nothing", cost).ok()?;
    Some(BasicAuth {
        realm,
        users,
        decoy,
        file: PemFile { path: full, pem: bytes },
    })
}

/// `routes[].forward_auth`.
pub(super) fn forward_auth(
    cx: &mut Ctx,
    path: &str,
    value: Value,
    known: &super::route::Known<'_>,
) -> Option<ForwardAuth> {
    let raw = cx.de::<RawForwardAuth>(value, path)?;
    let upath = format!("{path}.upstream");
    let upstream = match raw.upstream {
        Some(name) => known.upstream(cx, &upath, &name),
        None => {
            cx.err(&upath, "required: the pool of the auth service");
            0
        }
    };
    let ppath = format!("{path}.path");
    let auth_path = match raw.path.as_deref().map(|p| (p, http::uri::PathAndQuery::try_from(p))) {
        Some((p, Ok(pq))) if p.starts_with('/') => pq,
        Some((p, _)) => {
            cx.err(&ppath, format!("`{p}` must be a path starting with /"));
            http::uri::PathAndQuery::from_static("/")
        }
        None => {
            cx.err(&ppath, "required: the path the auth request goes to, e.g. /check");
            http::uri::PathAndQuery::from_static("/")
        }
    };
    let mut names = |key: &str, list: Option<Vec<String>>| -> Vec<http::HeaderName> {
        let mut out = Vec::new();
        for (i, n) in list.unwrap_or_default().iter().enumerate() {
            match http::HeaderName::from_bytes(n.as_bytes()) {
                Ok(name) if crate::proxy::is_hop_by_hop(&name) || name == http::header::HOST => cx.err(
                    &format!("{path}.{key}[{i}]"),
                    format!("`{n}` cannot be copied (Host and hop-by-hop headers are fulcrum's)"),
                ),
                Ok(name) => out.push(name),
                Err(_) => cx.err(&format!("{path}.{key}[{i}]"), format!("`{n}` is not a header name")),
            }
        }
        out
    };
    let request_headers = names("request_headers", raw.request_headers);
    let response_headers = names("response_headers", raw.response_headers);
    let tpath = format!("{path}.timeout");
    let timeout = cx.duration(raw.timeout, &tpath, Duration::from_secs(2));
    if timeout.is_zero() {
        cx.err(&tpath, "must be above 0");
    }
    Some(ForwardAuth {
        upstream,
        path: auth_path,
        request_headers,
        response_headers,
        timeout,
    })
}

/// htpasswd lines `user:$2y$..`; blank lines and `#` comments skipped.
fn users(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |why: &str| format!("line {}: {why}", i + 1);
        let (user, hash) = line.split_once(':').ok_or_else(|| at("expected user:hash"))?;
        if user.is_empty() {
            return Err(at("empty user name"));
        }
        let bcrypt = ["$2y$", "$2b$", "$2a$"].iter().any(|p| hash.starts_with(p));
        if !bcrypt || hash.parse::<bcrypt::HashParts>().is_err() {
            return Err(at(&format!(
                "the hash of `{user}` is not bcrypt ($2y$ or $2b$); only bcrypt is accepted"
            )));
        }
        if out.iter().any(|(u, _)| u == user) {
            return Err(at(&format!("`{user}` is listed twice")));
        }
        out.push((user.to_string(), hash.to_string()));
    }
    if out.is_empty() {
        return Err("no users".to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_per_second_minute_and_hour() {
        assert_eq!(parse_rate("100/s"), Ok((100, Duration::from_secs(1))));
        assert_eq!(parse_rate("20/m"), Ok((20, Duration::from_secs(60))));
        assert!(parse_rate("100/x").is_err() && parse_rate("0/s").is_err() && parse_rate("fast").is_err());
    }

    #[test]
    fn htpasswd_lines_are_bcrypt_only_and_named_by_line() {
        let hash = bcrypt::hash("pw", 4).unwrap();
        assert_eq!(users(&format!("# admins\n\nann:{hash}\n")).unwrap().len(), 1);
        let md5 = users(&format!("ann:{hash}\nbob:$apr1$abc$def\n")).unwrap_err();
        assert!(md5.starts_with("line 2:") && md5.contains("only bcrypt"), "{md5}");
        assert!(users("nocolon\n").unwrap_err().starts_with("line 1:"));
        assert!(users(&format!("ann:{hash}\nann:{hash}\n"))
            .unwrap_err()
            .contains("twice"));
    }
}
