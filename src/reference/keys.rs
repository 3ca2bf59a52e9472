//! Reference rows: the top level, listeners, limits, logs, the front door's
//! `rate_limits`, `error_pages` and `request_id`.

use super::{dflt, opt, req, Key, Ty};
use serde_json::{json, Value};

/// `ip:port` (or `name:port` where DNS names are allowed).
pub const HOST_PORT: &str = r"^(\[[0-9A-Fa-f:.]+\]|[^\s:\[\]]+):[0-9]{1,5}$";

fn cidr_list() -> Value {
    json!({ "type": "array", "items": { "type": "string", "pattern": r"^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$" } })
}

fn store() -> Value {
    json!({ "oneOf": [
        { "const": "local" },
        { "type": "object", "additionalProperties": false, "required": ["redis"], "properties": {
            "redis": { "type": "string", "pattern": "^rediss?://", "description": "redis://HOST:PORT/DB" },
            "timeout": { "type": "string", "pattern": super::schema::DURATION, "default": "50ms" } } }
    ]})
}

fn error_page() -> Value {
    json!({ "type": "object", "additionalProperties": false, "required": ["file"],
            "properties": { "file": { "type": "string", "description": "path relative to the config; .html, .json or .txt" } } })
}

pub static TOP: &[Key] = &[
    req("listeners[]", Ty::Section, "").non_empty(),
    req("listeners[].address", Ty::Pattern(HOST_PORT), "`ip:port`; HTTP/1.1 and h2c on the same port; port 0 picks a free port").shown("required, at least one listener"),
    dflt("listeners[].proxy_protocol", Ty::Bool, "false", "every connection must start with a PROXY v1 or v2 header (see *The front door*)"),
    opt("listeners[].tls", Ty::Section, "plain text", "terminate TLS (rustls) with the keys below"),
    req("listeners[].tls.certificates", Ty::Json(certificates), "`[{ cert, key }]`: PEM chain and PEM key (PKCS#8, PKCS#1 or SEC1), paths relative to the config's directory; chosen by SNI (exact name, then `*.` wildcard), the first is the default").shown("required with `tls`, at least one"),
    dflt("listeners[].tls.alpn", Ty::Json(alpn), "[h2, http/1.1]", "protocols offered by ALPN"),
    dflt("listeners[].tls.min_version", Ty::Json(tls_version), "\"1.2\"", "`\"1.2\"` or `\"1.3\"`"),
    opt("listeners[].tls.client_ca", Ty::Str, "none", "PEM CA bundle: clients must present a certificate it signed (mTLS)"),
    dflt("workers", Ty::Int(0, 1024), "0", "worker threads, each a single-threaded runtime that serves the connections handed to it; 0 = one per core, 1 = everything on one thread; a change takes effect on restart"),
    dflt("shutdown_timeout", Ty::Duration, "30s", "how long SIGTERM/SIGINT waits for in-flight requests"),
    opt("admin", Ty::Section, "no admin listener", ""),
    req("admin.address", Ty::Pattern(HOST_PORT), "`ip:port` of the admin listener (see *Admin*); a change takes effect on restart").shown("required with `admin`"),
    opt("access_log", Ty::Section, "off", ""),
    dflt("access_log.path", Ty::Str, "stderr", "`stderr`, `stdout` or a file path (relative to the config's directory; appended to; reopened on SIGUSR1)"),
    dflt("access_log.format", Ty::Enum(&["json", "text"]), "json", "`json` or `text`"),
    opt("limits", Ty::Section, "", "").implied(),
    dflt("limits.header_read_timeout", Ty::Duration, "30s", "the whole request head must arrive within this, counted from the connection's opening or the first byte of a later request (slowloris; over HTTP/2 a later request begins with a HEADERS frame, and a client's PING, SETTINGS or WINDOW_UPDATE on an idle connection leaves it idle); the connection is closed and counted as `header_timeout`"),
    dflt("limits.max_header_bytes", Ty::Int(8192, 1048576), "65536", "request line + headers, 8192..=1048576; over it: 431"),
    dflt("limits.max_headers", Ty::Int(1, 10000), "100", "over it: 431"),
    dflt("limits.max_body_bytes", Ty::Int(0, i64::MAX), "10485760", "per request; over it: 413 before forwarding when `Content-Length` says so, else the upstream request is aborted and the client gets 413"),
    dflt("limits.max_connections", Ty::Int(1, 1_000_000), "10000", "per listener; beyond it new connections wait in the backlog until one closes"),
    dflt("limits.abuse_ban", Ty::Duration, "10s", "a client whose HTTP/2 connection is cut for a flood (SETTINGS/PING/PRIORITY, Rapid Reset, CONTINUATION) has its new connections held unread for this long, then closed (at most 1024 held per listener, the earliest-ending closed first; behind a PROXY header closed at once), each counted as `fulcrum_requests_rejected_total{reason=\"abuse_ban\"}`; `0s` turns it off; the address is the PROXY header's source where there is one, and `trusted_proxies` are never banned"),
    dflt("limits.idle_timeout", Ty::Duration, "60s", "a keep-alive connection with no request in flight (HTTP/1 or HTTP/2) is closed after this; a slow request in flight is never cut by it"),
    dflt("trusted_proxies", Ty::Json(cidr_list), "[]", "CIDRs (`10.0.0.0/8`, `fd00::/8`, or a bare address) whose `X-Forwarded-For` is appended to and believed: behind them the client is the rightmost entry that is not one of them; anyone else's is replaced by their address"),
];

