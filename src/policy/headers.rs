//! `request_headers` and `response_headers`: remove, then set, then add,
//! with `${client_ip}`, `${host}`, `${scheme}` and `${request_id}` filled
//! from the request's facts. Request rules run after fulcrum's own
//! `X-Forwarded-*` headers; response rules see every answer of the route.

use super::future::{After, Then};
use crate::config::{HeaderRules, Piece, Template};
use crate::proxy::{Facts, ProxyBody, ReqBody};
use http::{HeaderMap, HeaderValue, Request, Response};
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// Applies `rules` to `headers`.
pub fn apply(rules: &HeaderRules, headers: &mut HeaderMap, facts: &Facts) {
    for name in &rules.remove {
        headers.remove(name);
    }
    for (name, t) in &rules.set {
        if let Some(v) = render(t, facts) {
            headers.insert(name.clone(), v);
        }
    }
    for (name, t) in &rules.add {
        if let Some(v) = render(t, facts) {
            headers.append(name.clone(), v);
        }
    }
}

/// A template's value for this request; None when a piece makes it invalid.
pub fn render(t: &Template, facts: &Facts) -> Option<HeaderValue> {
    let pieces = match t {
        Template::Fixed(v) => return Some(v.clone()),
        Template::Parts(p) => p,
    };
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(s) => out.push_str(s),
            Piece::ClientIp => out.push_str(&facts.client.ip.to_string()),
            Piece::Host => out.push_str(facts.host_name().unwrap_or("")),
            Piece::Scheme => out.push_str(facts.scheme),
            Piece::RequestId => out.push_str(facts.request_id.as_ref().and_then(|v| v.to_str().ok()).unwrap_or("")),
        }
    }
    HeaderValue::from_str(&out).ok()
}

/// `request_headers`.
#[derive(Clone)]
pub struct RequestHeadersLayer(Arc<HeaderRules>);

impl RequestHeadersLayer {
    pub fn new(rules: HeaderRules) -> Self {
        Self(Arc::new(rules))
    }
}

impl<S> Layer<S> for RequestHeadersLayer {
    type Service = RequestHeaders<S>;
    fn layer(&self, inner: S) -> RequestHeaders<S> {
        RequestHeaders {
            rules: self.0.clone(),
            inner,
        }
    }
}

#[derive(Clone)]
pub struct RequestHeaders<S> {
    rules: Arc<HeaderRules>,
    inner: S,
}

impl<S: Service<Request<ReqBody>>> Service<Request<ReqBody>> for RequestHeaders<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> S::Future {
        let facts = super::facts(&req);
        apply(&self.rules, req.headers_mut(), &facts);
        self.inner.call(req)
    }
}

/// `response_headers`.
#[derive(Clone)]
pub struct ResponseHeadersLayer(Arc<HeaderRules>);

impl ResponseHeadersLayer {
    pub fn new(rules: HeaderRules) -> Self {
        Self(Arc::new(rules))
    }
}

impl<S> Layer<S> for ResponseHeadersLayer {
    type Service = ResponseHeaders<S>;
    fn layer(&self, inner: S) -> ResponseHeaders<S> {
        ResponseHeaders {
            rules: self.0.clone(),
            inner,
        }
    }
}

#[derive(Clone)]
pub struct ResponseHeaders<S> {
    rules: Arc<HeaderRules>,
    inner: S,
}

/// Applies the rules to the response, with the request's facts.
pub struct OnResponse {
    rules: Arc<HeaderRules>,
    facts: Arc<Facts>,
}

impl After for OnResponse {
    fn after(self, mut resp: Response<ProxyBody>) -> Response<ProxyBody> {
        apply(&self.rules, resp.headers_mut(), &self.facts);
        resp
    }
}

impl<S> Service<Request<ReqBody>> for ResponseHeaders<S>
where
    S: Service<Request<ReqBody>, Response = Response<ProxyBody>, Error = std::convert::Infallible>,
{
    type Response = Response<ProxyBody>;
    type Error = std::convert::Infallible;
    type Future = Then<S::Future, OnResponse>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let after = OnResponse {
            rules: self.rules.clone(),
            facts: super::facts(&req),
        };
        Then::new(self.inner.call(req), after)
    }
}
