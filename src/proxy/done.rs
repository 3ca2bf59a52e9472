//! What a request did, recorded once when its response ends: the duration
//! histogram and the access-log line.

use crate::access_log::Entry;
use crate::metrics::Metrics;
use crate::state::Snapshot;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// Where a request went, filled in as the request path learns it.
#[derive(Debug, Default, Clone)]
pub struct Info {
    pub route: Option<usize>,
    pub upstream: Option<usize>,
    pub server: Option<usize>,
    /// The hash key source used (`header:x-user`, `fallback:random`); only
    /// filled when an access log is on.
    pub key: Option<String>,
    /// The request ID, when `request_id` is on and an access log is.
    pub request_id: Option<String>,
    /// The client behind trusted proxies, when it is not the connection's address.
    pub client: Option<std::net::IpAddr>,
}

impl Info {
    /// (route, upstream, server) labels; "" where fulcrum answered before knowing.
    pub fn labels<'a>(&self, snap: &'a Snapshot) -> [&'a str; 3] {
        [
            self.route.map_or("", |r| snap.config.routes[r].label.as_str()),
            self.upstream.map_or("", |u| snap.upstreams[u].name.as_str()),
            match (self.upstream, self.server) {
                (Some(u), Some(s)) => snap.upstreams[u].servers[s].id.as_str(),
                _ => "",
            },
        ]
    }
}

/// The request as the access log shows it.
#[derive(Debug)]
pub struct Seen {
    pub time: SystemTime,
    pub client: SocketAddr,
    pub method: String,
    pub host: String,
    pub path: String,
}

/// Recorded on drop, when the response body has ended or was abandoned.
pub struct Done {
    pub snapshot: Arc<Snapshot>,
    pub metrics: Arc<Metrics>,
    pub info: Info,
    pub status: u16,
    pub start: Instant,
    pub bytes: u64,
    /// Present when the access log is on.
    pub seen: Option<Seen>,
    /// Keeps the downstream connection counted busy until the response ends.
    pub busy: Option<crate::activity::Busy>,
}

impl Drop for Done {
    fn drop(&mut self) {
        let elapsed = self.start.elapsed();
        let key = crate::metrics::Key::new(self.info.route, self.info.upstream, None, 0);
        self.metrics
            .observe_duration(self.snapshot.id, key, elapsed.as_secs_f64(), || {
                let [route, upstream, _] = self.info.labels(&self.snapshot);
                [route, upstream]
            });
        let (Some(seen), Some(log)) = (self.seen.take(), self.snapshot.access_log.as_ref()) else {
            return;
        };
        let [route, upstream, server] = self.info.labels(&self.snapshot);
        log.write(Entry {
            time: seen.time,
            client: seen.client,
            forwarded: self.info.client,
            method: seen.method,
            host: seen.host,
            path: seen.path,
            status: self.status,
            route: route.to_string(),
            upstream: upstream.to_string(),
            server: server.to_string(),
            duration_ms: elapsed.as_secs_f64() * 1000.0,
            bytes: self.bytes,
            key: self.info.key.take(),
            request_id: self.info.request_id.take(),
        });
    }
}

impl std::fmt::Debug for Done {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Done")
            .field("info", &self.info)
            .field("status", &self.status)
            .finish()
    }
}
