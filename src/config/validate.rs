//! Raw YAML value -> runtime [`Config`], collecting every problem with its path.
//!
//! Each listener, upstream, server and route is deserialized on its own, so one
//! bad entry does not hide the problems of the others.

use super::schema::{RawAccessLog, RawAdmin, RawLimits, RawListener};
use super::types::*;
use super::{parse_duration, upstream, Problem};
use serde::de::DeserializeOwned;
use serde_yaml::Value;
use std::net::SocketAddr;
use std::time::Duration;

const TOP_KEYS: &[&str] = &[
    "listeners",
    "admin",
    "workers",
    "shutdown_timeout",
    "limits",
    "trusted_proxies",
    "access_log",
    "upstreams",
    "routes",
    "request_id",
    "error_pages",
    "rate_limits",
];

/// Collects problems while validating.
#[derive(Default)]
pub(super) struct Ctx {
    pub problems: Vec<Problem>,
    /// The directory relative file paths start from.
    pub base: std::path::PathBuf,
}

impl Ctx {
    pub fn err(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.to_string(),
            line: None,
            message: message.into(),
        });
    }

    /// Deserializes `value` into `T`, reporting a failure at `path` plus the inner path.
    pub fn de<T: DeserializeOwned>(&mut self, value: Value, path: &str) -> Option<T> {
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(v) => Some(v),
            Err(e) => {
                let inner = e.path().to_string();
                let message = e.into_inner().to_string();
                let mut full = path.to_string();
                if inner != "." {
                    if !inner.starts_with('[') {
                        full.push('.');
                    }
                    full.push_str(&inner);
                }
                if let Some(field) = unknown_field(&message) {
                    if !full.ends_with(field) {
                        full = format!("{full}.{field}");
                    }
                }
                self.err(&full, message);
                None
            }
        }
    }

    /// The entries of a `NAME -> mapping` section (`upstreams`,
    /// `rate_limits`) as (name, key path, value); a section that is not a
    /// mapping (`not_a_map` says what it should be) or a key that is not a
    /// non-empty string (`"{noun} names must be ..."`) is reported.
    pub fn named(&mut self, section: &str, value: Value, not_a_map: &str, noun: &str) -> Vec<(String, String, Value)> {
        let Value::Mapping(map) = value else {
            self.err(section, not_a_map);
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in map {
            match k.as_str().filter(|n| !n.is_empty()) {
                Some(name) => out.push((name.to_string(), format!("{section}.{name}"), v)),
                None => self.err(section, format!("{noun} names must be non-empty strings, found {k:?}")),
            }
        }
        out
    }

    /// The entries of the top-level list `key`, which must have at least one
    /// (`one` names an entry, `shape` shows one); empty when it has a problem.
    pub fn entries(&mut self, value: Option<Value>, key: &str, one: &str, shape: &str) -> Vec<Value> {
        match value {
            Some(Value::Sequence(items)) if !items.is_empty() => items,
            Some(Value::Sequence(_)) | None => {
                self.err(key, format!("at least one {one} is required"));
                Vec::new()
            }
            Some(_) => {
                self.err(key, format!("must be a list of {shape}"));
                Vec::new()
            }
        }
    }

    /// A duration such as `250ms`; absent gives `default`. A bare number is
    /// reported as missing its unit.
    pub fn duration(&mut self, value: Option<Value>, path: &str, default: Duration) -> Duration {
        let parsed = match value {
            None => return default,
            Some(Value::String(text)) => parse_duration(&text),
            Some(Value::Number(n)) => Err(format!("`{n}` has no unit; write e.g. {n}s or {n}ms")),
            Some(other) => Err(format!(
                "expected a duration such as 250ms or 2s, found {}",
                shown(&other)
            )),
        };
        parsed.unwrap_or_else(|e| {
            self.err(path, e);
            default
        })
    }
}

/// The field name of serde's "unknown field `x`, expected ..." message.
fn unknown_field(message: &str) -> Option<&str> {
    message.strip_prefix("unknown field `")?.split('`').next()
}

