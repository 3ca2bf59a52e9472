//! A route's traffic policies (SPEC §2.3): rewrite, header rules with
//! placeholders, timeout, compression and mirroring.

use super::route::Known;
use super::schema::{RawCompress, RawHeaderRules, RawRewrite, RawRoute};
use super::types::*;
use super::validate::Ctx;
use http::{header, HeaderName, HeaderValue};
use serde_yaml::Value;

/// Headers that frame or route a message: never set by a header rule.
pub(super) fn framing_header(name: &HeaderName) -> bool {
    crate::proxy::is_hop_by_hop(name) || name == header::HOST || name == header::CONTENT_LENGTH
}

pub(super) fn validate_policy(
    cx: &mut Ctx,
    path: &str,
    raw: &mut RawRoute,
    action: &Action,
    match_prefix: Option<&str>,
    known: &Known<'_>,
) -> Policy {
    let forwards = matches!(action, Action::Upstream(_) | Action::Backends(_));
    if !forwards {
        let kind = action.kind();
        for (key, set) in [
            ("strip_prefix", raw.strip_prefix == Some(true)),
            ("rewrite", raw.rewrite.is_some()),
            ("request_headers", raw.request_headers.is_some()),
            ("timeout", raw.timeout.is_some()),
            ("mirror", raw.mirror.is_some()),
        ] {
            if set {
                cx.err(
                    &format!("{path}.{key}"),
                    format!("only applies to a route that forwards (upstream or backends), not {kind}"),
                );
            }
        }
    }
    let timeout = raw.timeout.take().map(|v| {
        let d = cx.duration(Some(v), &format!("{path}.timeout"), std::time::Duration::ZERO);
        if d.is_zero() {
            cx.err(&format!("{path}.timeout"), "must be above 0");
        }
        d
    });
    let rq = known.request_id;
    Policy {
        rewrite: raw
            .rewrite
            .take()
            .and_then(|r| rewrite(cx, &format!("{path}.rewrite"), r, match_prefix)),
        request_headers: raw
            .request_headers
            .take()
            .map(|r| rules(cx, &format!("{path}.request_headers"), r, rq)),
        response_headers: raw
            .response_headers
            .take()
            .map(|r| rules(cx, &format!("{path}.response_headers"), r, rq)),
        timeout,
        compress: raw
            .compress
            .take()
            .and_then(|v| compress(cx, &format!("{path}.compress"), v)),
        mirror: raw.mirror.take().map(|m| {
            let mpath = format!("{path}.mirror");
            let upstream = known.upstream(cx, &format!("{mpath}.upstream"), &m.upstream);
            let percent = match m.percent.unwrap_or(100) {
                p @ 0..=100 => p as u8,
                p => {
                    cx.err(&format!("{mpath}.percent"), format!("{p} is outside 0..=100"));
                    0
                }
            };
            Mirror { upstream, percent }
        }),
        access: raw
            .access
            .take()
            .and_then(|v| super::front::access(cx, &format!("{path}.access"), v)),
        rate_limit: raw.rate_limit.take().and_then(|name| {
            let found = known.rate_limits.iter().position(|l| l.name == name);
            if found.is_none() {
                let defined: Vec<&str> = known.rate_limits.iter().map(|l| l.name.as_str()).collect();
                let defined = if defined.is_empty() {
                    "none".to_string()
                } else {
                    defined.join(", ")
                };
                cx.err(
                    &format!("{path}.rate_limit"),
                    format!("unknown rate limit `{name}`; defined in rate_limits: {defined}"),
                );
            }
            found
        }),
        basic_auth: raw
            .basic_auth
            .take()
            .and_then(|v| super::front::basic_auth(cx, &format!("{path}.basic_auth"), v))
            .map(std::sync::Arc::new),
        forward_auth: raw
            .forward_auth
            .take()
            .and_then(|v| super::front::forward_auth(cx, &format!("{path}.forward_auth"), v, known)),
    }
}

fn rewrite(cx: &mut Ctx, path: &str, r: RawRewrite, match_prefix: Option<&str>) -> Option<Rewrite> {
    let path_rule = match (r.path_prefix, r.path_regex) {
        (Some(_), Some(_)) => {
            cx.err(path, "path_prefix and path_regex exclude each other");
            None
        }
        (Some(p), None) => match match_prefix {
            None => {
                cx.err(
                    &format!("{path}.path_prefix"),
                    "needs match.path_prefix (the part it replaces)",
                );
                None
            }
            Some(_) if !p.starts_with('/') => {
                cx.err(&format!("{path}.path_prefix"), "must start with /");
                None
            }
            Some(m) => Some(PathRewrite::Prefix(m.to_string(), p)),
        },
        (None, Some(re)) => {
            let rpath = format!("{path}.path_regex.pattern");
            super::route::regex(cx, &rpath, &re.pattern).map(|r| PathRewrite::Regex(r, re.replacement))
        }
        (None, None) => None,
    };
    let host = r.host.and_then(|h| match HeaderValue::from_str(&h) {
        Ok(v) if !h.is_empty() && !h.contains(['/', ' ', '@']) => Some(v),
        _ => {
            cx.err(&format!("{path}.host"), format!("`{h}` is not a host[:port]"));
            None
        }
    });
    Some(Rewrite { path: path_rule, host })
}

