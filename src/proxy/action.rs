//! A route's action, the innermost stage of every request: answer a
//! redirect or fixed response, or pick a pool (one, or by the `backends`
//! split) and a server and forward. Failures become fulcrum's own answers
//! here, so every policy around the action sees them as responses.

use super::attempt::{self, Routed};
use super::facts::Facts;
use super::req_body::ReqBody;
use super::send_body::SendBody;
use super::{framing, local, upgrade, ProxyBody, ProxyError};
use crate::config::{Action, Protocol};
use crate::route;
use crate::upstream::{InFlight, KeyInput, SelectError, Why};
use http::uri::PathAndQuery;
use http::{Request, Response};

/// Turns a failure into fulcrum's own answer (or the config's error page
/// for its status), logged by severity with the detail the body leaves out.
pub fn answer(e: ProxyError, pages: &crate::config::ErrorPages) -> Response<ProxyBody> {
    if e.status().is_server_error() {
        tracing::warn!("{e}");
    } else {
        tracing::debug!("{e}");
    }
    e.into_response(pages)
}

/// Runs the route's action; never fails (failures are answers).
pub async fn respond(facts: &Facts, req: Request<ReqBody>) -> Response<ProxyBody> {
    let (parts, body) = req.into_parts();
    act!(facts, parts, body)
}

/// Where a route's action sends a request.
pub enum Target {
    /// This upstream (the route's, or the `backends` split's pick).
    Pool(usize),
    /// fulcrum's own answer: a redirect or a fixed response.
    Answered(Box<Response<ProxyBody>>),
}

/// Decides the action's target, without waiting on anything.
pub fn target(facts: &Facts, uri: &http::Uri) -> Target {
    match &facts.route().action {
        Action::Upstream(u) => Target::Pool(*u),
        Action::Backends(_) => {
            let split = facts.snap.routes[facts.route]
                .split
                .as_ref()
                .expect("built for backends");
            Target::Pool(split.pick(&facts.snap.upstreams))
        }
        Action::Redirect(r) => Target::Answered(Box::new(local::redirect(r, facts, uri))),
        Action::Respond(r) => Target::Answered(Box::new(local::respond(r))),
    }
}

/// Runs a route's action to its response, inline in the caller's future:
/// a function would nest the upstream exchange's (large) future one level
/// deeper and cost a copy of it per request.
#[macro_export]
#[doc(hidden)]
macro_rules! __act {
    ($facts:expr, $parts:expr, $body:expr) => {{
        use $crate::proxy::action::{answer, finish, start, target, Target};
        let facts = $facts;
        let sent = match target(facts, &$parts.uri) {
            Target::Pool(pool) => {
                let picked = match $crate::proxy::action::pick(facts, pool, &$parts) {
                    // every server is at max_in_flight: wait in line (boxed,
                    // so requests that never queue carry no queue state)
                    Err(e) if e.is_full() => Box::pin($crate::proxy::queue::wait(facts, pool, &$parts)).await,
                    picked => picked,
                };
                match picked.and_then(|p| start(facts, pool, p, $parts, $body)) {
                    Ok((routed, upgrade)) => {
                        let sent = $crate::proxy::attempt::send(routed).await;
                        finish(facts, pool, upgrade, sent)
                    }
                    Err(e) => Err(e),
                }
            }
            Target::Answered(resp) => Ok(*resp),
        };
        sent.unwrap_or_else(|e| answer(e, &facts.snap.config.error_pages))
    }};
}
pub use crate::__act as act;

/// An upgrade request's `Upgrade` value and its client side.
pub type Upgrade = Option<(http::HeaderValue, hyper::upgrade::OnUpgrade)>;

/// A server picked, and the request counted on it.
pub type Picked<'a> = (usize, Why<'a>, InFlight);

/// What a pool hashes on for this request.
pub fn key_input<'a>(facts: &'a Facts, parts: &'a http::request::Parts) -> KeyInput<'a> {
    KeyInput {
        headers: &parts.headers,
        path: parts.uri.path(),
        query: parts.uri.query(),
        host: facts.host_name(),
        client_ip: facts.client.ip,
    }
}

