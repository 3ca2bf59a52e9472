//! Per-worker metric shards for the series every request touches
//! (`fulcrum_requests_total`, `fulcrum_request_duration_seconds`): each
//! worker thread counts into its own vector, so requests on different cores
//! never contend on one lock word or counter; a scrape sums the shards.

use crate::workers;
use prometheus::core::{Collector, Desc};
use prometheus::proto::{Counter, Histogram, Metric, MetricFamily, MetricType};
use prometheus::Registry;
use std::collections::HashMap;
use std::sync::Arc;

/// One metric vector per worker, registered as one metric family.
pub struct Sharded<V> {
    shards: Arc<[V]>,
}

impl<V: Collector + Clone + 'static> Sharded<V> {
    /// Registers `n` (at least 1) copies of `make()` as one family.
    pub fn register(registry: &Registry, n: usize, make: impl Fn() -> V) -> Self {
        let shards: Arc<[V]> = (0..n.max(1)).map(|_| make()).collect();
        registry
            .register(Box::new(Summed(shards.clone())))
            .expect("unique metric");
        Self { shards }
    }

    /// The calling worker's own shard.
    pub fn local(&self) -> &V {
        &self.shards[workers::index() % self.shards.len()]
    }
}

/// The registered view: the shards' series summed by label set.
struct Summed<V>(Arc<[V]>);

impl<V: Collector> Collector for Summed<V> {
    fn desc(&self) -> Vec<&Desc> {
        self.0[0].desc()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut families = self.0[0].collect();
        for shard in &self.0[1..] {
            for (into, from) in families.iter_mut().zip(shard.collect()) {
                merge(into, from);
            }
        }
        families
    }
}

fn label_key(m: &Metric) -> Vec<(String, String)> {
    m.get_label()
        .iter()
        .map(|l| (l.name().to_string(), l.value().to_string()))
        .collect()
}

/// Adds `from`'s series to `into`'s (counters and histograms).
fn merge(into: &mut MetricFamily, mut from: MetricFamily) {
    let kind = into.get_field_type();
    let mut index: HashMap<_, usize> = into
        .get_metric()
        .iter()
        .enumerate()
        .map(|(i, m)| (label_key(m), i))
        .collect();
    for m in from.take_metric() {
        let key = label_key(&m);
        let Some(&i) = index.get(&key) else {
            index.insert(key, into.get_metric().len());
            into.mut_metric().push(m);
            continue;
        };
        let target = &mut into.mut_metric()[i];
        match kind {
            MetricType::COUNTER => {
                let mut c = Counter::default();
                c.set_value(target.get_counter().get_value() + m.get_counter().get_value());
                target.set_counter(c);
            }
            MetricType::HISTOGRAM => {
                let (a, b) = (target.get_histogram(), m.get_histogram());
                let mut h = Histogram::default();
                h.set_sample_count(a.get_sample_count() + b.get_sample_count());
                h.set_sample_sum(a.get_sample_sum() + b.get_sample_sum());
                let mut buckets = a.get_bucket().to_vec();
                for (x, y) in buckets.iter_mut().zip(b.get_bucket()) {
                    x.set_cumulative_count(x.cumulative_count() + y.cumulative_count());
                }
                h.set_bucket(buckets);
                target.set_histogram(h);
            }
            other => unreachable!("sharded metrics are counters or histograms, not {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, TextEncoder};

    fn render(registry: &Registry) -> String {
        let mut out = String::new();
        TextEncoder::new().encode_utf8(&registry.gather(), &mut out).unwrap();
        out
    }

    #[test]
    fn a_scrape_sums_every_shard() {
        let registry = Registry::new();
        let counter = Sharded::register(&registry, 3, || {
            IntCounterVec::new(Opts::new("c_total", "c"), &["k"]).unwrap()
        });
        let histogram = Sharded::register(&registry, 3, || {
            HistogramVec::new(HistogramOpts::new("h", "h").buckets(vec![1.0, 2.0]), &["k"]).unwrap()
        });
        for (shard, n) in counter.shards.iter().zip([1, 2, 4]) {
            shard.with_label_values(&["a"]).inc_by(n);
        }
        counter.shards[2].with_label_values(&["b"]).inc_by(7);
        histogram.shards[0].with_label_values(&["a"]).observe(0.5);
        histogram.shards[1].with_label_values(&["a"]).observe(1.5);
        histogram.shards[2].with_label_values(&["a"]).observe(3.0);
        let text = render(&registry);
        assert!(text.contains("c_total{k=\"a\"} 7\n"), "{text}");
        assert!(text.contains("c_total{k=\"b\"} 7\n"), "{text}");
        assert!(text.contains("h_bucket{k=\"a\",le=\"1\"} 1\n"), "{text}");
        assert!(text.contains("h_bucket{k=\"a\",le=\"2\"} 2\n"), "{text}");
        assert!(text.contains("h_bucket{k=\"a\",le=\"+Inf\"} 3\n"), "{text}");
        assert!(text.contains("h_sum{k=\"a\"} 5\n"), "{text}");
        assert!(text.contains("h_count{k=\"a\"} 3\n"), "{text}");
        assert_eq!(text.matches("c_total{").count(), 2, "one series per label set: {text}");
    }
}
