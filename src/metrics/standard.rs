//! The standard series every exporter has (SPEC §5): `fulcrum_build_info`
//! and the `process_*` family (CPU seconds, resident memory, file
//! descriptors, start time) from the prometheus crate's process collector.

use prometheus::{IntGaugeVec, Opts, Registry};

/// Registers `fulcrum_build_info{version} 1` and the process collector.
pub(super) fn register(registry: &Registry) {
    let info = IntGaugeVec::new(
        Opts::new("fulcrum_build_info", "Always 1; the version of the running binary."),
        &["version"],
    )
    .expect("valid metric");
    info.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
    registry.register(Box::new(info)).expect("unique metric");
    #[cfg(target_os = "linux")]
    registry
        .register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))
        .expect("unique metric");
}
