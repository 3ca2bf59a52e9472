//! The facts every stage of a request reads from one place (Envoy's filter
//! chain does the same): the snapshot it started on, the client, the route,
//! the request ID, and where it was sent so far. On a route with policies it
//! rides in the request's extensions as `Arc<Facts>`.

use super::done::Info;
use super::headers::ClientAddr;
use crate::metrics::Metrics;
use crate::state::Snapshot;
use http::HeaderValue;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One request's facts, made once after routing.
pub struct Facts {
    pub snap: Arc<Snapshot>,
    pub metrics: Arc<Metrics>,
    pub peer: SocketAddr,
    pub client: Arc<ClientAddr>,
    /// `http` or `https`: how the client reached fulcrum.
    pub scheme: &'static str,
    /// Index into the snapshot's routes.
    pub route: usize,
    /// The client's `Host` (or HTTP/2 authority), as sent.
    pub host: Option<HeaderValue>,
    /// The length of `host` without its port.
    pub host_name_len: usize,
    /// Set when `request_id` is on.
    pub request_id: Option<HeaderValue>,
    /// The `Upgrade` header of an upgrade request (WebSocket).
    pub upgrade: Option<HeaderValue>,
    /// The client asked for trailers (`TE: trailers`), for HTTP/2 upstreams.
    pub te_trailers: bool,
    /// The upstream's header lines may pass through to the client as they
    /// came (`client::h1::lines`): the request came to fulcrum's own HTTP/1
    /// server, which writes them, and nothing on the route reads or edits
    /// response headers (no policy stack, no response header rules, no
    /// request ID).
    pub pass_head: bool,
    /// Where the request went; read when its response is counted. A lock
    /// rather than `&mut` so a stage that gives up (route timeout) still
    /// finds the upstream and server tried.
    pub info: Mutex<Info>,
}

impl Facts {
    pub fn route(&self) -> &crate::config::RouteConfig {
        &self.snap.config.routes[self.route]
    }

    /// The client's host without port, for `${host}` and redirects.
    pub fn host_name(&self) -> Option<&str> {
        let raw = self.host.as_ref()?.to_str().ok()?;
        raw.get(..self.host_name_len)
    }

    /// The port the client addressed, when its `Host` names one.
    pub fn host_port(&self) -> Option<u16> {
        crate::route::host_port(self.host.as_ref()?.to_str().ok()?)
    }

    /// A copy of where the request went.
    pub fn info(&self) -> Info {
        self.info.lock().map(|i| i.clone()).unwrap_or_default()
    }

    /// Updates where the request went.
    pub fn record(&self, f: impl FnOnce(&mut Info)) {
        if let Ok(mut info) = self.info.lock() {
            f(&mut info);
        }
    }
}
