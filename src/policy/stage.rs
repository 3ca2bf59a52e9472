//! The two shapes every route policy but the timeout takes, written once:
//! a policy that edits the request before the inner service sees it
//! ([`OnRequest`]: header rules, rewrite, mirror) and one that edits the
//! response the inner service gives ([`OnResponse`]: response header rules,
//! compression). A policy implements one trait; [`RequestLayer`] or
//! [`ResponseLayer`] makes it a tower layer whose future is a named type.

use super::future::{After, Then};
use crate::proxy::{ProxyBody, ReqBody};
use http::{Request, Response};
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// Edits the request on its way in.
pub trait OnRequest: Send + Sync + 'static {
    fn on_request(&self, req: &mut Request<ReqBody>);
}

/// Looks at the request, then edits its response with what it learnt.
pub trait OnResponse: Send + Sync + 'static {
    type After: After;
    fn on_request(&self, req: &Request<ReqBody>) -> Self::After;
}

macro_rules! layer {
    ($(#[$doc:meta])* $layer:ident, $stage:ident) => {
        $(#[$doc])*
        pub struct $layer<P>(Arc<P>);

        impl<P> $layer<P> {
            pub fn new(policy: P) -> Self {
                Self(Arc::new(policy))
            }
        }

        impl<P> Clone for $layer<P> {
            fn clone(&self) -> Self {
                Self(self.0.clone())
            }
        }

        impl<P, S> Layer<S> for $layer<P> {
            type Service = $stage<P, S>;
            fn layer(&self, inner: S) -> $stage<P, S> {
                $stage {
                    policy: self.0.clone(),
                    inner,
                }
            }
        }

        /// The policy around its inner service.
        pub struct $stage<P, S> {
            policy: Arc<P>,
            inner: S,
        }

        impl<P, S: Clone> Clone for $stage<P, S> {
            fn clone(&self) -> Self {
                Self {
                    policy: self.policy.clone(),
                    inner: self.inner.clone(),
                }
            }
        }
    };
}

/// Also makes the gates' layers (`gate`).
pub(super) use layer;

layer!(
    /// A request-editing policy as a layer.
    RequestLayer,
    RequestStage
);
layer!(
    /// A response-editing policy as a layer.
    ResponseLayer,
    ResponseStage
);

impl<P, S> Service<Request<ReqBody>> for RequestStage<P, S>
where
    P: OnRequest,
    S: Service<Request<ReqBody>, Response = Response<ProxyBody>, Error = Infallible>,
{
    type Response = Response<ProxyBody>;
    type Error = Infallible;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> S::Future {
        self.policy.on_request(&mut req);
        self.inner.call(req)
    }
}

impl<P, S> Service<Request<ReqBody>> for ResponseStage<P, S>
where
    P: OnResponse,
    S: Service<Request<ReqBody>, Response = Response<ProxyBody>, Error = Infallible>,
{
    type Response = Response<ProxyBody>;
    type Error = Infallible;
    type Future = Then<S::Future, P::After>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let after = self.policy.on_request(&req);
        Then::new(self.inner.call(req), after)
    }
}
