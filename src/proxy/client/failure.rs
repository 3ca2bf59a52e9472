//! What the client hands back when a request gets no response: the failure,
//! and the request itself when it can still be sent elsewhere (unsent, or
//! the copy [`Resend`] keeps of an idempotent request without a body).

use super::SendBody;
use http::{Method, Request};
use hyper::body::Body;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a request got no response, with the request when it can be sent
/// again (see the module header).
#[derive(Debug)]
pub struct SendError {
    pub kind: Failure,
    pub(super) request: Option<Box<Request<SendBody>>>,
}

/// What failed.
#[derive(Debug)]
pub enum Failure {
    /// No connection: the request never left fulcrum.
    Connect(BoxError),
    /// The connection failed before a response head arrived.
    Request(BoxError),
    /// No response head within the response timeout.
    Timeout,
}

impl SendError {
    /// True when the request never left fulcrum (no connection was made).
    pub fn is_connect(&self) -> bool {
        matches!(self.kind, Failure::Connect(_))
    }

    /// The request, to send elsewhere: unsent, or a copy of an idempotent
    /// request without a body.
    pub fn take_request(&mut self) -> Option<Request<SendBody>> {
        self.request.take().map(|r| *r)
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.kind {
            Failure::Connect(_) => "connect error",
            Failure::Request(_) => "request failed",
            Failure::Timeout => "no response in time",
        })
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            Failure::Connect(e) => Some(e.as_ref()),
            Failure::Request(e) => Some(e.as_ref()),
            Failure::Timeout => None,
        }
    }
}

pub fn failed(kind: Failure, request: Option<Request<SendBody>>) -> SendError {
    SendError {
        kind,
        request: request.map(Box::new),
    }
}

/// Whether a request may be sent again after a failure once it was sent
/// (RFC 9110 §9.2.2): both the client's resend and the retry on another
/// server ask this.
pub fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
    )
}

/// Method, URI, version and headers of an idempotent request without a
/// body, kept to send it again.
pub struct Resend(Request<()>);

impl Resend {
    pub fn of(req: &Request<SendBody>) -> Option<Self> {
        let resendable = idempotent(req.method()) && req.body().is_end_stream();
        resendable.then(|| {
            let mut copy = Request::new(());
            *copy.method_mut() = req.method().clone();
            *copy.uri_mut() = req.uri().clone();
            *copy.version_mut() = req.version();
            *copy.headers_mut() = req.headers().clone();
            Resend(copy)
        })
    }

    pub fn request(&self) -> Request<SendBody> {
        let mut req = Request::new(SendBody::empty());
        *req.method_mut() = self.0.method().clone();
        *req.uri_mut() = self.0.uri().clone();
        *req.version_mut() = self.0.version();
        *req.headers_mut() = self.0.headers().clone();
        req
    }

    pub fn into_request(self) -> Request<SendBody> {
        let (parts, ()) = self.0.into_parts();
        Request::from_parts(parts, SendBody::empty())
    }
}
