//! A route's action: exactly one of `upstream`, `backends`, `redirect`,
//! `respond` (SPEC §2.2).

use super::route::Known;
use super::schema::{RawRedirect, RawRespond, RawRoute};
use super::types::*;
use super::validate::Ctx;
use http::{HeaderValue, StatusCode};

const ACTIONS: &str = "upstream, backends, redirect or respond";

/// The one action `raw` names; None (with the problem reported) otherwise.
pub(super) fn validate_action(
    cx: &mut Ctx,
    path: &str,
    raw: &mut RawRoute,
    match_prefix: Option<&str>,
    known: &Known<'_>,
) -> Option<Action> {
    let given = [
        raw.upstream.is_some(),
        raw.backends.is_some(),
        raw.redirect.is_some(),
        raw.respond.is_some(),
    ];
    match given.iter().filter(|g| **g).count() {
        0 => {
            cx.err(
                &format!("{path}.upstream"),
                format!("a route needs one action: {ACTIONS}"),
            );
            return None;
        }
        1 => {}
        _ => {
            cx.err(path, format!("a route takes exactly one of {ACTIONS}, not several"));
            return None;
        }
    }
    if let Some(name) = raw.upstream.take() {
        return Some(Action::Upstream(known.upstream(cx, &format!("{path}.upstream"), &name)));
    }
    if let Some(list) = raw.backends.take() {
        return backends(cx, &format!("{path}.backends"), list, known);
    }
    if let Some(r) = raw.redirect.take() {
        return redirect(cx, &format!("{path}.redirect"), r, match_prefix).map(Action::Redirect);
    }
    let r = raw.respond.take()?;
    respond(cx, &format!("{path}.respond"), r).map(Action::Respond)
}

fn backends(cx: &mut Ctx, path: &str, list: Vec<super::schema::RawBackend>, known: &Known<'_>) -> Option<Action> {
    if list.is_empty() {
        cx.err(path, "needs at least one { upstream, weight }");
        return None;
    }
    let mut out: Vec<Backend> = Vec::new();
    for (i, b) in list.into_iter().enumerate() {
        let upstream = known.upstream(cx, &format!("{path}[{i}].upstream"), &b.upstream);
        let weight = match b.weight.unwrap_or(1) {
            w @ 0..=1000 => w as u32,
            w => {
                cx.err(
                    &format!("{path}[{i}].weight"),
                    format!("{w} is out of range: an integer 0..=1000"),
                );
                0
            }
        };
        if out.iter().any(|o| o.upstream == upstream) && known.upstreams.iter().any(|u| u.name == b.upstream) {
            cx.err(
                &format!("{path}[{i}].upstream"),
                format!("`{}` is listed twice", b.upstream),
            );
        }
        out.push(Backend { upstream, weight });
    }
    if out.iter().all(|b| b.weight == 0) {
        cx.err(path, "every weight is 0: at least one pool must take traffic");
        return None;
    }
    Some(Action::Backends(out))
}

fn redirect(cx: &mut Ctx, path: &str, r: RawRedirect, match_prefix: Option<&str>) -> Option<Redirect> {
    let before = cx.problems.len();
    let scheme = r.scheme.map(|s| s.to_ascii_lowercase());
    if let Some(s) = scheme.as_deref().filter(|s| *s != "http" && *s != "https") {
        cx.err(&format!("{path}.scheme"), format!("`{s}` is not http or https"));
    }
    let host = r.host.map(|h| h.to_ascii_lowercase());
    if let Some(h) = &host {
        if !super::route::is_host_name(h) {
            cx.err(&format!("{path}.host"), format!("`{h}` is not a host name"));
        }
    }
    let port = match r.port {
        None => None,
        Some(p @ 1..=65535) => Some(p as u16),
        Some(p) => {
            cx.err(&format!("{path}.port"), format!("{p} is not a port 1..=65535"));
            None
        }
    };
    let path_rule = match (r.path, r.path_prefix) {
        (Some(_), Some(_)) => {
            cx.err(path, "path and path_prefix exclude each other");
            None
        }
        (Some(p), None) => Some(RedirectPath::Full(p)),
        (None, Some(p)) => {
            if match_prefix.is_none() {
                cx.err(
                    &format!("{path}.path_prefix"),
                    "needs match.path_prefix (the part it replaces)",
                );
            }
            Some(RedirectPath::Prefix(p))
        }
        (None, None) => None,
    };
    if let Some(RedirectPath::Full(p) | RedirectPath::Prefix(p)) = &path_rule {
        if !p.starts_with('/') || http::uri::PathAndQuery::try_from(p.as_str()).is_err() {
            cx.err(path, format!("`{p}` must start with / and be a valid URI path"));
        }
    }
    let status = match r.status.unwrap_or(302) {
        s @ (301 | 302 | 303 | 307 | 308) => StatusCode::from_u16(s as u16).expect("a redirect status"),
        s => {
            cx.err(
                &format!("{path}.status"),
                format!("{s} is not 301, 302, 303, 307 or 308"),
            );
            StatusCode::FOUND
        }
    };
    (cx.problems.len() == before).then_some(Redirect {
        scheme,
        host,
        port,
        path: path_rule,
        status,
    })
}

fn respond(cx: &mut Ctx, path: &str, r: RawRespond) -> Option<Respond> {
    let status = match r.status.unwrap_or(200) {
        s @ 200..=599 => StatusCode::from_u16(s as u16).ok(),
        _ => None,
    };
    let Some(status) = status else {
        cx.err(&format!("{path}.status"), "must be a status code 200..=599");
        return None;
    };
    let content_type = r.content_type.as_deref().unwrap_or("text/plain; charset=utf-8");
    let Ok(content_type) = HeaderValue::from_str(content_type) else {
        cx.err(&format!("{path}.content_type"), "not a valid header value");
        return None;
    };
    let headers = super::route::headers(cx, &format!("{path}.headers"), r.headers.unwrap_or_default());
    for (name, _) in &headers {
        if super::policy::framing_header(name) {
            cx.err(&format!("{path}.headers.{name}"), "is set by fulcrum itself");
        }
    }
    Some(Respond {
        status,
        body: r.body.unwrap_or_default().into(),
        content_type,
        headers,
    })
}
