//! `compress`: responses compressed with br, gzip or zstd as the client's
//! `Accept-Encoding` allows (SPEC §2.3). A compressed response streams,
//! loses `Content-Length`, gains `Vary: Accept-Encoding`, and a strong
//! `ETag` becomes weak (the bytes differ from the identity response's).

mod encode;
pub mod negotiate;

use super::future::After;
use super::stage::OnResponse;
use crate::config::{Compress, Encoding};
use crate::proxy::{has_token, ProxyBody, ReqBody};
use http::{header, HeaderValue, Method, Request, Response};
use http_body::Body;
use std::sync::Arc;

/// `compress`, as a response stage.
pub struct Compressor(pub Arc<Compress>);

impl OnResponse for Compressor {
    type After = Encode;
    fn on_request(&self, req: &Request<ReqBody>) -> Encode {
        let encoding = (req.method() != Method::HEAD)
            .then(|| negotiate::choose(&self.0.algorithms, req.headers()))
            .flatten();
        Encode {
            cfg: self.0.clone(),
            encoding,
            facts: super::facts(req),
        }
    }
}

/// Compresses the response when it qualifies.
pub struct Encode {
    cfg: Arc<Compress>,
    /// None: the client accepts none of the algorithms, or asked with HEAD.
    encoding: Option<Encoding>,
    facts: Arc<crate::proxy::Facts>,
}

impl After for Encode {
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
        let varies = has_token(h, header::VARY, "*") || has_token(h, header::VARY, "accept-encoding");
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
        self.facts
            .metrics
            .compressed_responses
            .with_label_values(&[route, enc.token()])
            .inc();
        Response::from_parts(parts, encode::encode(body, enc))
    }
}
