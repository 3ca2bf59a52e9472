//! Reference rows: `routes` (SPEC §2.2, §2.3, §2.5).

use super::{dflt, opt, req, Key, Ty};
use serde_json::{json, Value};

fn object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "additionalProperties": false, "required": required, "properties": properties })
}

fn str_map() -> Value {
    json!({ "type": "object", "additionalProperties": { "type": "string" } })
}

fn str_list() -> Value {
    json!({ "type": "array", "items": { "type": "string" } })
}

fn backends() -> Value {
    json!({ "type": "array", "minItems": 1, "items": object(&["upstream"], json!({
        "upstream": { "type": "string" },
        "weight": { "type": "integer", "minimum": 0, "maximum": 1000, "default": 1 } })) })
}

fn redirect() -> Value {
    object(
        &[],
        json!({
        "scheme": { "enum": ["http", "https"] },
        "host": { "type": "string" },
        "port": { "type": "integer", "minimum": 1, "maximum": 65535 },
        "path": { "type": "string", "pattern": "^/" },
        "path_prefix": { "type": "string", "pattern": "^/" },
        "status": { "enum": [301, 302, 303, 307, 308], "default": 302 } }),
    )
}

fn respond() -> Value {
    object(
        &[],
        json!({
        "status": { "type": "integer", "minimum": 100, "maximum": 599, "default": 200 },
        "body": { "type": "string", "default": "" },
        "content_type": { "type": "string", "default": "text/plain; charset=utf-8" },
        "headers": str_map() }),
    )
}

fn regex_replace() -> Value {
    object(
        &["pattern", "replacement"],
        json!({ "pattern": { "type": "string" }, "replacement": { "type": "string" } }),
    )
}

fn header_rules() -> Value {
    object(&[], json!({ "set": str_map(), "add": str_map(), "remove": str_list() }))
}

fn compress() -> Value {
    json!({ "oneOf": [
        { "type": "boolean" },
        object(&[], json!({
            "algorithms": { "type": "array", "items": { "enum": ["br", "gzip", "zstd"] } },
            "min_bytes": { "type": "integer", "minimum": 0, "default": 1024 },
            "types": str_list() }))
    ]})
}

fn access() -> Value {
    object(&[], json!({ "allow": str_list(), "deny": str_list() }))
}

fn basic_auth() -> Value {
    object(
        &["users_file"],
        json!({ "realm": { "type": "string", "default": "fulcrum" }, "users_file": { "type": "string" } }),
    )
}

fn forward_auth() -> Value {
    object(
        &["upstream"],
        json!({
        "upstream": { "type": "string" },
        "path": { "type": "string", "pattern": "^/" },
        "request_headers": str_list(),
        "response_headers": str_list(),
        "timeout": { "type": "string", "pattern": super::schema::DURATION, "default": "2s" } }),
    )
}

fn mirror() -> Value {
    object(
        &["upstream"],
        json!({
        "upstream": { "type": "string" },
        "percent": { "type": "integer", "minimum": 0, "maximum": 100, "default": 100 } }),
    )
}

fn methods() -> Value {
    json!({ "type": "array", "items": { "type": "string", "pattern": "^[A-Za-z]+$" } })
}

pub static ROUTES: &[Key] = &[
    req("routes[]", Ty::Section, "").non_empty(),
    opt("routes[].name", Ty::Str, "the index (`\"0\"`, `\"1\"`, ...)", "label for logs and metrics; unique"),
    opt("routes[].match", Ty::Section, "everything", ""),
    opt("routes[].match.host", Ty::Str, "any", "exact (case-insensitive, port ignored) or `*.example.com` (any subdomain depth, not the bare domain)"),
    opt("routes[].match.path_prefix", Ty::Pattern("^/"), "any", "starts with `/`; a plain string prefix"),
    opt("routes[].match.headers", Ty::StrMap, "any", "`{ name: value }`, all must be equal"),
    opt("routes[].match.methods", Ty::Json(methods), "any", "e.g. `[GET, POST]`"),
    opt("routes[].match.path", Ty::Pattern("^/"), "any", "exact path, without the query"),
    opt("routes[].match.path_regex", Ty::Str, "any", "Rust `regex` syntax on the path without the query (linear time; not anchored unless written so); at most 1,000 characters"),
    opt("routes[].match.query", Ty::StrMap, "any", "`{ name: value }` query parameters (decoded), all must be equal"),
    opt("routes[].upstream", Ty::Str, "one action required", "send to this upstream"),
    opt("routes[].backends", Ty::Json(backends), "—", "`[{ upstream, weight }]`: weighted split between pools (weight 0..=1000, default 1; not all 0)"),
    opt("routes[].redirect", Ty::Json(redirect), "—", "`{ scheme, host, port, path | path_prefix, status }`, each part optional; status 301, 302 (default), 303, 307, 308"),
    opt("routes[].respond", Ty::Json(respond), "—", "`{ status (200), body (\"\"), content_type (text/plain; charset=utf-8), headers }`"),
    dflt("routes[].strip_prefix", Ty::Bool, "false", "remove `path_prefix` before forwarding (the query is kept; the path keeps a leading `/`); not with a path rewrite"),
    opt("routes[].rewrite", Ty::Section, "—", ""),
    opt("routes[].rewrite.path_prefix", Ty::Pattern("^/"), "—", "replace the matched `match.path_prefix` in the path sent upstream"),
    opt("routes[].rewrite.path_regex", Ty::Json(regex_replace), "—", "`{ pattern, replacement }`: the first match replaced, `$1` / `${name}` captures"),
    opt("routes[].rewrite.host", Ty::Str, "—", "`Host` sent upstream (`X-Forwarded-Host` keeps the client's)"),
    opt("routes[].request_headers", Ty::Json(header_rules), "—", "`{ set: {name: value}, add: {name: value}, remove: [name] }` on the upstream request, after fulcrum's `X-Forwarded-*`; applied remove, set, add"),
    opt("routes[].response_headers", Ty::Json(header_rules), "—", "the same on every response of the route, fulcrum's own answers included"),
    opt("routes[].timeout", Ty::Duration, "none", "the whole request, retries included, until the response head; past it 504"),
    opt("routes[].compress", Ty::Json(compress), "off", "`true`, or `{ algorithms: [br, gzip] , min_bytes: 1024, types: [text/*, application/json, application/javascript, application/xml, image/svg+xml, application/wasm] }`; `zstd` only when listed"),
    opt("routes[].access", Ty::Json(access), "off", "`{ allow: [CIDR...], deny: [CIDR...] }` by client address, IPv4 and IPv6; deny wins; an empty `allow` allows everyone not denied; refused: 403"),
    opt("routes[].rate_limit", Ty::Str, "off", "the name of a `rate_limits` policy; over it: 429 with `Retry-After`"),
    opt("routes[].basic_auth", Ty::Json(basic_auth), "off", "`{ realm (fulcrum), users_file }`: htpasswd lines `user:HASH`, bcrypt (`$2y$`, `$2b$`) only, relative to the config, re-read on every reload; refused: 401 with `WWW-Authenticate: Basic realm=\"...\"`"),
    opt("routes[].forward_auth", Ty::Json(forward_auth), "off", "`{ upstream, path, request_headers: [], response_headers: [], timeout: 2s }`: ask that pool first (see *The front door*)"),
    opt("routes[].mirror", Ty::Json(mirror), "off", "`{ upstream, percent: 100 }`: a copy of each chosen request to another pool, its answer dropped"),
];
