//! Why a request failed, and the one map from cause to status code.

use super::body::ProxyBody;
use crate::config::ErrorPages;
use crate::upstream::SelectError;
use http::{header, HeaderValue, Response, StatusCode};
use std::time::Duration;

/// A request fulcrum answers itself.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("no route for {method} {host}{path}")]
    NoRoute { method: String, host: String, path: String },
    #[error(transparent)]
    Select(#[from] SelectError),
    #[error("upstream {upstream}: cannot connect to {server}: {cause}")]
    Connect {
        upstream: String,
        server: String,
        cause: String,
    },
    #[error("upstream {upstream}: bad response from {server}: {cause}")]
    BadResponse {
        upstream: String,
        server: String,
        cause: String,
    },
    #[error("upstream {upstream}: no response from {server} within {timeout:?}")]
    Timeout {
        upstream: String,
        server: String,
        timeout: Duration,
    },
    #[error("request body larger than limits.max_body_bytes ({limit} bytes)")]
    BodyTooLarge { limit: u64 },
    #[error("more than limits.max_headers ({limit}) request headers")]
    TooManyHeaders { limit: usize },
    #[error("malformed request: {0}")]
    BadRequest(&'static str),
    #[error("route {route}: no response within its timeout of {timeout:?}")]
    RouteTimeout { route: String, timeout: Duration },
    /// `access`: the client address is denied or not allowed.
    #[error("access denied to {client}")]
    AccessDenied { client: std::net::IpAddr },
    /// Over the route's `rate_limit`; `retry_after` in whole seconds (at least 1).
    #[error("rate limited by {policy}")]
    RateLimited { policy: String, retry_after: u64 },
    /// `basic_auth`: no valid credentials.
    #[error("authentication required for realm {realm}")]
    Unauthorized { realm: String },
    /// `forward_auth`: the auth pool gave no answer in time, or has no server.
    #[error("upstream {upstream}: the authentication service did not answer")]
    AuthUnavailable { upstream: String },
    /// The pool's queue refused the request (`full`) or it waited too long (`timeout`).
    #[error("upstream {upstream}: queue {reason}")]
    Queue { upstream: String, reason: &'static str },
}

impl ProxyError {
    /// The one place that decides status codes.
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::NoRoute { .. } => StatusCode::NOT_FOUND,
            ProxyError::Select(SelectError::MissingKey { .. }) => StatusCode::BAD_REQUEST,
            ProxyError::Select(
                SelectError::NoEligible { .. } | SelectError::Full { .. } | SelectError::Budget { .. },
            )
            | ProxyError::Queue { .. }
            | ProxyError::AuthUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ProxyError::Connect { .. } | ProxyError::BadResponse { .. } => StatusCode::BAD_GATEWAY,
            ProxyError::Timeout { .. } | ProxyError::RouteTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            ProxyError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ProxyError::TooManyHeaders { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ProxyError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ProxyError::AccessDenied { .. } => StatusCode::FORBIDDEN,
            ProxyError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ProxyError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
        }
    }

    /// Whether every eligible server was at `max_in_flight`: queue the request.
    pub fn is_full(&self) -> bool {
        matches!(self, ProxyError::Select(SelectError::Full { .. }))
    }

    /// The cause in words a client may see: the upstream's name, never a
    /// server's address or an OS error (those go to the log, with `Display`).
    pub fn public(&self) -> String {
        match self {
            ProxyError::Connect { upstream, .. } => format!("upstream {upstream}: no server could be reached"),
            ProxyError::BadResponse { upstream, .. } => {
                format!("upstream {upstream}: the server sent no valid response")
            }
            ProxyError::Timeout { upstream, .. } => format!("upstream {upstream}: no response in time"),
            ProxyError::Select(SelectError::Full { upstream } | SelectError::Budget { upstream }) => {
                format!("upstream {upstream}: no server available")
            }
            ProxyError::AccessDenied { .. } => "access denied".to_string(),
            ProxyError::RateLimited { .. } => "rate limited".to_string(),
            ProxyError::Unauthorized { .. } => "authentication required".to_string(),
            other => other.to_string(),
        }
    }

    /// A short plain-text response naming the cause, or the operator's
    /// page for its status or class from `error_pages`.
    pub fn into_response(self, pages: &ErrorPages) -> Response<ProxyBody> {
        let status = self.status();
        let (body, content_type) = match pages.find(status.as_u16()) {
            Some(page) => (ProxyBody::text(page.file.pem.clone()), page.content_type),
            None => {
                let text = format!(
                    "{} {}: {}\n",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or(""),
                    self.public()
                );
                (ProxyBody::text(text), "text/plain; charset=utf-8")
            }
        };
        let mut resp = Response::new(body);
        *resp.status_mut() = status;
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        match &self {
            ProxyError::RateLimited { retry_after, .. } => {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            ProxyError::Unauthorized { realm } => {
                if let Ok(v) = HeaderValue::from_str(&format!("Basic realm=\"{realm}\", charset=\"UTF-8\"")) {
                    resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                }
            }
            _ => {}
        }
        if matches!(self, ProxyError::BadRequest(_)) {
            // the connection's framing can no longer be trusted
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        resp
    }
}

/// Whether a request failed because its body passed the size limit.
pub fn is_body_limit(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut e = Some(err);
    while let Some(cur) = e {
        if cur.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        e = cur.source();
    }
    false
}

/// An error and its sources, joined: "client error (Connect): tcp connect error: Connection refused".
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_map() {
        let no_route = ProxyError::NoRoute {
            method: "GET".into(),
            host: "h".into(),
            path: "/".into(),
        };
        assert_eq!(no_route.status(), 404);
        let sel = |e| ProxyError::Select(e);
        assert_eq!(sel(SelectError::NoEligible { upstream: "a".into() }).status(), 503);
        assert_eq!(
            sel(SelectError::MissingKey {
                upstream: "a".into(),
                sources: "path".into()
            })
            .status(),
            400
        );
        let connect = ProxyError::Connect {
            upstream: "a".into(),
            server: "1.2.3.4:5".into(),
            cause: "refused".into(),
        };
        assert_eq!(connect.status(), 502);
        let t = ProxyError::Timeout {
            upstream: "a".into(),
            server: "s".into(),
            timeout: Duration::from_secs(1),
        };
        assert_eq!(t.status(), 504);
        assert_eq!(connect.public(), "upstream a: no server could be reached");
        assert!(connect.to_string().contains("1.2.3.4:5"), "the log keeps the detail");
        let resp = connect.into_response(&ErrorPages::default());
        assert_eq!(resp.status(), 502);
        assert_eq!(resp.headers()["content-type"], "text/plain; charset=utf-8");
    }
}
