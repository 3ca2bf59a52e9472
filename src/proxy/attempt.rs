//! Sending a routed request to its pool, retried on another server when
//! SPEC §3 allows it: a failure before the request was sent (connect refused
//! or timed out; the client itself resends on a stale pooled connection) for
//! any method, and a failure before any response byte for idempotent methods
//! only. A request whose body was already read is never sent again, so a POST
//! reaches an upstream at most once.

use super::done::Info;
use super::replay::{ReplayBody, Slot};
use super::{error, outlier, ProxyError};
use crate::metrics::Metrics;
use crate::state::Snapshot;
use crate::upstream::{InFlight, KeyInput, LiveView, Upstream};
use crate::{balance::View, route};
use http::request::Parts;
use http::uri::{PathAndQuery, Scheme};
use http::{HeaderMap, Method, Request, Response, Uri, Version};
use hyper::body::Incoming;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// One routed request, ready to send.
pub struct Routed<'a> {
    pub snap: &'a Snapshot,
    pub metrics: &'a Arc<Metrics>,
    pub peer: SocketAddr,
    /// Method, headers (already prepared for the upstream) and original URI.
    pub parts: Parts,
    /// The path and query to send (after `strip_prefix`).
    pub path_and_query: PathAndQuery,
    pub body: ReplayBody,
    /// Present when a retry may resend the body.
    pub slot: Option<Slot>,
    /// Set when the downstream body broke its framing.
    pub body_failed: Arc<AtomicBool>,
    /// Counts the request against the first server picked.
    pub guard: InFlight,
}

/// Whether a retry may follow a failure after the request was sent.
fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
    )
}

/// Sends the request, retrying on other servers as allowed; `info.server`
/// ends as the server that answered (or failed last).
pub async fn send(mut r: Routed<'_>, info: &mut Info) -> Result<(Response<Incoming>, InFlight), ProxyError> {
    let upstream_index = info.upstream.expect("routed");
    let upstream = &r.snap.upstreams[upstream_index];
    let clients = &r.snap.clients[upstream_index];
    let client = &clients[crate::workers::index() % clients.len()];
    let mut server_index = info.server.expect("selected");
    let mut body = Some(r.body);
    let mut tried = Vec::new();
    loop {
        let server = &upstream.servers[server_index];
        let last = r.slot.is_none() || tried.len() as u32 >= upstream.retries;
        let headers = if last {
            std::mem::take(&mut r.parts.headers)
        } else {
            r.parts.headers.clone()
        };
        let request = build(&r.parts.method, upstream, server_index, &r.path_and_query, headers);
        let request = request
            .body(body.take().expect("one body per attempt"))
            .expect("valid parts");
        let sent = tokio::time::timeout(upstream.response_timeout, client.request(request)).await;
        if let Ok(Err(e)) = &sent {
            if r.body_failed.load(Ordering::SeqCst) {
                r.metrics.requests_rejected.with_label_values(&["bad_request"]).inc();
                return Err(ProxyError::BadRequest("invalid request body framing"));
            }
            if error::is_body_limit(e) {
                r.metrics.requests_rejected.with_label_values(&["body_too_large"]).inc();
                let limit = r.snap.config.limits.max_body_bytes;
                return Err(ProxyError::BodyTooLarge { limit });
            }
        }
        let failed = sent.as_ref().map_or(true, |s| {
            s.as_ref().map_or(true, |resp| resp.status().is_server_error())
        });
        outlier::record(upstream, server_index, failed, r.metrics);
        let (err, before_sent) = match sent {
            Ok(Ok(resp)) => return Ok((resp, r.guard)),
            Err(_) => {
                let timeout = upstream.response_timeout;
                (
                    ProxyError::Timeout {
                        upstream: upstream.name.clone(),
                        server: server.id.clone(),
                        timeout,
                    },
                    false,
                )
            }
            Ok(Err(e)) if e.is_connect() => {
                let cause = error::chain(&e);
                (
                    ProxyError::Connect {
                        upstream: upstream.name.clone(),
                        server: server.id.clone(),
                        cause,
                    },
                    true,
                )
            }
            Ok(Err(e)) => {
                let cause = error::chain(&e);
                (
                    ProxyError::BadResponse {
                        upstream: upstream.name.clone(),
                        server: server.id.clone(),
                        cause,
                    },
                    false,
                )
            }
        };
        if last || !(before_sent || idempotent(&r.parts.method)) {
            return Err(err);
        }
        let Some(again) = r.slot.as_ref().and_then(Slot::again) else {
            return Err(err);
        };
        tried.push(server_index);
        let Some(next) = another(upstream, &r.parts, r.peer, &tried) else {
            return Err(err);
        };
        tracing::debug!(
            "retrying on upstream {} server {} after: {err}",
            upstream.name,
            upstream.servers[next].id
        );
        r.metrics.retries.with_label_values(&[&upstream.name]).inc();
        server_index = next;
        info.server = Some(next);
        r.guard = InFlight::start(&upstream.servers[next].load);
        body = Some(again);
    }
}

/// The request line and headers for one server of the pool.
fn build(
    method: &Method,
    upstream: &Upstream,
    server: usize,
    pq: &PathAndQuery,
    headers: HeaderMap,
) -> http::request::Builder {
    let mut uri = http::uri::Parts::default();
    uri.scheme = Some(if upstream.tls { Scheme::HTTPS } else { Scheme::HTTP });
    uri.authority = Some(upstream.servers[server].authority.clone());
    uri.path_and_query = Some(pq.clone());
    let version = match upstream.protocol {
        crate::config::Protocol::Http1 => Version::HTTP_11,
        crate::config::Protocol::H2c | crate::config::Protocol::H2 => Version::HTTP_2,
    };
    let mut builder = Request::builder()
        .method(method.clone())
        .uri(Uri::from_parts(uri).expect("scheme, authority and path make a URI"))
        .version(version);
    if let Some(h) = builder.headers_mut() {
        *h = headers;
    }
    builder
}

/// The server the pool's algorithm picks for this request once the servers
/// already tried are set aside; None when no other server is eligible.
fn another(upstream: &Upstream, parts: &Parts, peer: SocketAddr, tried: &[usize]) -> Option<usize> {
    let input = KeyInput {
        headers: &parts.headers,
        path: parts.uri.path(),
        query: parts.uri.query(),
        host: route::request_host(&parts.headers, &parts.uri),
        client_ip: peer.ip(),
    };
    let view = Untried {
        live: LiveView::new(&upstream.servers),
        tried,
    };
    upstream.select_among(&input, &view).ok().map(|(i, _)| i)
}

/// The live view with the servers already tried made ineligible.
struct Untried<'a> {
    live: LiveView<'a>,
    tried: &'a [usize],
}

impl View for Untried<'_> {
    fn is_eligible(&self, index: usize) -> bool {
        !self.tried.contains(&index) && self.live.is_eligible(index)
    }

    fn all_eligible(&self) -> bool {
        self.tried.is_empty() && self.live.all_eligible()
    }

    fn in_flight(&self, index: usize) -> u64 {
        self.live.in_flight(index)
    }

    fn latency_ns(&self, index: usize) -> f64 {
        self.live.latency_ns(index)
    }
}
