//! Route, select and forward one request; fills in `Info` as it learns where
//! the request goes, so errors are labelled as precisely as successes.

use super::attempt::{self, Routed};
use super::body::ProxyBody;
use super::done::Info;
use super::send_body::SendBody;
use super::{framing, headers, upgrade, ProxyError};
use crate::config::Protocol;
use crate::metrics::Metrics;
use crate::route::{self, RouteInput};
use crate::state::Snapshot;
use crate::upstream::{InFlight, KeyInput, Why};
use http::uri::PathAndQuery;
use http::{Request, Response, Version};
use hyper::body::Incoming;
use std::net::SocketAddr;
use std::sync::Arc;

pub async fn forward(
    snap: &Snapshot,
    metrics: &Arc<Metrics>,
    peer: SocketAddr,
    client: &headers::ClientAddr,
    proto: &'static str,
    mut req: Request<Incoming>,
    info: &mut Info,
) -> Result<Response<ProxyBody>, ProxyError> {
    let wants_upgrade = (req.version() == Version::HTTP_11)
        .then(|| upgrade::requested(req.headers()))
        .flatten();
    let upgrade = wants_upgrade.map(|value| (value, hyper::upgrade::on(&mut req)));
    let (mut parts, body) = req.into_parts();
    if let Err(reason) = framing::check(&parts.headers) {
        metrics.requests_rejected.with_label_values(&["bad_request"]).inc();
        return Err(ProxyError::BadRequest(reason));
    }
    // hyper counts HTTP/1 header lines itself; HTTP/2 header lists are counted here
    let max_headers = snap.config.limits.max_headers;
    if parts.headers.len() > max_headers {
        metrics.requests_rejected.with_label_values(&["header_too_large"]).inc();
        return Err(ProxyError::TooManyHeaders { limit: max_headers });
    }
    let limit = snap.config.limits.max_body_bytes;
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        metrics.requests_rejected.with_label_values(&["body_too_large"]).inc();
        return Err(ProxyError::BodyTooLarge { limit });
    }
    let guard;
    let new_path = {
        let host = route::request_host(&parts.headers, &parts.uri);
        let path = parts.uri.path();
        let input = RouteInput {
            method: &parts.method,
            host,
            path,
            headers: &parts.headers,
        };
        let Some(route_index) = snap.router.find_index(&input) else {
            return Err(ProxyError::NoRoute {
                method: parts.method.to_string(),
                host: host.unwrap_or("").to_string(),
                path: path.to_string(),
            });
        };
        let route = &snap.config.routes[route_index];
        info.route = Some(route_index);
        info.upstream = Some(route.upstream);
        let upstream = &snap.upstreams[route.upstream];
        let key_input = KeyInput {
            headers: &parts.headers,
            path,
            query: parts.uri.query(),
            host,
            client_ip: peer.ip(),
        };
        // Bounded pools decide and count the request in one step, so
        // concurrent picks cannot all see the same home under its cap.
        let admission = upstream.admission();
        let (server, why) = upstream.select(&key_input)?;
        guard = InFlight::start(&upstream.servers[server].load);
        drop(admission);
        info.server = Some(server);
        if let Why::Fallback(f) = why {
            metrics
                .hash_key_missing
                .with_label_values(&[&upstream.name, &f.to_string()])
                .inc();
        }
        if snap.access_log.is_some() {
            info.key = match why {
                Why::Turn => None,
                Why::Key(source) => Some(source.to_string()),
                Why::Fallback(f) => Some(format!("fallback:{f}")),
            };
        }
        match (&route.path_prefix, route.strip_prefix) {
            (Some(prefix), true) => {
                let pq = parts.uri.path_and_query().map_or("/", PathAndQuery::as_str);
                Some(route::strip_prefix(pq, prefix))
            }
            _ => None,
        }
    };
    let upstream = &snap.upstreams[info.upstream.unwrap_or(0)];

    let authority = parts.uri.authority().map(|a| a.as_str().to_owned());
    let trusted = snap.config.trusted_proxies.iter().any(|c| c.contains(peer.ip()));
    let te_trailers = upstream.protocol != Protocol::Http1 && headers::wants_trailers(&parts.headers);
    headers::prepare_request(&mut parts.headers, authority.as_deref(), client, trusted, proto);
    if te_trailers {
        parts
            .headers
            .insert(http::header::TE, http::HeaderValue::from_static("trailers"));
    }
    if let Some((value, _)) = &upgrade {
        upgrade::restore(&mut parts.headers, value.clone());
    }
    let path_and_query = match new_path {
        Some(p) => PathAndQuery::try_from(p).ok(),
        None => parts.uri.path_and_query().cloned(),
    };
    let path_and_query = path_and_query.unwrap_or_else(|| PathAndQuery::from_static("/"));
    let (body, body_failed) = framing::Watched::new(body);
    let body = http_body_util::Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX));
    let retry = upstream.retries > 0 && upstream.servers.len() > 1 && upgrade.is_none();
    let body = SendBody::new(body);
    let routed = Routed {
        snap,
        metrics,
        peer,
        parts,
        path_and_query,
        body,
        retry,
        body_failed,
        guard,
    };
    let (resp, guard, lease) = attempt::send(routed, info).await?;
    guard.response_head();
    let mut resp = resp;
    if resp.status() == http::StatusCode::SWITCHING_PROTOCOLS {
        let server = &upstream.servers[info.server.unwrap_or(0)];
        let (name, id) = (upstream.name.clone(), server.id.clone());
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
    headers::remove_hop_by_hop(&mut parts.headers);
    Ok(Response::from_parts(parts, ProxyBody::upstream(body, guard, lease)))
}
