//! The response body fulcrum sends downstream: an upstream's body streamed
//! through untouched, or a short body fulcrum wrote itself. It carries the
//! request's in-flight guard, the lease of its upstream connection and its
//! completion record, all released when the body ends (or is dropped because
//! the client went away).

use super::client::{Lease, UpBody};
use super::done::Done;
use crate::upstream::InFlight;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};

/// The error type of every downstream body.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A body transformed on its way (compressed), streamed.
pub type Boxed = Pin<Box<dyn Body<Data = Bytes, Error = BoxError> + Send>>;

enum Inner {
    /// Streamed from the upstream frame by frame, never buffered whole.
    Upstream(UpBody),
    /// Written by fulcrum (errors); `None` once sent.
    Full(Option<Bytes>),
    /// Another body transformed, e.g. compressed.
    Boxed(Boxed),
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Inner::Upstream(_) => "Upstream",
            Inner::Full(_) => "Full",
            Inner::Boxed(_) => "Boxed",
        })
    }
}

/// A downstream response body.
#[derive(Debug)]
pub struct ProxyBody {
    inner: Inner,
    guard: Option<InFlight>,
    /// Back to the pool when the upstream body has been read.
    lease: Option<Lease>,
    /// Boxed: it is large (the access log's fields) and the response moves
    /// several times on its way out; inline it made every move ~300 bytes longer.
    done: Option<Box<Done>>,
}

impl ProxyBody {
    /// An upstream body; `guard` keeps the request counted in flight and
    /// `lease` holds its connection until it ends.
    pub fn upstream(body: UpBody, guard: InFlight, lease: Lease) -> Self {
        Self {
            inner: Inner::Upstream(body),
            guard: Some(guard),
            lease: Some(lease),
            done: None,
        }
    }

    pub fn text(text: impl Into<Bytes>) -> Self {
        Self {
            inner: Inner::Full(Some(text.into())),
            guard: None,
            lease: None,
            done: None,
        }
    }

    /// A transformed body (e.g. compressed), which owns whatever its source held.
    pub fn boxed(body: Boxed) -> Self {
        Self {
            inner: Inner::Boxed(body),
            guard: None,
            lease: None,
            done: None,
        }
    }

    /// Attaches the record written when the body ends.
    pub fn with_done(mut self, done: Done) -> Self {
        self.done = Some(Box::new(done));
        self
    }

    /// The upstream's header lines, when they pass through to the client
    /// as they came instead of in the response's map (taken once; see
    /// `client::h1::lines`). Only fulcrum's own HTTP/1 server asks for them
    /// and writes them.
    pub fn take_lines(&mut self) -> Option<super::client::Lines> {
        match &mut self.inner {
            Inner::Upstream(body) => body.take_lines(),
            Inner::Full(_) | Inner::Boxed(_) => None,
        }
    }

    fn finish(&mut self) {
        self.lease.take();
        self.guard.take();
        self.done.take();
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let polled = match &mut this.inner {
            Inner::Upstream(body) => Pin::new(body).poll_frame(cx),
            Inner::Full(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            Inner::Boxed(body) => body.as_mut().poll_frame(cx),
        };
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(done), Some(data)) = (this.done.as_mut(), frame.data_ref()) {
                    done.bytes += data.len() as u64;
                }
            }
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => this.finish(),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Upstream(body) => body.is_end_stream(),
            Inner::Full(data) => data.is_none(),
            Inner::Boxed(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Upstream(body) => body.size_hint(),
            Inner::Full(data) => SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64)),
            Inner::Boxed(body) => body.size_hint(),
        }
    }
}
