//! A per-thread cache of the handles of the two series every request
//! touches, so a request increments its counter and observes its histogram
//! without `with_label_values` hashing four label strings (SipHash over
//! the label values, then a map lookup) each time. The cache is keyed by
//! the registry, the snapshot (labels come from its config) and the label
//! indices; it is cleared when either changes, so a handle never outlives
//! the config its labels were read from.

use super::Metrics;
use prometheus::{Histogram, IntCounter};
use std::cell::RefCell;
use std::collections::HashMap;

/// Entries kept per thread before the cache starts over.
const MAX_ENTRIES: usize = 4096;

/// Route, upstream and server indices (`u16::MAX`: none) and the status code.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub route: u16,
    pub upstream: u16,
    pub server: u16,
    pub code: u16,
}

impl Key {
    pub fn new(route: Option<usize>, upstream: Option<usize>, server: Option<usize>, code: u16) -> Self {
        let idx = |i: Option<usize>| i.and_then(|i| u16::try_from(i).ok()).unwrap_or(u16::MAX);
        Self {
            route: idx(route),
            upstream: idx(upstream),
            server: idx(server),
            code,
        }
    }
}

type Map<V> = HashMap<Key, V, crate::fasthash::FastHash>;

#[derive(Default)]
struct Cache {
    /// (registry id, snapshot id) the entries belong to.
    owner: (u64, u64),
    counters: Map<IntCounter>,
    histograms: Map<Histogram>,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::default();
}

fn with_cache<T>(owner: (u64, u64), f: impl FnOnce(&mut Cache) -> T) -> T {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.owner != owner || c.counters.len() + c.histograms.len() > MAX_ENTRIES {
            c.owner = owner;
            c.counters.clear();
            c.histograms.clear();
        }
        f(&mut c)
    })
}

impl Metrics {
    /// Counts one response in `fulcrum_requests_total`; `labels` gives
    /// (route, upstream, server) the first time this thread sees `key`.
    /// `snapshot` is the id of the snapshot the labels come from.
    pub fn count_request<'a>(&self, snapshot: u64, key: Key, labels: impl FnOnce() -> [&'a str; 3]) {
        let owner = (self.id, snapshot);
        with_cache(owner, |c| {
            c.counters
                .entry(key)
                .or_insert_with(|| {
                    let [route, upstream, server] = labels();
                    let code =
                        http::StatusCode::from_u16(key.code).map_or("000".to_string(), |s| s.as_str().to_string());
                    self.requests
                        .local()
                        .with_label_values(&[route, upstream, server, &code])
                })
                .inc()
        });
    }

    /// Observes one request's duration in `fulcrum_request_duration_seconds`.
    pub fn observe_duration<'a>(&self, snapshot: u64, key: Key, seconds: f64, labels: impl FnOnce() -> [&'a str; 2]) {
        let owner = (self.id, snapshot);
        let key = Key {
            server: u16::MAX,
            code: 0,
            ..key
        };
        with_cache(owner, |c| {
            c.histograms
                .entry(key)
                .or_insert_with(|| {
                    let [route, upstream] = labels();
                    self.request_duration.local().with_label_values(&[route, upstream])
                })
                .observe(seconds)
        });
    }
}

/// A process-unique id for registries and snapshots (0 is never given).
pub fn next_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_handles_follow_their_registry_and_snapshot() {
        let (a, b) = (Metrics::new(), Metrics::new());
        let k = Key::new(Some(0), Some(0), Some(0), 200);
        let get = |m: &Metrics, route: &str| m.requests.local().with_label_values(&[route, "u", "s", "200"]).get();
        a.count_request(1, k, || ["r", "u", "s"]);
        b.count_request(1, k, || ["r", "u", "s"]);
        a.count_request(1, k, || ["r", "u", "s"]);
        // a reloaded snapshot labels the same indices anew
        a.count_request(2, k, || ["r2", "u", "s"]);
        assert_eq!((get(&a, "r"), get(&a, "r2"), get(&b, "r")), (2, 1, 1));
        let other = Key::new(Some(0), Some(0), Some(0), 503);
        a.count_request(2, other, || ["r2", "u", "s"]);
        assert_eq!(a.requests.local().with_label_values(&["r2", "u", "s", "503"]).get(), 1);
        a.observe_duration(2, k, 0.5, || ["r2", "u"]);
        a.observe_duration(2, other, 0.25, || ["r2", "u"]);
        let h = a.request_duration.local().with_label_values(&["r2", "u"]);
        assert_eq!((h.get_sample_count(), h.get_sample_sum()), (2, 0.75));
    }
}
