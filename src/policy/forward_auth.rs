//! `forward_auth` (nginx `auth_request`, Traefik ForwardAuth): before the
//! action, a GET to the auth pool's `path` carrying the original method,
//! host, URI and client in `X-Forwarded-Method/-Host/-Uri/-For` and the
//! listed request headers. A 2xx lets the request on with the listed answer
//! headers copied onto it (the client's own values of those are dropped);
//! any other answer goes back to the client as the auth service gave it;
//! no answer within `timeout`, or no server to ask: 503.

use super::gate::{Admitted, AsyncGate};
use crate::config::ForwardAuth;
use crate::proxy::send_body::SendBody;
use crate::proxy::{answer, Facts, ProxyBody, ProxyError, ReqBody};
use crate::upstream::KeyInput;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response};
use http_body_util::BodyExt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub struct ForwardGate {
    pub auth: ForwardAuth,
    pub route: String,
}

static METHOD: HeaderName = HeaderName::from_static("x-forwarded-method");
static HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
static URI: HeaderName = HeaderName::from_static("x-forwarded-uri");
static FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// An auth answer's body read to let its connection be reused, at most this.
const DRAIN_LIMIT: usize = 64 * 1024;

impl AsyncGate for ForwardGate {
    fn admit(self: Arc<Self>, mut req: Request<ReqBody>) -> Pin<Box<dyn Future<Output = Admitted> + Send>> {
        Box::pin(async move {
            let facts = super::facts(&req);
            let asked = tokio::time::timeout(self.auth.timeout, ask(&facts, &self.auth, &req)).await;
            let upstream = &facts.snap.upstreams[self.auth.upstream];
            let unavailable = || {
                let e = ProxyError::AuthUnavailable {
                    upstream: upstream.name.clone(),
                };
                Err(Box::new(answer(e, &facts.snap.config.error_pages)))
            };
            let (resp, guard, lease) = match asked {
                Ok(Ok(answered)) => answered,
                Ok(Err(why)) => {
                    tracing::warn!(
                        "forward_auth on route {}: upstream {}: {why}",
                        self.route,
                        upstream.name
                    );
                    return unavailable();
                }
                Err(_) => {
                    tracing::warn!(
                        "forward_auth on route {}: upstream {}: no answer within {:?}",
                        self.route,
                        upstream.name,
                        self.auth.timeout
                    );
                    return unavailable();
                }
            };
            if resp.status().is_success() {
                let headers = req.headers_mut();
                for name in &self.auth.response_headers {
                    headers.remove(name);
                    for v in resp.headers().get_all(name) {
                        headers.append(name.clone(), v.clone());
                    }
                }
                let drained = http_body_util::Limited::new(resp.into_body(), DRAIN_LIMIT).collect();
                let _ = tokio::time::timeout(self.auth.timeout, drained).await;
                drop((guard, lease));
                return Ok(req);
            }
            facts
                .metrics
                .access_denied
                .with_label_values(&[&self.route, "forward_auth"])
                .inc();
            let (mut parts, body) = resp.into_parts();
            crate::proxy::remove_hop_by_hop(&mut parts.headers);
            Err(Box::new(Response::from_parts(
                parts,
                ProxyBody::upstream(body, guard, lease),
            )))
        })
    }
}

type Answered = (
    Response<crate::proxy::client::UpBody>,
    crate::upstream::InFlight,
    crate::proxy::client::Lease,
);

/// Sends the auth request to a server of the auth pool.
async fn ask(facts: &Facts, auth: &ForwardAuth, req: &Request<ReqBody>) -> Result<Answered, String> {
    let snap = &facts.snap;
    let upstream = &snap.upstreams[auth.upstream];
    let input = KeyInput {
        headers: req.headers(),
        path: req.uri().path(),
        query: req.uri().query(),
        host: facts.host_name(),
        client_ip: facts.client.ip,
    };
    let (server, _, guard) = upstream.acquire(&input, &[], false).map_err(|e| e.to_string())?;
    let mut headers = HeaderMap::new();
    for name in &auth.request_headers {
        for v in req.headers().get_all(name) {
            headers.append(name.clone(), v.clone());
        }
    }
    let original_uri = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let fields = [
        (&METHOD, HeaderValue::from_str(req.method().as_str()).ok()),
        (&HOST, facts.host.clone()),
        (&URI, HeaderValue::from_str(original_uri).ok()),
        (&FOR, Some(facts.client.value.clone())),
    ];
    for (name, value) in fields {
        if let Some(v) = value {
            headers.insert(name.clone(), v);
        }
    }
    if let Ok(host) = HeaderValue::from_str(upstream.servers[server].authority.as_str()) {
        headers.insert(http::header::HOST, host);
    }
    let request = crate::proxy::attempt::build(&Method::GET, upstream, server, &auth.path, headers)
        .body(SendBody::full(bytes::Bytes::new()))
        .map_err(|e| e.to_string())?;
    let clients = &snap.clients[auth.upstream];
    let client = &clients[crate::workers::index() % clients.len()];
    let (resp, lease) = client
        .request(request, crate::proxy::attempt::to(upstream, server))
        .await
        .map_err(|e| crate::proxy::error_chain(&e))?;
    guard.response_head();
    Ok((resp, guard, lease))
}
