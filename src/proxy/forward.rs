//! Route, select and forward one request; fills in `Info` as it learns where
//! the request goes, so errors are labelled as precisely as successes.

use super::body::ProxyBody;
use super::done::Info;
use super::{error, framing, headers, outlier, upgrade, ProxyError};
use crate::metrics::Metrics;
use crate::route::{self, RouteInput};
use crate::state::Snapshot;
use crate::upstream::{InFlight, KeyInput, Why};
use http::uri::{PathAndQuery, Scheme};
use http::{Request, Response, Uri, Version};
use hyper::body::Incoming;
use std::net::SocketAddr;
use std::sync::Arc;

pub async fn forward(
    snap: &Snapshot,
    metrics: &Arc<Metrics>,
    peer: SocketAddr,
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
    let (upstream_index, server_index) = (info.upstream.unwrap_or(0), info.server.unwrap_or(0));
    let upstream = &snap.upstreams[upstream_index];
    let server = &upstream.servers[server_index];

    let authority = parts.uri.authority().map(|a| a.as_str().to_owned());
    let trusted = snap.config.trusted_proxies.iter().any(|c| c.contains(peer.ip()));
    headers::prepare_request(&mut parts.headers, authority.as_deref(), peer.ip(), trusted, "http");
    if let Some((value, _)) = &upgrade {
        upgrade::restore(&mut parts.headers, value.clone());
    }
    let path_and_query = match new_path {
        Some(p) => PathAndQuery::try_from(p).ok(),
        None => parts.uri.path_and_query().cloned(),
    };
    let mut uri = http::uri::Parts::default();
    uri.scheme = Some(Scheme::HTTP);
    uri.authority = Some(server.authority.clone());
    uri.path_and_query = Some(path_and_query.unwrap_or_else(|| PathAndQuery::from_static("/")));
    parts.uri = Uri::from_parts(uri).expect("scheme, authority and path make a URI");
    parts.version = Version::HTTP_11;

    let client = &snap.clients[upstream_index];
    let (body, body_failed) = framing::Watched::new(body);
    let body = http_body_util::Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX));
    let request = client.request(Request::from_parts(parts, body));
    let sent = tokio::time::timeout(upstream.response_timeout, request).await;
    if let Ok(Err(e)) = &sent {
        if body_failed.load(std::sync::atomic::Ordering::SeqCst) {
            metrics.requests_rejected.with_label_values(&["bad_request"]).inc();
            return Err(ProxyError::BadRequest("invalid request body framing"));
        }
        if error::is_body_limit(e) {
            metrics.requests_rejected.with_label_values(&["body_too_large"]).inc();
            return Err(ProxyError::BodyTooLarge { limit });
        }
    }
    let failed = match &sent {
        Ok(Ok(resp)) => resp.status().is_server_error(),
        _ => true,
    };
    outlier::record(upstream, server_index, failed, metrics);
    let (name, id) = (upstream.name.clone(), server.id.clone());
    let resp = match sent {
        Err(_) => {
            return Err(ProxyError::Timeout {
                upstream: name,
                server: id,
                timeout: upstream.response_timeout,
            })
        }
        Ok(Err(e)) if e.is_connect() => {
            return Err(ProxyError::Connect {
                upstream: name,
                server: id,
                cause: error::chain(&e),
            })
        }
        Ok(Err(e)) => {
            return Err(ProxyError::BadResponse {
                upstream: name,
                server: id,
                cause: error::chain(&e),
            })
        }
        Ok(Ok(resp)) => resp,
    };
    guard.response_head();
    let mut resp = resp;
    if resp.status() == http::StatusCode::SWITCHING_PROTOCOLS {
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
        return Ok(Response::from_parts(parts, ProxyBody::upstream(body, guard)));
    }
    let (mut parts, body) = resp.into_parts();
    headers::remove_hop_by_hop(&mut parts.headers);
    Ok(Response::from_parts(parts, ProxyBody::upstream(body, guard)))
}
