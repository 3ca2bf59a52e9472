//! A route whose policies all decide or edit at once (access, a local rate
//! limit, rewrite, request and response header rules) runs them inline on
//! the request path, in SPEC order around its action, instead of through a
//! boxed tower stack: no stack clone, no boxed futures, and the facts stay
//! on the stack frame instead of travelling in the request extensions. The
//! behaviour is the stack's, to the header (the same `apply` functions).

use super::gate::{Denied, Gate};
use super::headers;
use super::rewrite::Rewriter;
use crate::config::HeaderRules;
use crate::proxy::{Facts, ProxyBody};
use http::Response;
use std::sync::Arc;

/// The inline policies of one route; empty for a route with none.
#[derive(Clone, Default)]
pub struct Inline {
    gates: Vec<Arc<dyn Gate>>,
    rewrite: Option<Arc<Rewriter>>,
    request_headers: Option<Arc<HeaderRules>>,
    response_headers: Option<Arc<HeaderRules>>,
}

impl Inline {
    pub fn new(
        gates: Vec<Arc<dyn Gate>>,
        rewrite: Option<Rewriter>,
        request_headers: Option<HeaderRules>,
        response_headers: Option<HeaderRules>,
    ) -> Self {
        Self {
            gates,
            rewrite: rewrite.map(Arc::new),
            request_headers: request_headers.map(Arc::new),
            response_headers: response_headers.map(Arc::new),
        }
    }

    /// Every gate in order; the first denial is the answer.
    pub fn admit(&self, facts: &Facts, uri: &http::Uri, headers: &http::HeaderMap) -> Result<(), Denied> {
        self.gates.iter().try_for_each(|g| g.admit(facts, uri, headers))
    }

    /// `rewrite`, then `request_headers`, on the request as it will leave.
    pub fn on_request(&self, facts: &Facts, parts: &mut http::request::Parts) {
        if let Some(r) = &self.rewrite {
            r.apply(&mut parts.uri, &mut parts.headers);
        }
        if let Some(rules) = &self.request_headers {
            headers::apply(rules, &mut parts.headers, facts);
        }
    }

    /// Whether `on_response` edits responses (header rules).
    pub fn edits_responses(&self) -> bool {
        self.response_headers.is_some()
    }

    /// `response_headers` on whatever answer the route gives, denials included.
    pub fn on_response(&self, facts: &Facts, mut resp: Response<ProxyBody>) -> Response<ProxyBody> {
        if let Some(rules) = &self.response_headers {
            headers::apply(rules, resp.headers_mut(), facts);
        }
        resp
    }
}