fn rules(cx: &mut Ctx, path: &str, raw: RawHeaderRules, request_id: bool) -> HeaderRules {
    let mut out = HeaderRules::default();
    for (key, map, into_add) in [("set", raw.set, false), ("add", raw.add, true)] {
        for (name, value) in map.unwrap_or_default() {
            let at = format!("{path}.{key}.{name}");
            let Some(name) = header_name(cx, &at, &name) else {
                continue;
            };
            if framing_header(&name) {
                cx.err(
                    &at,
                    format!("`{name}` is hop-by-hop or framing; fulcrum sets it itself"),
                );
                continue;
            }
            if let Some(t) = template(cx, &at, &value, request_id) {
                if into_add {
                    out.add.push((name, t));
                } else {
                    out.set.push((name, t));
                }
            }
        }
    }
    for (i, name) in raw.remove.unwrap_or_default().into_iter().enumerate() {
        let at = format!("{path}.remove[{i}]");
        let Some(name) = header_name(cx, &at, &name) else {
            continue;
        };
        if [header::HOST, header::CONTENT_LENGTH, header::TRANSFER_ENCODING].contains(&name) {
            cx.err(&at, format!("`{name}` frames the message and cannot be removed"));
            continue;
        }
        out.remove.push(name);
    }
    out
}

fn header_name(cx: &mut Ctx, path: &str, name: &str) -> Option<HeaderName> {
    match HeaderName::from_bytes(name.as_bytes()) {
        Ok(n) => Some(n),
        Err(_) => {
            cx.err(path, format!("`{name}` is not a valid header name"));
            None
        }
    }
}

/// Parses `${...}` placeholders; `$$` is a `$`.
pub(super) fn template(cx: &mut Ctx, path: &str, value: &str, request_id: bool) -> Option<Template> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        text.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix("$$") {
            text.push('$');
            rest = after;
            continue;
        }
        let Some(end) = rest.strip_prefix("${").and_then(|r| r.find('}')) else {
            cx.err(
                path,
                "a lone `$`: write $$ for a dollar sign, or ${client_ip}, ${host}, ${scheme}, ${request_id}",
            );
            return None;
        };
        let name = &rest[2..2 + end];
        let piece = match name {
            "client_ip" => Piece::ClientIp,
            "host" => Piece::Host,
            "scheme" => Piece::Scheme,
            "request_id" if request_id => Piece::RequestId,
            "request_id" => {
                cx.err(path, "${request_id} needs the top-level request_id section");
                return None;
            }
            other => {
                cx.err(
                    path,
                    format!("unknown placeholder ${{{other}}}; known: client_ip, host, scheme, request_id"),
                );
                return None;
            }
        };
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
        }
        pieces.push(piece);
        rest = &rest[2 + end + 1..];
    }
    text.push_str(rest);
    if HeaderValue::from_str(&text).is_err() {
        cx.err(path, "not a valid header value");
        return None;
    }
    if pieces.is_empty() {
        return Some(Template::Fixed(HeaderValue::from_str(&text).expect("checked")));
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Some(Template::Parts(pieces))
}

fn compress(cx: &mut Ctx, path: &str, value: Value) -> Option<Compress> {
    let raw = match value {
        Value::Bool(false) => return None,
        Value::Bool(true) => RawCompress {
            algorithms: None,
            min_bytes: None,
            types: None,
        },
        other => cx.de::<RawCompress>(other, path)?,
    };
    let mut algorithms = Vec::new();
    for (i, a) in raw
        .algorithms
        .unwrap_or_else(|| vec!["br".into(), "gzip".into()])
        .iter()
        .enumerate()
    {
        let e = match a.as_str() {
            "br" => Encoding::Br,
            "gzip" => Encoding::Gzip,
            "zstd" => Encoding::Zstd,
            other => {
                cx.err(
                    &format!("{path}.algorithms[{i}]"),
                    format!("`{other}` is not br, gzip or zstd"),
                );
                continue;
            }
        };
        if algorithms.contains(&e) {
            cx.err(&format!("{path}.algorithms[{i}]"), format!("`{a}` is listed twice"));
        }
        algorithms.push(e);
    }
    if algorithms.is_empty() {
        cx.err(&format!("{path}.algorithms"), "needs at least one of br, gzip, zstd");
    }
    let min_bytes = match raw.min_bytes.unwrap_or(1024) {
        n if n >= 0 => n as u64,
        n => {
            cx.err(&format!("{path}.min_bytes"), format!("{n} is negative"));
            0
        }
    };
    let types = match raw.types {
        None => Compress::DEFAULT_TYPES.iter().map(|t| t.to_string()).collect(),
        Some(list) => media_types(cx, &format!("{path}.types"), list),
    };
    Some(Compress {
        algorithms,
        min_bytes,
        types,
    })
}

fn media_types(cx: &mut Ctx, path: &str, list: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    for (i, t) in list.into_iter().enumerate() {
        let t = t.trim().to_ascii_lowercase();
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        };
        match t.split_once('/') {
            Some((a, b)) if token(a) && (b == "*" || token(b)) => out.push(t),
            _ => cx.err(
                &format!("{path}[{i}]"),
                format!("`{t}` is not a media type such as text/html or text/*"),
            ),
        }
    }
    out
}

/// `request_id` at the top level.
pub(super) fn request_id(cx: &mut Ctx, value: Value) -> Option<RequestIdConfig> {
    if value.is_null() {
        return Some(RequestIdConfig {
            header: HeaderName::from_static("x-request-id"),
        });
    }
    let raw = cx.de::<super::schema::RawRequestId>(value, "request_id")?;
    let name = raw.header.unwrap_or_else(|| "x-request-id".into());
    let header = header_name(cx, "request_id.header", &name)?;
    if framing_header(&header) {
        cx.err("request_id.header", format!("`{header}` cannot carry a request ID"));
        return None;
    }
    Some(RequestIdConfig { header })
}
