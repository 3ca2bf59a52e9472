//! The body of an upstream response, from whichever client carried it:
//! hyper's (HTTP/2, TLS, bodies, upgrades) or fulcrum's own HTTP/1 path.

use super::h1;
use super::BoxError;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use std::pin::Pin;
use std::task::{Context, Poll};

/// An upstream response body.
#[derive(Debug)]
pub enum UpBody {
    Hyper(Incoming),
    Own(h1::body::Body),
}

impl UpBody {
    /// The response's header lines, when they pass through (own path only).
    pub fn take_lines(&mut self) -> Option<h1::lines::Lines> {
        match self {
            UpBody::Hyper(_) => None,
            UpBody::Own(b) => b.take_lines(),
        }
    }
}

impl Body for UpBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            UpBody::Hyper(b) => Pin::new(b).poll_frame(cx).map_err(Into::into),
            UpBody::Own(b) => Pin::new(b).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            UpBody::Hyper(b) => b.is_end_stream(),
            UpBody::Own(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            UpBody::Hyper(b) => b.size_hint(),
            UpBody::Own(b) => b.size_hint(),
        }
    }
}
