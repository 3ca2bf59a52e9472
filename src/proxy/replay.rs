//! A request body that can be offered to another server after a failed
//! attempt, as long as that attempt never read any of it.
//!
//! The body moves into the client with the request. If the attempt fails
//! before the client polled it (a refused connect, a stale pooled
//! connection), dropping it puts it back in its slot, so the retry sends the
//! very same bytes; once polled, it is gone and only an empty body can be
//! sent again. Nothing is buffered.

use super::framing::Watched;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::Limited;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// The streamed, size-limited request body.
pub type Inner = Limited<Watched>;

type Home = Arc<Mutex<Option<Inner>>>;

/// The body type every upstream client sends.
#[derive(Debug)]
pub struct ReplayBody {
    inner: Option<Inner>,
    home: Option<Home>,
    polled: bool,
}

/// Where an unread body returns to when its attempt fails.
#[derive(Debug)]
pub struct Slot {
    home: Home,
    empty: bool,
}

impl ReplayBody {
    /// The first attempt's body; with `keep`, also the slot to retry from.
    pub fn first(inner: Inner, keep: bool) -> (Self, Option<Slot>) {
        let empty = inner.is_end_stream();
        let slot = keep.then(|| Slot {
            home: Arc::default(),
            empty,
        });
        let body = Self {
            inner: Some(inner),
            home: slot.as_ref().map(|s| s.home.clone()),
            polled: false,
        };
        (body, slot)
    }
}

impl Slot {
    /// The body for another attempt: the original when it came back unread,
    /// an empty one when there never was a body, else None (it was sent).
    pub fn again(&self) -> Option<ReplayBody> {
        let back = self.home.lock().unwrap_or_else(|e| e.into_inner()).take();
        match back {
            Some(inner) => Some(ReplayBody {
                inner: Some(inner),
                home: Some(self.home.clone()),
                polled: false,
            }),
            None if self.empty => Some(ReplayBody {
                inner: None,
                home: None,
                polled: false,
            }),
            None => None,
        }
    }
}

impl Drop for ReplayBody {
    fn drop(&mut self) {
        if self.polled {
            return;
        }
        if let (Some(home), Some(inner)) = (&self.home, self.inner.take()) {
            *home.lock().unwrap_or_else(|e| e.into_inner()) = Some(inner);
        }
    }
}

impl Body for ReplayBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        this.polled = true;
        match &mut this.inner {
            Some(inner) => Pin::new(inner).poll_frame(cx),
            None => Poll::Ready(None),
        }
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
