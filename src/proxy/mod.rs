//! The request path: route -> select -> forward, with errors mapped to
//! responses in one place. The only module besides `server` that knows hyper.

pub mod action;
pub mod attempt;
mod body;
pub mod client;
mod done;
mod error;
mod facts;
mod forward;
mod framing;
mod headers;
mod local;
mod names;
mod outlier;
pub mod queue;
mod req_body;
pub mod send_body;
mod upgrade;

pub use action::{answer, respond};
pub use body::{BoxError, Boxed, ProxyBody};
pub use done::Info;
pub use error::{chain as error_chain, ProxyError};
pub use facts::Facts;
pub use headers::{
    content_length, decimal, has_token, is_hop_by_hop, is_hop_by_hop_bytes, lists_token, names_no_other_header,
    remove_hop_by_hop,
};
pub use local::location as redirect_location;
pub use names::header_name;
pub use req_body::ReqBody;

use crate::activity::Activity;
use crate::metrics::Metrics;
use crate::state::Snapshot;
use arc_swap::ArcSwap;
use done::{Done, Seen};
use http::{Request, Response};
use hyper::body::Incoming;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

/// The tower service of one downstream connection.
#[derive(Clone)]
pub struct ProxyService {
    state: Arc<ArcSwap<Snapshot>>,
    metrics: Arc<Metrics>,
    peer: SocketAddr,
    /// The peer's address as an `X-Forwarded-For` value, made once.
    client: Arc<headers::ClientAddr>,
    /// `X-Forwarded-Proto`: `https` on TLS listeners.
    proto: &'static str,
    activity: Option<Arc<Activity>>,
}

impl ProxyService {
    pub fn new(state: Arc<ArcSwap<Snapshot>>, metrics: Arc<Metrics>, peer: SocketAddr) -> Self {
        Self {
            state,
            metrics,
            peer,
            client: Arc::new(headers::ClientAddr::new(peer.ip())),
            proto: "http",
            activity: None,
        }
    }

    /// For connections that arrived over TLS.
    pub fn over_tls(mut self) -> Self {
        self.proto = "https";
        self
    }

    /// Marks each request busy on its connection's `activity` until its response ends.
    pub fn with_activity(mut self, activity: Arc<Activity>) -> Self {
        self.activity = Some(activity);
        self
    }
}

impl tower::Service<Request<Incoming>> for ProxyService {
    type Response = Response<ProxyBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ProxyBody>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Incoming>) -> Self::Future {
        self.serve(req.map(ReqBody::new))
    }
}

impl ProxyService {
    /// Serves one request, from hyper or from fulcrum's own HTTP/1 server
    /// (`server::h1`).
    pub fn serve(&mut self, req: Request<ReqBody>) -> <Self as tower::Service<Request<Incoming>>>::Future {
        // One load per request: the request finishes on the snapshot it started with.
        let snapshot = self.state.load_full();
        let (peer, proto, metrics) = (self.peer, self.proto, self.metrics.clone());
        let client = self.client.clone();
        let activity = self.activity.clone();
        let start = Instant::now();
        let busy = self.activity.as_ref().map(Activity::begin);
        let ambiguous = self.activity.as_ref().is_some_and(|a| a.take_ambiguous());
        let seen = snapshot.access_log.as_ref().map(|_| Seen {
            time: SystemTime::now(),
            client: peer,
            method: req.method().to_string(),
            host: crate::route::request_host(req.headers(), req.uri())
                .unwrap_or("")
                .to_string(),
            path: req.uri().path_and_query().map_or("/", |p| p.as_str()).to_string(),
        });
        // an HTTP/1 body still to read: if the answer comes first, hyper closes
        // the connection afterwards, and the answer must say so, or a client
        // that sent it whole reuses the connection and loses its next request
        let body_end = (req.version() <= http::Version::HTTP_11 && !http_body::Body::is_end_stream(req.body()))
            .then(|| Arc::new(std::sync::atomic::AtomicBool::new(false)));
        let closing = body_end.clone();
        let own = req.body().own_server();
        Box::pin(async move {
            let (mut resp, info) = if ambiguous {
                metrics.requests_rejected.with_label_values(&["bad_request"]).inc();
                let e = ProxyError::BadRequest("both Content-Length and Transfer-Encoding");
                (action::answer(e, &snapshot.config.error_pages), done::Info::default())
            } else {
                let arrival = forward::Arrival {
                    snap: snapshot.clone(),
                    metrics: metrics.clone(),
                    peer,
                    client,
                    scheme: proto,
                    body_end,
                    own,
                };
                forward::forward(arrival, req).await
            };
            if closing.is_some_and(|ended| !ended.load(std::sync::atomic::Ordering::Relaxed)) {
                resp.headers_mut()
                    .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
            }
            if let Some(a) = &activity {
                // fulcrum's own `close` (upstream hop-by-hop headers are gone)
                if resp.headers().contains_key(http::header::CONNECTION) {
                    a.closing();
                }
            }
            if resp.status() == http::StatusCode::SWITCHING_PROTOCOLS {
                if let Some(a) = &activity {
                    a.upgraded();
                }
            }
            let status = resp.status().as_u16();
            let key = crate::metrics::Key::new(info.route, info.upstream, info.server, status);
            metrics.count_request(snapshot.id, key, || info.labels(&snapshot));
            let done = Done {
                snapshot: snapshot.clone(),
                metrics,
                info,
                status,
                start,
                bytes: 0,
                seen,
                busy,
            };
            Ok(resp.map(|body| body.with_done(done)))
        })
    }
}
