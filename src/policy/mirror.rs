//! `mirror`: a copy of chosen requests to another pool, its answer read and
//! dropped (SPEC §2.3). The copy never delays, changes or fails the primary
//! request: it is sent from its own task once the primary's body has been
//! read (copied as it streamed, up to 64 KiB; a larger body is not mirrored
//! and is counted `skipped`), and a mirror that is slow or down only costs
//! that task, which the mirror pool's `timeouts.response` ends. At most
//! `bound` mirror requests are in flight per route; beyond it, `skipped`.

use super::stage::OnRequest;
use crate::config::Mirror;
use crate::metrics::Metrics;
use crate::proxy::attempt;
use crate::proxy::send_body::SendBody;
use crate::proxy::{Facts, ReqBody};
use crate::upstream::KeyInput;
use bytes::{Bytes, BytesMut};
use http::uri::PathAndQuery;
use http::{HeaderMap, Method, Request};
use http_body::Body;
use http_body_util::BodyExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::oneshot;

/// Request bodies up to this size are mirrored.
pub const MAX_BODY: usize = 64 * 1024;

/// A copy of a request body being taken as it streams.
#[derive(Debug)]
pub struct Copy {
    buf: BytesMut,
    tx: oneshot::Sender<Bytes>,
}

impl Copy {
    /// Adds a chunk; false when the body grew past [`MAX_BODY`] (the copy is then given up).
    pub fn push(&mut self, data: &Bytes) -> bool {
        if self.buf.len() + data.len() > MAX_BODY {
            return false;
        }
        self.buf.extend_from_slice(data);
        true
    }

    /// The body has ended: the copy goes to the mirror.
    pub fn finish(self) {
        let _ = self.tx.send(self.buf.freeze());
    }
}

/// One route's mirror: its config and its in-flight count.
pub struct Shared {
    cfg: Mirror,
    bound: usize,
    in_flight: AtomicUsize,
    route: String,
    upstream_name: String,
}

impl Shared {
    fn count(&self, metrics: &Metrics, result: &str) {
        metrics
            .mirror_requests
            .with_label_values(&[&self.route, &self.upstream_name, result])
            .inc();
    }

    /// `pool` is the mirror pool's name, `route` the route's label.
    pub fn new(cfg: Mirror, bound: usize, route: &str, pool: &str) -> Self {
        Self {
            cfg,
            bound,
            in_flight: AtomicUsize::new(0),
            route: route.to_string(),
            upstream_name: pool.to_string(),
        }
    }
}

impl OnRequest for Arc<Shared> {
    fn on_request(&self, req: &mut Request<ReqBody>) {
        let chosen = self.cfg.percent >= 100 || fastrand::u8(0..100) < self.cfg.percent;
        if chosen {
            mirror(self, req);
        }
    }
}

/// Starts the mirror task for `req`, or counts why not.
fn mirror(sh: &Arc<Shared>, req: &mut Request<ReqBody>) {
    let facts = super::facts(req);
    let declared = req.body().size_hint().exact();
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return sh.count(&facts.metrics, "skipped");
    }
    if sh.in_flight.fetch_add(1, Ordering::AcqRel) >= sh.bound {
        sh.in_flight.fetch_sub(1, Ordering::AcqRel);
        return sh.count(&facts.metrics, "skipped");
    }
    let head = Head {
        method: req.method().clone(),
        pq: req
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/")),
        headers: req.headers().clone(),
    };
    let body = if req.body().is_end_stream() {
        None
    } else {
        let (tx, rx) = oneshot::channel();
        req.body_mut().copy_into(Copy {
            buf: BytesMut::new(),
            tx,
        });
        Some(rx)
    };
    let sh = sh.clone();
    tokio::spawn(async move {
        let result = match body {
            None => send(&facts, sh.cfg.upstream, head, Bytes::new()).await,
            Some(rx) => match rx.await {
                Ok(bytes) => send(&facts, sh.cfg.upstream, head, bytes).await,
                // too large, or the primary's body never ended
                Err(_) => "skipped",
            },
        };
        sh.count(&facts.metrics, result);
        sh.in_flight.fetch_sub(1, Ordering::AcqRel);
    });
}

struct Head {
    method: Method,
    pq: PathAndQuery,
    headers: HeaderMap,
}

/// Sends the copy and reads its answer to the end; the result label.
async fn send(facts: &Facts, upstream_index: usize, head: Head, body: Bytes) -> &'static str {
    let snap = &facts.snap;
    let upstream = &snap.upstreams[upstream_index];
    let input = KeyInput {
        headers: &head.headers,
        path: head.pq.path(),
        query: head.pq.query(),
        host: facts.host_name(),
        client_ip: facts.client.ip,
    };
    // a copy never queues: with every server at max_in_flight it is skipped
    let (server, _guard) = match upstream.acquire(&input, &[], false) {
        Ok((server, _, guard)) => (server, guard),
        Err(crate::upstream::SelectError::Full { .. }) => return "skipped",
        Err(_) => return "failed",
    };
    let clients = &snap.clients[upstream_index];
    let client = &clients[crate::workers::index() % clients.len()];
    let Ok(req) = attempt::build(&head.method, upstream, server, &head.pq, head.headers).body(SendBody::full(body))
    else {
        return "failed";
    };
    match client.request(req, attempt::to(upstream, server)).await {
        Ok((resp, lease)) => {
            let read = tokio::time::timeout(upstream.response_timeout, resp.into_body().collect()).await;
            drop(lease);
            match read {
                Ok(Ok(_)) => "sent",
                _ => "failed",
            }
        }
        Err(_) => "failed",
    }
}
