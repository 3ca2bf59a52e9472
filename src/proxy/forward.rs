//! One request from arrival to its route's action: the checks every request
//! passes (framing, limits), the request ID, routing, the headers added for
//! every upstream, then the route's policy stack when it has one, or its
//! action directly when it has none.

use super::done::Info;
use super::facts::Facts;
use super::req_body::ReqBody;
use super::{action, framing, headers, upgrade, ProxyBody, ProxyError};
use crate::metrics::Metrics;
use crate::route::{self, RouteInput};
use crate::state::Snapshot;
use http::{HeaderValue, Request, Response, Version};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

/// What the connection knows of every request it carries.
pub struct Arrival {
    pub snap: Arc<Snapshot>,
    pub metrics: Arc<Metrics>,
    pub peer: SocketAddr,
    pub client: Arc<headers::ClientAddr>,
    pub scheme: &'static str,
    /// An HTTP/1 request body not yet read: set once it has been (see `ReqBody::track_end`).
    pub body_end: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// The request came to fulcrum's own HTTP/1 server, which writes the answer.
    pub own: bool,
}

/// Serves one request; returns its response and where it went.
pub async fn forward(mut a: Arrival, req: Request<ReqBody>) -> (Response<ProxyBody>, Info) {
    let (mut parts, body) = req.into_parts();
    let id = a.snap.config.request_id.as_ref().map(|cfg| {
        let value = crate::policy::request_id::take(&cfg.header, &mut parts.headers);
        (cfg.header.clone(), value)
    });
    let logged = a.snap.access_log.is_some();
    let (mut resp, mut info) = match admit(&a, &parts) {
        Err(e) => (action::answer(e, &a.snap.config.error_pages), Info::default()),
        Ok(routed) => {
            let body = body.track_end(a.body_end.take());
            let facts = prepare(a, routed, &mut parts, id.as_ref().map(|(_, v)| v.clone()));
            // the route's stack, or its action awaited right here, so a route
            // without policies adds no future between the request and its upstream
            let runtime = &facts.snap.routes[facts.route];
            match runtime.stack.clone() {
                None => {
                    let inline = &runtime.inline;
                    let resp = match inline.admit(&facts, &parts.uri, &parts.headers) {
                        Ok(()) => {
                            inline.on_request(&facts, &mut parts);
                            action::act!(&facts, parts, body)
                        }
                        Err(denied) => *denied,
                    };
                    let resp = inline.on_response(&facts, resp);
                    (resp, facts.info.into_inner().unwrap_or_default())
                }
                Some(stack) => stacked(facts, stack, Request::from_parts(parts, body)).await,
            }
        }
    };
    if let Some((name, value)) = id {
        if logged {
            info.request_id = value.to_str().ok().map(str::to_string);
        }
        resp.headers_mut().insert(name, value);
    }
    (resp, info)
}

/// A routed request: its route and the client's host.
struct Routed {
    route: usize,
    /// `Host`, or the HTTP/2 authority, as sent.
    host: Option<HeaderValue>,
    /// The length of its name without the port.
    host_name_len: usize,
}

/// The checks every request passes before routing, then the route.
fn admit(a: &Arrival, parts: &http::request::Parts) -> Result<Routed, ProxyError> {
    let m = &a.metrics;
    // the own server takes no request with `Content-Length` or
    // `Transfer-Encoding` (`server::h1::request`): nothing to check
    if let Err(reason) = if a.own { Ok(()) } else { framing::check(&parts.headers) } {
        m.requests_rejected.with_label_values(&["bad_request"]).inc();
        return Err(ProxyError::BadRequest(reason));
    }
    // hyper counts HTTP/1 header lines itself; HTTP/2 header lists are counted here
    let max_headers = a.snap.config.limits.max_headers;
    if parts.headers.len() > max_headers {
        m.requests_rejected.with_label_values(&["header_too_large"]).inc();
        return Err(ProxyError::TooManyHeaders { limit: max_headers });
    }
    let limit = a.snap.config.limits.max_body_bytes;
    let declared = (!a.own)
        .then(|| parts.headers.get(http::header::CONTENT_LENGTH))
        .flatten()
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        m.requests_rejected.with_label_values(&["body_too_large"]).inc();
        return Err(ProxyError::BodyTooLarge { limit });
    }
    let host = match parts.headers.get(http::header::HOST) {
        Some(h) => Some(h.clone()),
        None => parts
            .uri
            .authority()
            .and_then(|au| HeaderValue::from_str(au.as_str()).ok()),
    };
    let name = host.as_ref().and_then(|h| h.to_str().ok()).map(route::strip_port);
    let input = RouteInput {
        method: &parts.method,
        host: name,
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &parts.headers,
    };
    match a.snap.router.find_index(&input) {
        Some(route) => Ok(Routed {
            route,
            host_name_len: name.map_or(0, str::len),
            host,
        }),
        None => Err(ProxyError::NoRoute {
            method: parts.method.to_string(),
            host: name.unwrap_or("").to_string(),
            path: parts.uri.path().to_string(),
        }),
    }
}

/// The facts of a routed request, and the headers every upstream request
/// carries (hop-by-hop removed, `X-Forwarded-*` added); route policies and
/// the action then see the request as it will leave.
fn prepare(a: Arrival, routed: Routed, parts: &mut http::request::Parts, request_id: Option<HeaderValue>) -> Facts {
    let upgrade = (parts.version == Version::HTTP_11)
        .then(|| upgrade::requested(&parts.headers))
        .flatten();
    let authority = parts.uri.authority().map(|au| au.as_str().to_owned());
    // the connection's address (a PROXY header's source, or the peer), and
    // behind trusted proxies the client they forwarded for
    let trusted = a.snap.trusted.contains(a.client.ip);
    let client = match trusted.then(|| headers::forwarded_client(&parts.headers, a.client.ip, &a.snap.trusted)) {
        Some(ip) if ip != a.client.ip => Arc::new(headers::ClientAddr::new(ip)),
        _ => a.client.clone(),
    };
    let te_trailers = headers::prepare_request(&mut parts.headers, authority.as_deref(), &a.client, trusted, a.scheme);
    if let Some(value) = &upgrade {
        upgrade::restore(&mut parts.headers, value.clone());
    }
    let runtime = &a.snap.routes[routed.route];
    let pass_head = a.own && runtime.stack.is_none() && !runtime.inline.edits_responses() && request_id.is_none();
    Facts {
        snap: a.snap,
        metrics: a.metrics,
        peer: a.peer,
        info: Mutex::new(Info {
            route: Some(routed.route),
            client: (client.ip != a.client.ip).then_some(client.ip),
            ..Info::default()
        }),
        client,
        scheme: a.scheme,
        route: routed.route,
        host: routed.host,
        host_name_len: routed.host_name_len,
        request_id,
        upgrade,
        te_trailers,
        pass_head,
    }
}

/// Through the route's policy stack, which reads the facts from the request.
async fn stacked(
    facts: Facts,
    stack: crate::policy::RouteSvc,
    mut req: Request<ReqBody>,
) -> (Response<ProxyBody>, Info) {
    let facts = Arc::new(facts);
    req.extensions_mut().insert(facts.clone());
    let resp = match stack.oneshot(req).await {
        Ok(resp) => resp,
        Err(never) => match never {},
    };
    (resp, facts.info())
}
