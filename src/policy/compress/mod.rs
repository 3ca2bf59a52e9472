//! `compress`: responses compressed with br, gzip or zstd as the client's
//! `Accept-Encoding` allows (SPEC §2.3). A compressed response streams,
//! loses `Content-Length`, gains `Vary: Accept-Encoding`, and a strong
//! `ETag` becomes weak (the bytes differ from the identity response's).

mod encode;
pub mod negotiate;

use super::future::{After, Then};
use crate::config::{Compress, Encoding};
use crate::metrics::Metrics;
use crate::proxy::{ProxyBody, ReqBody};
use http::{header, HeaderValue, Method, Request, Response};
use http_body::Body;
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

#[derive(Clone)]
pub struct CompressLayer(Arc<Compress>);

impl CompressLayer {
    pub fn new(c: Compress) -> Self {
        Self(Arc::new(c))
    }
}

impl<S> Layer<S> for CompressLayer {
    type Service = CompressService<S>;
    fn layer(&self, inner: S) -> CompressService<S> {
        CompressService {
            cfg: self.0.clone(),
            inner,
        }
    }
}

#[derive(Clone)]
pub struct CompressService<S> {
    cfg: Arc<Compress>,
    inner: S,
}

/// Compresses the response when it qualifies.
pub struct OnResponse {
    cfg: Arc<Compress>,
    /// None: the client accepts none of the algorithms, or asked with HEAD.
    encoding: Option<Encoding>,
    metrics: Arc<Metrics>,
    facts: Arc<crate::proxy::Facts>,
}

impl After for OnResponse {
    fn after(self, resp: Response<ProxyBody>) -> Response<ProxyBody> {
        let Some(enc) = self.encoding else { return resp };
        let size = resp.body().size_hint().exact().or_else(|| {
            resp.headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse().ok())
        });
        if !negotiate::eligible(&self.cfg, resp.status(), resp.headers(), size) {
            return resp;
        }
        let (mut parts, body) = resp.into_parts();
        let h = &mut parts.headers;
        h.remove(header::CONTENT_LENGTH);
        h.remove(header::ACCEPT_RANGES);
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc.token()));
        let varies = h
            .get_all(header::VARY)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim() == "*" || t.trim().eq_ignore_ascii_case("accept-encoding"));
        if !varies {
            h.append(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
        if let Some(tag) = h.get(header::ETAG).and_then(|v| v.to_str().ok()) {
            if tag.starts_with('"') {
                if let Ok(weak) = HeaderValue::from_str(&format!("W/{tag}")) {
                    h.insert(header::ETAG, weak);
                }
            }
        }
        let route = self.facts.route().label.as_str();
        self.metrics
            .compressed_responses
            .with_label_values(&[route, enc.token()])
            .inc();
        Response::from_parts(parts, encode::encode(body, enc))
    }
}

impl<S> Service<Request<ReqBody>> for CompressService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ProxyBody>, Error = Infallible>,
{
    type Response = Response<ProxyBody>;
    type Error = Infallible;
    type Future = Then<S::Future, OnResponse>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let encoding = (req.method() != Method::HEAD)
            .then(|| negotiate::choose(&self.cfg.algorithms, req.headers()))
            .flatten();
        let facts = super::facts(&req);
        let after = OnResponse {
            cfg: self.cfg.clone(),
            encoding,
            metrics: facts.metrics.clone(),
            facts,
        };
        Then::new(self.inner.call(req), after)
    }
}
