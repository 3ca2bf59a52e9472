//! The downstream request body on its way upstream: hyper's body, streamed,
//! or none (a bodiless request fulcrum's own HTTP/1 server read, see
//! `server::h1`), with an optional copy taken for a mirror (at most the
//! mirror's limit; the copy never holds the body back).

use crate::policy::mirror::Copy;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

/// A request body, as every stage of the request path sees it.
#[derive(Debug)]
pub struct ReqBody {
    /// None: the request has no body.
    inner: Option<Incoming>,
    copy: Option<Copy>,
    /// Set once the body has been read to its end (see `track_end`).
    ended: Option<Arc<AtomicBool>>,
}

impl ReqBody {
    pub fn new(inner: Incoming) -> Self {
        Self {
            inner: Some(inner),
            copy: None,
            ended: None,
        }
    }

    /// A request without a body, read by fulcrum's own HTTP/1 server (the
    /// only maker of bodiless `ReqBody`s: hyper's requests carry hyper's
    /// body even when empty), see [`ReqBody::own_server`].
    pub fn empty() -> Self {
        Self {
            inner: None,
            copy: None,
            ended: None,
        }
    }

    /// The request came to fulcrum's own HTTP/1 server (see [`ReqBody::empty`]).
    pub fn own_server(&self) -> bool {
        self.inner.is_none()
    }

    /// Sets `ended` once the body has been read to its end: an HTTP/1
    /// answer given before then closes its connection and says so.
    pub fn track_end(mut self, ended: Option<Arc<AtomicBool>>) -> Self {
        self.ended = ended;
        self
    }

    /// Copies the body into `copy` as it streams; the copy is handed over
    /// when the body ends, or given up when it grows past its limit.
    pub fn copy_into(&mut self, copy: Copy) {
        self.copy = Some(copy);
    }
}

impl Body for ReqBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = match &mut this.inner {
            Some(inner) => Pin::new(inner).poll_frame(cx),
            None => Poll::Ready(None),
        };
        // a sender may stop polling once the body says it has ended
        let ended = match &polled {
            Poll::Ready(None) => true,
            Poll::Ready(Some(Ok(_))) => this.is_end_stream(),
            _ => false,
        };
        if let (true, Some(flag)) = (ended, &this.ended) {
            flag.store(true, Ordering::Relaxed);
        }
        if let Some(copy) = this.copy.as_mut() {
            match &polled {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        if !copy.push(data) {
                            this.copy = None;
                        }
                    }
                }
                Poll::Ready(Some(Err(_))) => this.copy = None,
                _ => {}
            }
            if ended {
                if let Some(copy) = this.copy.take() {
                    copy.finish();
                }
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}