/// Validates the whole document; the config is `Some` only when there are no problems.
pub(super) fn validate(root: Value, base: &std::path::Path) -> (Option<Config>, Vec<Problem>) {
    let mut cx = Ctx {
        problems: Vec::new(),
        base: base.to_path_buf(),
    };
    let map = match root {
        Value::Mapping(m) => m,
        Value::Null => {
            cx.err("", "the config is empty; expected listeners, upstreams and routes");
            return (None, cx.problems);
        }
        _ => {
            cx.err("", "expected a mapping with listeners, upstreams and routes");
            return (None, cx.problems);
        }
    };
    let (mut listeners, mut upstreams_v, mut routes_v) = (None, None, None);
    let mut workers = 0usize;
    let mut admin = None;
    let mut access_log = None;
    let mut limits = Limits::default();
    let mut trusted_proxies = Vec::new();
    let mut shutdown_timeout = Duration::from_secs(30);
    let mut request_id = None;
    let mut error_pages = crate::config::ErrorPages::default();
    let mut rate_limits_v = None;
    for (k, v) in map {
        let Some(key) = k.as_str().map(str::to_string) else {
            // the key as written stands for its own path
            cx.err(&shown(&k), format!("keys must be strings, found {}", shown(&k)));
            continue;
        };
        match key.as_str() {
            "listeners" => listeners = Some(v),
            "upstreams" => upstreams_v = Some(v),
            "routes" => routes_v = Some(v),
            "workers" => match v.as_u64() {
                Some(n) if n <= 1024 => workers = n as usize,
                _ => cx.err("workers", "must be an integer 0..=1024 (0 = one per core)"),
            },
            "shutdown_timeout" => shutdown_timeout = cx.duration(Some(v), "shutdown_timeout", shutdown_timeout),
            "trusted_proxies" => trusted_proxies = super::limits::trusted_proxies(&mut cx, v),
            "admin" => admin = validate_admin(&mut cx, v),
            "limits" => {
                if let Some(raw) = cx.de::<RawLimits>(v, "limits") {
                    limits = super::limits::limits(&mut cx, raw);
                }
            }
            "access_log" => access_log = validate_access_log(&mut cx, v),
            "request_id" => request_id = super::policy::request_id(&mut cx, v),
            "error_pages" => error_pages = super::error_pages::error_pages(&mut cx, v),
            "rate_limits" => rate_limits_v = Some(v),
            other => {
                let path = if other.is_empty() { "\"\"" } else { other };
                cx.err(path, format!("unknown key; expected one of: {}", TOP_KEYS.join(", ")))
            }
        }
    }
    let listeners = validate_listeners(&mut cx, listeners);
    let names: Vec<String> = match &upstreams_v {
        Some(Value::Mapping(m)) => m.keys().filter_map(|k| k.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    let upstreams = upstream::validate_upstreams(&mut cx, upstreams_v);
    let rate_limits = rate_limits_v.map_or_else(Vec::new, |v| super::front::rate_limits(&mut cx, v));
    let known = super::route::Known {
        upstreams: &upstreams,
        names: &names,
        request_id: request_id.is_some(),
        rate_limits: &rate_limits,
    };
    let routes = super::route::validate_routes(&mut cx, routes_v, &known);
    if !cx.problems.is_empty() {
        return (None, cx.problems);
    }
    let config = Config {
        listeners,
        admin,
        access_log,
        limits,
        trusted_proxies,
        workers,
        shutdown_timeout,
        upstreams,
        routes,
        request_id,
        error_pages,
        rate_limits,
    };
    (Some(config), cx.problems)
}

fn validate_access_log(cx: &mut Ctx, value: Value) -> Option<AccessLogConfig> {
    let raw = cx.de::<RawAccessLog>(value, "access_log")?;
    let sink = match raw.path.as_deref() {
        None | Some("stderr") => LogSink::Stderr,
        Some("stdout") => LogSink::Stdout,
        Some("") => {
            cx.err("access_log.path", "empty; use stderr, stdout or a file path");
            return None;
        }
        Some(p) => LogSink::File(cx.base.join(p)),
    };
    let format = match raw.format.as_deref() {
        None | Some("json") => LogFormat::Json,
        Some("text") => LogFormat::Text,
        Some(other) => {
            cx.err("access_log.format", format!("`{other}` is not json or text"));
            return None;
        }
    };
    Some(AccessLogConfig { sink, format })
}

fn validate_admin(cx: &mut Ctx, value: Value) -> Option<SocketAddr> {
    let raw = cx.de::<RawAdmin>(value, "admin")?;
    match raw.address.parse() {
        Ok(a) => Some(a),
        Err(_) => {
            cx.err(
                "admin.address",
                format!("`{}` is not ip:port (e.g. 127.0.0.1:9901)", raw.address),
            );
            None
        }
    }
}

fn validate_listeners(cx: &mut Ctx, value: Option<Value>) -> Vec<ListenerConfig> {
    let items = cx.entries(value, "listeners", "listener", "{ address: host:port }");
    let mut out: Vec<ListenerConfig> = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let path = format!("listeners[{i}]");
        let Some(raw) = cx.de::<RawListener>(item, &path) else {
            continue;
        };
        let tpath = format!("{path}.tls");
        let tls = raw
            .tls
            .and_then(|v| cx.de::<super::tls::RawListenerTls>(v, &tpath))
            .and_then(|t| super::tls::listener_tls(cx, &tpath, t));
        match raw.address.parse::<SocketAddr>() {
            Ok(address) if out.iter().any(|l| l.address == address) => {
                cx.err(&format!("{path}.address"), format!("{address} is listed twice"))
            }
            Ok(address) => out.push(ListenerConfig {
                address,
                tls,
                proxy_protocol: raw.proxy_protocol.unwrap_or(false),
            }),
            Err(_) => cx.err(
                &format!("{path}.address"),
                format!("`{}` is not ip:port (e.g. 0.0.0.0:8080)", raw.address),
            ),
        }
    }
    out
}

/// A YAML value as the user wrote it, for error messages: `0.2`, `abc`,
/// `[1, 2]` (not serde's `Number(0.2)`).
pub fn shown(v: &Value) -> String {
    match v {
        Value::Null => "nothing".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        other => serde_json::to_string(other).unwrap_or_else(|_| format!("{other:?}")),
    }
}
