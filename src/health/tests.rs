//! The rise/fall and ejection state machine.

use super::*;

fn checks(healthy: u32, unhealthy: u32) -> HealthCheckConfig {
    HealthCheckConfig {
        path: "/healthz".into(),
        interval: Duration::from_secs(2),
        timeout: Duration::from_secs(1),
        healthy_threshold: healthy,
        unhealthy_threshold: unhealthy,
        expected_status: (200, 399),
    }
}

fn outlier(n: u32) -> OutlierConfig {
    OutlierConfig {
        consecutive_failures: n,
        base_ejection_time: Duration::from_secs(30),
        max_ejection_percent: 50,
    }
}

#[test]
fn falls_after_unhealthy_threshold_and_rises_after_healthy_threshold() {
    let h = Health::default();
    let cfg = checks(2, 3);
    assert!(h.eligible(), "starts healthy");
    assert!(h.check(false, &cfg).is_empty());
    assert!(h.check(false, &cfg).is_empty());
    assert!(h.check(true, &cfg).is_empty(), "a pass resets the failure run");
    assert!(h.check(false, &cfg).is_empty());
    assert!(h.check(false, &cfg).is_empty());
    assert_eq!(h.check(false, &cfg), [Transition::Unhealthy]);
    assert!(!h.eligible());
    assert!(h.check(false, &cfg).is_empty(), "no repeated transition");
    assert!(h.check(true, &cfg).is_empty());
    assert_eq!(h.check(true, &cfg), [Transition::Healthy]);
    assert!(h.eligible());
}

#[test]
fn ejection_grows_with_each_ejection_capped_at_ten() {
    let h = Health::default();
    let cfg = outlier(3);
    let mut durations = Vec::new();
    for _ in 0..12 {
        assert_eq!(h.live(true, &cfg, || true), None);
        assert_eq!(h.live(true, &cfg, || true), None);
        match h.live(true, &cfg, || true) {
            Some(Transition::Ejected { duration, epoch }) => {
                assert!(!h.eligible());
                assert_eq!(h.live(true, &cfg, || true), None, "no ejection while ejected");
                assert!(h.end_ejection(epoch));
                assert!(!h.end_ejection(epoch), "ends once");
                durations.push(duration.as_secs());
            }
            other => panic!("expected an ejection, got {other:?}"),
        }
    }
    assert_eq!(durations, [30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 300, 300]);
}

#[test]
fn success_resets_and_max_percent_blocks() {
    let h = Health::default();
    let cfg = outlier(2);
    h.live(true, &cfg, || true);
    h.live(false, &cfg, || true);
    assert_eq!(h.live(true, &cfg, || true), None, "the run was reset by a success");
    assert_eq!(h.live(true, &cfg, || false), None, "max_ejection_percent reached");
    assert!(h.eligible());
}

#[test]
fn a_passing_check_ends_an_ejection_early_and_stale_timers_do_nothing() {
    let h = Health::default();
    let Some(Transition::Ejected { epoch, .. }) = h.live(true, &outlier(1), || true) else {
        panic!()
    };
    assert_eq!(h.check(true, &checks(2, 3)), [Transition::EjectionEnded]);
    assert!(h.eligible());
    let Some(Transition::Ejected { epoch: second, .. }) = h.live(true, &outlier(1), || true) else {
        panic!()
    };
    assert!(
        !h.end_ejection(epoch),
        "the first ejection's timer must not end the second"
    );
    assert!(h.end_ejection(second));
}
