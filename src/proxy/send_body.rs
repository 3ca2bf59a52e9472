//! The body an upstream request carries: the downstream body, streamed and
//! capped at `limits.max_body_bytes`, or nothing. A request handed back by
//! the client (never sent, see `client`) still holds its body, unread; a
//! copy made to resend an idempotent request carries the empty one. Nothing
//! is ever buffered.

use super::framing::Watched;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::Limited;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The streamed, size-limited request body.
pub type Inner = Limited<Watched>;

/// The body type every upstream client sends.
#[derive(Debug)]
pub struct SendBody {
    inner: Option<Inner>,
    /// A body held whole (a mirror's copy, at most 64 KiB).
    full: Option<Bytes>,
}

impl SendBody {
    pub fn new(inner: Inner) -> Self {
        Self {
            inner: Some(inner),
            full: None,
        }
    }

    /// No body (a resent copy of a request that had none).
    pub fn empty() -> Self {
        Self {
            inner: None,
            full: None,
        }
    }

    /// A body already in memory.
    pub fn full(data: Bytes) -> Self {
        Self {
            inner: None,
            full: (!data.is_empty()).then_some(data),
        }
    }
}

impl Body for SendBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Some(data) = this.full.take() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        match &mut this.inner {
            Some(inner) => Pin::new(inner).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.full.is_none() && self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        if let Some(data) = &self.full {
            return SizeHint::with_exact(data.len() as u64);
        }
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}
