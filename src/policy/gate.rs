//! The third shape of a route policy: a gate that lets a request on or
//! answers it itself. [`Gate`] decides on the spot (access rules, local
//! rate limits) and its stage's future is a small named type; [`AsyncGate`]
//! has to wait (basic auth's bcrypt runs off the worker thread) and its
//! stage boxes the wait, which only routes with that gate pay.

use super::stage::layer;
use crate::proxy::{Facts, ProxyBody, ReqBody};
use http::{Request, Response};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// Decides at once, from the request's facts and head. A route whose only
/// policies are such gates (and sync edits) runs them inline, without a stack
/// (see `inline::Inline`).
pub trait Gate: Send + Sync + 'static {
    fn admit(&self, facts: &Facts, uri: &http::Uri, headers: &http::HeaderMap) -> Result<(), Denied>;
}

/// A gate's own answer (boxed: a response is large, a pass is the common case).
pub type Denied = Box<Response<ProxyBody>>;

/// The request on its way in, or the gate's answer.
pub type Admitted = Result<Request<ReqBody>, Denied>;

/// Decides after waiting for something.
pub trait AsyncGate: Send + Sync + 'static {
    fn admit(self: Arc<Self>, req: Request<ReqBody>) -> Pin<Box<dyn Future<Output = Admitted> + Send>>;
}

layer!(
    /// A gate as a layer.
    GateLayer,
    GateStage
);

impl<P, S> Service<Request<ReqBody>> for GateStage<P, S>
where
    P: Gate,
    S: Service<Request<ReqBody>, Response = Response<ProxyBody>, Error = Infallible>,
{
    type Response = Response<ProxyBody>;
    type Error = Infallible;
    type Future = Gated<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let facts = req
            .extensions()
            .get::<Arc<Facts>>()
            .expect("the facts come before the stack");
        match self.policy.admit(facts, req.uri(), req.headers()) {
            Ok(()) => Gated::Passed {
                inner: self.inner.call(req),
            },
            Err(resp) => Gated::Answered { resp: Some(resp) },
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner service's future, or the gate's own answer.
    #[project = GatedProj]
    pub enum Gated<F> {
        Passed { #[pin] inner: F },
        Answered { resp: Option<Denied> },
    }
}

impl<F: Future<Output = Result<Response<ProxyBody>, Infallible>>> Future for Gated<F> {
    type Output = Result<Response<ProxyBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            GatedProj::Passed { inner } => inner.poll(cx),
            GatedProj::Answered { resp } => Poll::Ready(Ok(*resp.take().expect("polled after completion"))),
        }
    }
}

layer!(
    /// An async gate as a layer.
    AsyncGateLayer,
    AsyncGateStage
);

impl<P, S> Service<Request<ReqBody>> for AsyncGateStage<P, S>
where
    P: AsyncGate,
    S: Service<Request<ReqBody>, Response = Response<ProxyBody>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Response<ProxyBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ProxyBody>, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // the service made ready goes with the request; a clone stays behind
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let decided = self.policy.clone().admit(req);
        Box::pin(async move {
            match decided.await {
                Ok(req) => inner.call(req).await,
                Err(resp) => Ok(*resp),
            }
        })
    }
}
