//! The request path: route -> select -> forward, with errors mapped to
//! responses in one place. The only module besides `server` that knows hyper.

mod body;
pub mod client;
mod error;
mod headers;
mod outlier;

pub use body::ProxyBody;
pub use error::{chain as error_chain, ProxyError};

use crate::metrics::Metrics;
use crate::route::{self, RouteInput};
use crate::state::Snapshot;
use crate::upstream::{InFlight, KeyInput};
use arc_swap::ArcSwap;
use http::uri::{PathAndQuery, Scheme};
use http::{Request, Response, Uri, Version};
use hyper::body::Incoming;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The tower service of one downstream connection.
#[derive(Clone)]
pub struct ProxyService {
    state: Arc<ArcSwap<Snapshot>>,
    metrics: Arc<Metrics>,
    peer: SocketAddr,
}

impl ProxyService {
    pub fn new(state: Arc<ArcSwap<Snapshot>>, metrics: Arc<Metrics>, peer: SocketAddr) -> Self {
        Self { state, metrics, peer }
    }
}

impl tower::Service<Request<Incoming>> for ProxyService {
    type Response = Response<ProxyBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ProxyBody>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Incoming>) -> Self::Future {
        // One load per request: the request finishes on the snapshot it started with.
        let snapshot = self.state.load_full();
        let (peer, metrics) = (self.peer, self.metrics.clone());
        Box::pin(async move {
            Ok(match forward(&snapshot, &metrics, peer, req).await {
                Ok(resp) => resp,
                Err(e) => {
                    if e.status().is_server_error() {
                        tracing::warn!("{e}");
                    } else {
                        tracing::debug!("{e}");
                    }
                    e.into_response()
                }
            })
        })
    }
}

async fn forward(
    snap: &Snapshot,
    metrics: &Arc<Metrics>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, ProxyError> {
    let (mut parts, body) = req.into_parts();
    let (upstream_index, server_index, new_path) = {
        let host = route::request_host(&parts.headers, &parts.uri);
        let path = parts.uri.path();
        let input = RouteInput {
            method: &parts.method,
            host,
            path,
            headers: &parts.headers,
        };
        let Some(route) = snap.router.find(&input) else {
            return Err(ProxyError::NoRoute {
                method: parts.method.to_string(),
                host: host.unwrap_or("").to_string(),
                path: path.to_string(),
            });
        };
        let upstream = &snap.upstreams[route.upstream];
        let key_input = KeyInput {
            headers: &parts.headers,
            path,
            query: parts.uri.query(),
            host,
            client_ip: peer.ip(),
        };
        let (server, _why) = upstream.select(&key_input)?;
        let new_path = match (&route.path_prefix, route.strip_prefix) {
            (Some(prefix), true) => {
                let pq = parts.uri.path_and_query().map_or("/", PathAndQuery::as_str);
                Some(route::strip_prefix(pq, prefix))
            }
            _ => None,
        };
        (route.upstream, server, new_path)
    };
    let upstream = &snap.upstreams[upstream_index];
    let server = &upstream.servers[server_index];

    let authority = parts.uri.authority().map(|a| a.as_str().to_owned());
    headers::prepare_request(&mut parts.headers, authority.as_deref(), peer.ip(), "http");
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
    let guard = InFlight::start(&server.load);
    let sent = tokio::time::timeout(
        upstream.response_timeout,
        client.request(Request::from_parts(parts, body)),
    )
    .await;
    let failed = match &sent {
        Ok(Ok(resp)) => resp.status().is_server_error(),
        _ => true,
    };
    outlier::record(upstream, server_index, failed, metrics);
    let resp = match sent {
        Err(_) => {
            return Err(ProxyError::Timeout {
                upstream: upstream.name.clone(),
                server: server.id.clone(),
                timeout: upstream.response_timeout,
            })
        }
        Ok(Err(e)) if e.is_connect() => {
            return Err(ProxyError::Connect {
                upstream: upstream.name.clone(),
                server: server.id.clone(),
                cause: error::chain(&e),
            })
        }
        Ok(Err(e)) => {
            return Err(ProxyError::BadResponse {
                upstream: upstream.name.clone(),
                server: server.id.clone(),
                cause: error::chain(&e),
            })
        }
        Ok(Ok(resp)) => resp,
    };
    guard.response_head();
    let (mut parts, body) = resp.into_parts();
    headers::remove_hop_by_hop(&mut parts.headers);
    Ok(Response::from_parts(parts, ProxyBody::Upstream(body, Some(guard))))
}
