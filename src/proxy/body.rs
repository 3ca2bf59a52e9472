//! The response body fulcrum sends downstream: an upstream's body streamed
//! through untouched, or a short body fulcrum wrote itself.

use crate::upstream::InFlight;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A downstream response body.
#[derive(Debug)]
pub enum ProxyBody {
    /// Streamed from the upstream frame by frame, never buffered whole. The
    /// guard keeps the request counted in flight until the body ends.
    Upstream(Incoming, Option<InFlight>),
    /// Written by fulcrum (errors); `None` once sent.
    Full(Option<Bytes>),
}

impl ProxyBody {
    pub fn text(text: impl Into<Bytes>) -> Self {
        ProxyBody::Full(Some(text.into()))
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            ProxyBody::Upstream(body, guard) => {
                let polled = Pin::new(body).poll_frame(cx);
                if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
                    guard.take();
                }
                polled
            }
            ProxyBody::Full(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ProxyBody::Upstream(body, _) => body.is_end_stream(),
            ProxyBody::Full(data) => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ProxyBody::Upstream(body, _) => body.size_hint(),
            ProxyBody::Full(data) => SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64)),
        }
    }
}
