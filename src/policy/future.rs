//! The future of a layer that edits the response its inner service gives:
//! a small named type, so a stack of layers is one future, not a box each.

use crate::proxy::ProxyBody;
use http::Response;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// What a layer does to the response once it arrives.
pub trait After {
    fn after(self, resp: Response<ProxyBody>) -> Response<ProxyBody>;
}

pin_project_lite::pin_project! {
    /// The inner service's future, then `after` on its response.
    pub struct Then<F, A> {
        #[pin]
        inner: F,
        after: Option<A>,
    }
}

impl<F, A> Then<F, A> {
    pub fn new(inner: F, after: A) -> Self {
        Self {
            inner,
            after: Some(after),
        }
    }
}

impl<F, A> Future for Then<F, A>
where
    F: Future<Output = Result<Response<ProxyBody>, Infallible>>,
    A: After,
{
    type Output = Result<Response<ProxyBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(resp) = ready!(this.inner.poll(cx));
        let after = this.after.take().expect("polled after completion");
        Poll::Ready(Ok(after.after(resp)))
    }
}