/// Picks a server of pool `upstream_index` and counts the request on it;
/// a `Full` failure means the request should queue (every eligible server
/// is at `max_in_flight`, or requests wait already and it goes behind them).
pub fn pick<'a>(
    facts: &'a Facts,
    upstream_index: usize,
    parts: &http::request::Parts,
) -> Result<Picked<'a>, ProxyError> {
    let upstream = &facts.snap.upstreams[upstream_index];
    if upstream.max_in_flight != u64::MAX && upstream.shared.depth() > 0 {
        return Err(SelectError::Full {
            upstream: upstream.name.clone(),
        }
        .into());
    }
    upstream.acquire(&key_input(facts, parts), &[], false).map_err(|e| {
        facts.record(|i| i.upstream = Some(upstream_index));
        if let SelectError::MissingKey { .. } = e {
            let missing = &facts.metrics.hash_key_missing;
            missing.with_label_values(&[&upstream.name, "reject"]).inc();
        }
        e.into()
    })
}

/// Prepares the request for the server picked.
pub fn start<'a>(
    facts: &'a Facts,
    upstream_index: usize,
    (server, why, guard): Picked<'a>,
    mut parts: http::request::Parts,
    body: ReqBody,
) -> Result<(Routed<'a>, Upgrade), ProxyError> {
    let snap = &facts.snap;
    let upgrade = facts
        .upgrade
        .clone()
        .and_then(|value| Some((value, parts.extensions.remove::<hyper::upgrade::OnUpgrade>()?)));
    let route = facts.route();
    let upstream = &snap.upstreams[upstream_index];
    if let Why::Fallback(f) = why {
        facts
            .metrics
            .hash_key_missing
            .with_label_values(&[&upstream.name, &f.to_string()])
            .inc();
    }
    let key = snap.access_log.as_ref().and_then(|_| match why {
        Why::Turn => None,
        Why::Key(source) => Some(source.to_string()),
        Why::Fallback(f) => Some(format!("fallback:{f}")),
    });
    facts.record(|i| {
        i.upstream = Some(upstream_index);
        i.server = Some(server);
        i.key = key;
    });
    let path_and_query = match (&route.path_prefix, route.strip_prefix) {
        (Some(prefix), true) => {
            let pq = parts.uri.path_and_query().map_or("/", PathAndQuery::as_str);
            PathAndQuery::try_from(route::strip_prefix(pq, prefix)).ok()
        }
        _ => parts.uri.path_and_query().cloned(),
    };
    let path_and_query = path_and_query.unwrap_or_else(|| PathAndQuery::from_static("/"));
    if facts.te_trailers && upstream.protocol != Protocol::Http1 {
        parts
            .headers
            .insert(http::header::TE, http::HeaderValue::from_static("trailers"));
    }
    let limit = snap.config.limits.max_body_bytes;
    let (body, body_failed) = framing::Watched::new(body);
    let body = http_body_util::Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX));
    let retry = upstream.retries > 0 && upstream.servers.len() > 1 && upgrade.is_none();
    let routed = Routed {
        facts,
        upstream: upstream_index,
        server,
        parts,
        path_and_query,
        body: SendBody::new(body),
        retry,
        body_failed,
        guard,
    };
    Ok((routed, upgrade))
}

/// The upstream's answer on its way back: a tunnel for a 101, hop-by-hop
/// headers removed otherwise.
pub fn finish(
    facts: &Facts,
    upstream_index: usize,
    upgrade: Upgrade,
    sent: attempt::Sent,
) -> Result<Response<ProxyBody>, ProxyError> {
    let (mut resp, guard, lease) = sent?;
    guard.response_head();
    let upstream = &facts.snap.upstreams[upstream_index];
    if resp.status() == http::StatusCode::SWITCHING_PROTOCOLS {
        let server = facts.info().server.unwrap_or(0);
        let (name, id) = (upstream.name.clone(), upstream.servers[server].id.clone());
        let Some((_, client_side)) = upgrade else {
            return Err(ProxyError::BadResponse {
                upstream: name,
                server: id,
                cause: "101 without an upgrade request".into(),
            });
        };
        upgrade::tunnel(
            client_side,
            hyper::upgrade::on(&mut resp),
            format!("upstream {name} server {id}"),
        );
        let (parts, body) = resp.into_parts();
        return Ok(Response::from_parts(parts, ProxyBody::upstream(body, guard, lease)));
    }
    let (mut parts, body) = resp.into_parts();
    super::headers::remove_hop_by_hop(&mut parts.headers);
    Ok(Response::from_parts(parts, ProxyBody::upstream(body, guard, lease)))
}