pub static FRONT: &[Key] = &[
    opt("rate_limits", Ty::Section, "none", ""),
    opt("rate_limits.NAME", Ty::Section, "", ""),
    dflt("rate_limits.NAME.key", Ty::KeySources, "client_ip", "a hash key source (`header:NAME`, `cookie:NAME`, `query:NAME`, `path`, `host`, `client_ip`) or a list tried in order; requests with none share one bucket"),
    req("rate_limits.NAME.rate", Ty::Pattern(r"^\s*[0-9]+\s*/\s*(s|m|h)\s*$"), "`N/s`, `N/m` or `N/h` (N 1..=1000000)"),
    opt("rate_limits.NAME.burst", Ty::Int(1, 1_000_000), "N of `rate`", "requests a full bucket admits at once (1..=1000000)"),
    dflt("rate_limits.NAME.max_keys", Ty::Int(1, 10_000_000), "100000", "buckets kept at most (1..=10000000)"),
    dflt("rate_limits.NAME.store", Ty::Json(store), "local", "`local`, or `{ redis: \"redis://HOST:PORT/DB\", timeout: 50ms }` to share the buckets between instances"),
];

pub static TAIL: &[Key] = &[
    opt("error_pages", Ty::Section, "none", ""),
    opt("error_pages.NAME", Ty::Json(error_page), "none", "`NAME` is a status (`\"502\"`, 400..=599) or a class (`4xx`, `5xx`): `{ file: errors/502.html }` replaces the body of fulcrum's own answers with that status, else that class; content type from the extension (`.html`, `.json`, `.txt`); files relative to the config, read at load and on every reload, watched like TLS files; a missing file is a config error"),
    opt("request_id", Ty::Section, "off", ""),
    dflt("request_id.header", Ty::Pattern(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"), "x-request-id", "keep an incoming ID of 1..=200 visible ASCII characters, else generate 32 hex characters (128 random bits)").shown("off when `request_id` is absent; `x-request-id`"),
];

fn certificates() -> Value {
    json!({ "type": "array", "minItems": 1, "items": { "type": "object", "additionalProperties": false,
        "required": ["cert", "key"], "properties": { "cert": { "type": "string" }, "key": { "type": "string" } } } })
}

fn alpn() -> Value {
    json!({ "type": "array", "items": { "enum": ["h2", "http/1.1"] } })
}

fn tls_version() -> Value {
    json!({ "enum": ["1.2", "1.3", 1.2, 1.3] })
}
