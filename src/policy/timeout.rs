//! `timeout`: one deadline for the whole request, retries included, until
//! the response head; past it fulcrum answers 504 (counted like any 504).
//! The body then streams without a deadline, as with `timeouts.response`.

use crate::proxy::{answer, ProxyBody, ProxyError, ReqBody};
use http::{Request, Response};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tower::{Layer, Service};

#[derive(Clone, Copy)]
pub struct TimeoutLayer(Duration);

impl TimeoutLayer {
    pub fn new(d: Duration) -> Self {
        Self(d)
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = RouteTimeout<S>;
    fn layer(&self, inner: S) -> RouteTimeout<S> {
        RouteTimeout { after: self.0, inner }
    }
}

#[derive(Clone)]
pub struct RouteTimeout<S> {
    after: Duration,
    inner: S,
}

impl<S> Service<Request<ReqBody>> for RouteTimeout<S>
where
    S: Service<Request<ReqBody>, Response = Response<ProxyBody>, Error = Infallible>,
{
    type Response = Response<ProxyBody>;
    type Error = Infallible;
    type Future = Deadline<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let facts = super::facts(&req);
        Deadline {
            inner: tokio::time::timeout(self.after, self.inner.call(req)),
            facts,
            after: self.after,
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner future under the route's deadline.
    pub struct Deadline<F> {
        #[pin]
        inner: tokio::time::Timeout<F>,
        facts: Arc<crate::proxy::Facts>,
        after: Duration,
    }
}

impl<F: Future<Output = Result<Response<ProxyBody>, Infallible>>> Future for Deadline<F> {
    type Output = Result<Response<ProxyBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.inner.poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(done)) => Poll::Ready(done),
            Poll::Ready(Err(_elapsed)) => {
                let e = ProxyError::RouteTimeout {
                    route: this.facts.route().label.clone(),
                    timeout: *this.after,
                };
                Poll::Ready(Ok(answer(e, &this.facts.snap.config.error_pages)))
            }
        }
    }
}
