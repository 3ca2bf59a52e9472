//! Sending a routed request to its pool, retried on another server when
//! SPEC §3 allows it: a failure before the request was sent (connect refused
//! or timed out; the client itself resends on a stale pooled connection) for
//! any method, and a failure before any response byte for idempotent methods
//! only. The request to retry is the one the client hands back: unsent, with
//! its body unread, or its copy of an idempotent request without a body. A
//! request whose body was read is never sent again, so a POST reaches an
//! upstream at most once; the request path never copies headers itself.

use super::client::{idempotent, Failure, Lease, To, UpBody};
use super::facts::Facts;
use super::send_body::SendBody;
use super::{error, outlier, ProxyError};
use crate::route;
use crate::upstream::{InFlight, KeyInput, SelectError, Upstream};
use http::request::Parts;
use http::uri::{PathAndQuery, Scheme};
use http::{HeaderMap, Method, Request, Response, Uri, Version};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The upstream's response head, the in-flight guard of the server that
/// gave it and its connection's lease; or why there is none.
pub type Sent = Result<(Response<UpBody>, InFlight, Lease), ProxyError>;

/// One routed request, ready to send.
pub struct Routed<'a> {
    pub facts: &'a Facts,
    /// The pool, and the server picked first.
    pub upstream: usize,
    pub server: usize,
    /// Method, headers (already prepared for the upstream) and original URI.
    pub parts: Parts,
    /// The path and query to send (after `strip_prefix`).
    pub path_and_query: PathAndQuery,
    pub body: SendBody,
    /// Whether another server may be tried (not for upgrades).
    pub retry: bool,
    /// Set when the downstream body broke its framing.
    pub body_failed: Arc<AtomicBool>,
    /// Counts the request against the first server picked.
    pub guard: InFlight,
}

/// Sends the request, retrying on other servers as allowed; the facts'
/// server ends as the one that answered (or failed last).
pub async fn send(mut r: Routed<'_>) -> Sent {
    let (snap, metrics, client_ip) = (&r.facts.snap, &r.facts.metrics, r.facts.client.ip);
    let upstream_index = r.upstream;
    let upstream = &snap.upstreams[upstream_index];
    let clients = &snap.clients[upstream_index];
    let client = &clients[crate::workers::index() % clients.len()];
    let mut server_index = r.server;
    let headers = std::mem::take(&mut r.parts.headers);
    let first = build(&r.parts.method, upstream, server_index, &r.path_and_query, headers);
    let mut attempt = first.body(r.body).expect("valid parts");
    let mut tried = Vec::new();
    loop {
        let server = &upstream.servers[server_index];
        let last = !r.retry || tried.len() as u32 >= upstream.retries;
        let to = To {
            pass: r.facts.pass_head,
            ..to(upstream, server_index)
        };
        let sent = client.request(attempt, to).await;
        let mut e = match sent {
            Ok((resp, lease)) => {
                let failed = resp.status().is_server_error();
                outlier::record(upstream, server_index, failed, metrics);
                return Ok((resp, r.guard, lease));
            }
            Err(e) => e,
        };
        if r.body_failed.load(Ordering::SeqCst) {
            metrics.requests_rejected.with_label_values(&["bad_request"]).inc();
            return Err(ProxyError::BadRequest("invalid request body framing"));
        }
        if error::is_body_limit(&e) {
            metrics.requests_rejected.with_label_values(&["body_too_large"]).inc();
            let limit = snap.config.limits.max_body_bytes;
            return Err(ProxyError::BodyTooLarge { limit });
        }
        outlier::record(upstream, server_index, true, metrics);
        let (upstream_name, server_id) = (upstream.name.clone(), server.id.clone());
        let err = match &e.kind {
            Failure::Timeout => ProxyError::Timeout {
                upstream: upstream_name,
                server: server_id,
                timeout: upstream.response_timeout,
            },
            Failure::Connect(_) => ProxyError::Connect {
                upstream: upstream_name,
                server: server_id,
                cause: error::chain(&e),
            },
            Failure::Request(_) => ProxyError::BadResponse {
                upstream: upstream_name,
                server: server_id,
                cause: error::chain(&e),
            },
        };
        if last || !(e.is_connect() || idempotent(&r.parts.method)) {
            return Err(err);
        }
        let Some(mut again) = e.take_request() else {
            return Err(err);
        };
        tried.push(server_index);
        let input = key_input(again.headers(), &r.parts.uri, client_ip);
        let (next, guard) = match upstream.acquire(&input, &tried, true) {
            Ok((next, _, guard)) => (next, guard),
            Err(SelectError::Budget { .. }) => {
                metrics.retries_denied.with_label_values(&[&upstream.name]).inc();
                tracing::debug!("not retrying past the retry budget: {err}");
                return Err(err);
            }
            Err(_) => return Err(err),
        };
        tracing::debug!(
            "retrying on upstream {} server {} after: {err}",
            upstream.name,
            upstream.servers[next].id
        );
        metrics.retries.with_label_values(&[&upstream.name]).inc();
        server_index = next;
        r.facts.record(|i| i.server = Some(next));
        r.guard = guard;
        *again.uri_mut() = target(upstream, next, &r.path_and_query);
        attempt = again;
    }
}

/// The request line and headers for one server of the pool.
pub fn build(
    method: &Method,
    upstream: &Upstream,
    server: usize,
    pq: &PathAndQuery,
    headers: HeaderMap,
) -> http::request::Builder {
    let version = match upstream.protocol {
        crate::config::Protocol::Http1 => Version::HTTP_11,
        crate::config::Protocol::H2c | crate::config::Protocol::H2 => Version::HTTP_2,
    };
    let mut builder = Request::builder()
        .method(method.clone())
        .uri(target(upstream, server, pq))
        .version(version);
    if let Some(h) = builder.headers_mut() {
        *h = headers;
    }
    builder
}

/// Sending to one server of the pool: its address, the pool's response
/// timeout, the header map filled.
pub fn to(upstream: &Upstream, server: usize) -> To {
    To {
        addr: upstream.servers[server].address,
        timeout: upstream.response_timeout,
        pass: false,
    }
}

/// The absolute URI of `pq` on one server of the pool.
fn target(upstream: &Upstream, server: usize, pq: &PathAndQuery) -> Uri {
    let mut uri = http::uri::Parts::default();
    uri.scheme = Some(if upstream.tls { Scheme::HTTPS } else { Scheme::HTTP });
    uri.authority = Some(upstream.servers[server].authority.clone());
    uri.path_and_query = Some(pq.clone());
    Uri::from_parts(uri).expect("scheme, authority and path make a URI")
}

/// What a retry hashes on: the request as the client sent it.
fn key_input<'a>(headers: &'a HeaderMap, uri: &'a Uri, client_ip: std::net::IpAddr) -> KeyInput<'a> {
    KeyInput {
        headers,
        path: uri.path(),
        query: uri.query(),
        host: route::request_host(headers, uri),
        client_ip,
    }
}
