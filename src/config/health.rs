//! Validation of `health_check` and `outlier_detection`, with SPEC's defaults.

use super::schema::{RawHealthCheck, RawOutlier};
use super::types::{HealthCheckConfig, OutlierConfig};
use super::validate::Ctx;
use serde_yaml::Value;
use std::time::Duration;

/// An integer key within `min..=max`, or `default` when absent.
fn count(cx: &mut Ctx, path: &str, value: Option<i64>, default: u32, min: i64, max: i64) -> u32 {
    match value {
        None => default,
        Some(n) if (min..=max).contains(&n) => n as u32,
        Some(n) => {
            cx.err(path, format!("{n} is out of range: must be {min}..={max}"));
            default
        }
    }
}

pub(super) fn health_check(cx: &mut Ctx, path: &str, raw: RawHealthCheck) -> HealthCheckConfig {
    let check_path = match raw.path {
        Some(p) if p.starts_with('/') => p,
        Some(p) => {
            cx.err(&format!("{path}.path"), format!("`{p}` must start with /"));
            p
        }
        None => {
            cx.err(&format!("{path}.path"), "required (e.g. /healthz)");
            String::new()
        }
    };
    let interval = cx.duration(raw.interval, &format!("{path}.interval"), Duration::from_secs(2));
    let timeout = cx.duration(raw.timeout, &format!("{path}.timeout"), Duration::from_secs(1));
    if timeout.is_zero() || interval <= timeout {
        cx.err(
            &format!("{path}.interval"),
            format!("{interval:?} must be longer than the timeout ({timeout:?}), which must be above zero"),
        );
    }
    let healthy_threshold = count(
        cx,
        &format!("{path}.healthy_threshold"),
        raw.healthy_threshold,
        2,
        1,
        100,
    );
    let unhealthy_threshold = count(
        cx,
        &format!("{path}.unhealthy_threshold"),
        raw.unhealthy_threshold,
        3,
        1,
        100,
    );
    let expected_status = status_range(cx, &format!("{path}.expected_status"), raw.expected_status);
    HealthCheckConfig {
        path: check_path,
        interval,
        timeout,
        healthy_threshold,
        unhealthy_threshold,
        expected_status,
    }
}

/// `200`, `"200"` or `"200-399"`; default 200-399.
fn status_range(cx: &mut Ctx, path: &str, value: Option<Value>) -> (u16, u16) {
    let text = match value {
        None => return (200, 399),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s,
        Some(other) => {
            cx.err(
                path,
                format!(
                    "expected a status code or range like 200-399, found {}",
                    super::validate::shown(&other)
                ),
            );
            return (200, 399);
        }
    };
    let (lo, hi) = text.split_once('-').unwrap_or((&text, &text));
    match (lo.trim().parse::<u16>(), hi.trim().parse::<u16>()) {
        (Ok(lo), Ok(hi)) if (100..=599).contains(&lo) && (lo..=599).contains(&hi) => (lo, hi),
        _ => {
            cx.err(
                path,
                format!("`{text}` is not a status code or range within 100-599 (e.g. 200-399)"),
            );
            (200, 399)
        }
    }
}

pub(super) fn outlier(cx: &mut Ctx, path: &str, raw: RawOutlier) -> OutlierConfig {
    let consecutive_failures = count(
        cx,
        &format!("{path}.consecutive_failures"),
        raw.consecutive_failures,
        5,
        1,
        1000,
    );
    let base_ejection_time = cx.duration(
        raw.base_ejection_time,
        &format!("{path}.base_ejection_time"),
        Duration::from_secs(30),
    );
    if base_ejection_time.is_zero() {
        cx.err(&format!("{path}.base_ejection_time"), "must be above zero");
    }
    let max_ejection_percent = count(
        cx,
        &format!("{path}.max_ejection_percent"),
        raw.max_ejection_percent,
        50,
        0,
        100,
    );
    OutlierConfig {
        consecutive_failures,
        base_ejection_time,
        max_ejection_percent,
    }
}
