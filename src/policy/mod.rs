//! Route policies (SPEC §2.3) as tower layers, one file each, composed per
//! route when the snapshot is built. A request meets them in this order:
//!
//! ```text
//! response_headers -> access -> rate_limit -> basic_auth -> forward_auth
//!     -> timeout -> compress -> rewrite -> request_headers -> mirror -> action
//! ```
//!
//! so response rules see every answer (fulcrum's own and the gates'
//! denials included), the front door's gates (SPEC §2.5) decide before
//! anything is sent, the timeout
//! covers retries, and the mirror copies the request as the upstream gets
//! it. The stack is built only from what the route asks for; a route
//! without policies has no stack and goes straight to its action.
//! Every stage reads the request's facts (`proxy::Facts`) from the request
//! extensions; none recomputes them.

mod access;
mod basic_auth;
pub mod compress;
mod forward_auth;
mod future;
pub mod gate;
pub mod headers;
pub mod inline;
pub mod mirror;
mod rate_limit;
pub mod request_id;
mod rewrite;
mod stage;
mod timeout;

use crate::config::{Action, Config, RouteConfig};
use crate::proxy::{Facts, ProxyBody, ReqBody};
use crate::ratelimit::Limiter;
use crate::upstream::Split;
use gate::{AsyncGateLayer, GateLayer};
use http::{Request, Response};
use stage::{RequestLayer, ResponseLayer};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::util::BoxCloneSyncService;
use tower::ServiceBuilder;

/// A route's composed policies around its action.
pub type RouteSvc = BoxCloneSyncService<Request<ReqBody>, Response<ProxyBody>, Infallible>;

/// What a route needs at run time besides its config.
pub struct RouteRuntime {
    /// None when the route has no policy, or only policies that decide or
    /// edit at once.
    pub stack: Option<RouteSvc>,
    /// Those policies, run inline around the action.
    pub inline: inline::Inline,
    /// The `backends` split.
    pub split: Option<Split>,
}

/// Builds the runtime of every route of `config`, whose rate limits have
/// their limiters in `limiters` (same index).
pub fn build(config: &Config, limiters: &[Arc<Limiter>]) -> Vec<RouteRuntime> {
    config
        .routes
        .iter()
        .map(|r| {
            // a route runs its policies inline or through a stack, never both
            let (inline, stack) = match inline(r, limiters) {
                Some(inline) => (inline, None),
                None => (inline::Inline::default(), stack(r, config, limiters)),
            };
            RouteRuntime {
                stack,
                inline,
                split: match &r.action {
                    Action::Backends(b) => Split::new(b),
                    _ => None,
                },
            }
        })
        .collect()
}

/// The route's layers in SPEC order, or None when it has none.
fn stack(r: &RouteConfig, config: &Config, limiters: &[Arc<Limiter>]) -> Option<RouteSvc> {
    let p = &r.policy;
    if p.names().is_empty() {
        return None;
    }
    let mirror_bound = mirror_bound(r, config);
    let svc = ServiceBuilder::new()
        .option_layer(
            p.response_headers
                .clone()
                .map(|h| ResponseLayer::new(headers::ResponseRules(Arc::new(h)))),
        )
        .option_layer(access_gate(r).map(GateLayer::new))
        .option_layer(rate_gate(r, limiters, false).map(GateLayer::new))
        .option_layer(rate_gate(r, limiters, true).map(AsyncGateLayer::new))
        .option_layer(p.basic_auth.clone().map(|auth| {
            AsyncGateLayer::new(basic_auth::BasicGate {
                auth,
                route: r.label.clone(),
            })
        }))
        .option_layer(p.forward_auth.clone().map(|auth| {
            AsyncGateLayer::new(forward_auth::ForwardGate {
                auth,
                route: r.label.clone(),
            })
        }))
        .option_layer(p.timeout.map(timeout::TimeoutLayer::new))
        .option_layer(
            p.compress
                .clone()
                .map(|c| ResponseLayer::new(compress::Compressor(Arc::new(c)))),
        )
        .option_layer(p.rewrite.clone().map(|r| RequestLayer::new(rewrite::Rewriter(r))))
        .option_layer(
            p.request_headers
                .clone()
                .map(|h| RequestLayer::new(headers::RequestRules(h))),
        )
        .option_layer(p.mirror.map(|m| {
            let pool = &config.upstreams[m.upstream].name;
            RequestLayer::new(Arc::new(mirror::Shared::new(m, mirror_bound, &r.label, pool)))
        }))
        .service(ActionService);
    Some(BoxCloneSyncService::new(svc))
}

/// What may run inline: gates that decide at once and edits that need no
/// future.
const INLINE: [&str; 5] = ["access", "rate_limit", "rewrite", "request_headers", "response_headers"];

/// The route's policies when every one of them can run inline (see
/// `inline`): access, a local rate limit, rewrite and header rules.
fn inline(r: &RouteConfig, limiters: &[Arc<Limiter>]) -> Option<inline::Inline> {
    let p = &r.policy;
    let names = p.names();
    let all_inline = !names.is_empty() && names.iter().all(|n| INLINE.contains(n));
    if !all_inline || rate_gate(r, limiters, true).is_some() {
        return None;
    }
    let mut gates: Vec<Arc<dyn gate::Gate>> = Vec::new();
    if let Some(g) = access_gate(r) {
        gates.push(Arc::new(g));
    }
    if let Some(g) = rate_gate(r, limiters, false) {
        gates.push(Arc::new(g));
    }
    Some(inline::Inline::new(
        gates,
        p.rewrite.clone().map(rewrite::Rewriter),
        p.request_headers.clone(),
        p.response_headers.clone(),
    ))
}

/// The route's `access` gate, if it has one.
fn access_gate(r: &RouteConfig) -> Option<access::AccessGate> {
    r.policy.access.clone().map(|rules| access::AccessGate {
        rules,
        route: r.label.clone(),
    })
}

/// The route's rate-limit gate when its policy is local (`shared` false)
/// or kept in Redis (`shared` true).
fn rate_gate(r: &RouteConfig, limiters: &[Arc<Limiter>], shared: bool) -> Option<rate_limit::RateGate> {
    let limiter = &limiters[r.policy.rate_limit?];
    (limiter.shared.is_some() == shared).then(|| rate_limit::RateGate {
        limiter: limiter.clone(),
        route: r.label.clone(),
    })
}

/// At most the primary pools' servers x 100 mirror requests in flight.
fn mirror_bound(r: &RouteConfig, config: &Config) -> usize {
    let servers: usize = r
        .upstreams()
        .iter()
        .map(|&u| config.upstreams[u].servers.len() + config.upstreams[u].names.len())
        .sum();
    servers.max(1) * 100
}

/// The request's facts, which the request path puts in before the stack.
pub fn facts<B>(req: &Request<B>) -> Arc<Facts> {
    req.extensions()
        .get::<Arc<Facts>>()
        .cloned()
        .expect("the request path adds the facts before a route's stack")
}

/// The innermost service: the route's action.
#[derive(Clone, Copy)]
pub struct ActionService;

impl tower::Service<Request<ReqBody>> for ActionService {
    type Response = Response<ProxyBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ProxyBody>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let facts = facts(&req);
        Box::pin(async move { Ok(crate::proxy::respond(&facts, req).await) })
    }
}
