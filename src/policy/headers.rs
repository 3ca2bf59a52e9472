//! `request_headers` and `response_headers`: remove, then set, then add,
//! with `${client_ip}`, `${host}`, `${scheme}` and `${request_id}` filled
//! from the request's facts. Request rules run after fulcrum's own
//! `X-Forwarded-*` headers; response rules see every answer of the route.

use super::future::After;
use super::stage::{OnRequest, OnResponse};
use crate::config::{HeaderRules, Piece, Template};
use crate::proxy::{Facts, ProxyBody, ReqBody};
use http::{HeaderMap, HeaderValue, Request, Response};
use std::sync::Arc;

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
/// A template that is only `${client_ip}` or `${request_id}` shares the
/// value already made for the request.
pub fn render(t: &Template, facts: &Facts) -> Option<HeaderValue> {
    let pieces = match t {
        Template::Fixed(v) => return Some(v.clone()),
        Template::Parts(p) => p,
    };
    match pieces.as_slice() {
        [Piece::ClientIp] => return Some(facts.client.value.clone()),
        [Piece::RequestId] => return facts.request_id.clone(),
        _ => {}
    }
    let mut out: Vec<u8> = Vec::with_capacity(64);
    for piece in pieces {
        out.extend_from_slice(match piece {
            Piece::Text(s) => s.as_bytes(),
            Piece::ClientIp => facts.client.value.as_bytes(),
            Piece::Host => facts.host_name().unwrap_or("").as_bytes(),
            Piece::Scheme => facts.scheme.as_bytes(),
            Piece::RequestId => facts.request_id.as_ref().map_or(&b""[..], HeaderValue::as_bytes),
        });
    }
    HeaderValue::from_maybe_shared(bytes::Bytes::from(out)).ok()
}

/// `request_headers`, on the request as it will leave.
pub struct RequestRules(pub HeaderRules);

impl OnRequest for RequestRules {
    fn on_request(&self, req: &mut Request<ReqBody>) {
        let facts = super::facts(req);
        apply(&self.0, req.headers_mut(), &facts);
    }
}

/// `response_headers`, on every answer of the route.
pub struct ResponseRules(pub Arc<HeaderRules>);

impl OnResponse for ResponseRules {
    type After = Apply;
    fn on_request(&self, req: &Request<ReqBody>) -> Apply {
        Apply {
            rules: self.0.clone(),
            facts: super::facts(req),
        }
    }
}

/// Applies the rules to the response, with the request's facts.
pub struct Apply {
    rules: Arc<HeaderRules>,
    facts: Arc<Facts>,
}

impl After for Apply {
    fn after(self, mut resp: Response<ProxyBody>) -> Response<ProxyBody> {
        apply(&self.rules, resp.headers_mut(), &self.facts);
        resp
    }
}
