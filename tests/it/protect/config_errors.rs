//! Bad protection settings are config errors with their key paths; a
//! setting that would do nothing is a `fulcrum check` warning.

use super::common::process::{bin, TempDir};

fn errors(protect: &str) -> String {
    let yaml = format!(
        "listeners: [{{ address: \"127.0.0.1:0\" }}]\n\
         upstreams: {{ p: {{ servers: [{{ address: \"127.0.0.1:9001\" }}], {protect} }} }}\nroutes: [{{ upstream: p }}]\n"
    );
    match fulcrum::config::parse(&yaml) {
        Ok(_) => panic!("accepted: {protect}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_protections_are_named_with_their_paths() {
    let cases: &[(&str, &str)] = &[
        (
            "max_in_flight: 0",
            "upstreams.p.max_in_flight (line 2): must be an integer 1..=1000000, found",
        ),
        (
            "max_in_flight: 4, queue: { max: -1 }",
            "upstreams.p.queue.max (line 2): must be an integer 0..=1000000",
        ),
        (
            "max_in_flight: 4, queue: { max: 10000000 }",
            "upstreams.p.queue.max (line 2): must be an integer 0..=1000000",
        ),
        (
            "max_in_flight: 4, queue: { timeout: 0s }",
            "upstreams.p.queue.timeout (line 2): must be from 1ms to 1h",
        ),
        (
            "queue: { max: 10 }",
            "upstreams.p.queue (line 2): only with max_in_flight",
        ),
        (
            "retries: { budget: 0% }",
            "upstreams.p.retries.budget (line 2): must be a share from 1% to 100%",
        ),
        (
            "retries: { budget: 150% }",
            "upstreams.p.retries.budget (line 2): must be a share from 1% to 100%",
        ),
        (
            "retries: { budget: 20 }",
            "upstreams.p.retries.budget (line 2): must be a share from 1% to 100%",
        ),
        (
            "slow_start: 500ms",
            "upstreams.p.slow_start (line 2): must be from 1s to 1h",
        ),
        (
            "slow_start: 2h",
            "upstreams.p.slow_start (line 2): must be from 1s to 1h",
        ),
    ];
    for (protect, want) in cases {
        let got = errors(protect);
        assert!(got.contains(want), "{protect}:\n  got  {got}\n  want {want}");
    }
}

#[test]
fn good_protections_are_accepted_with_their_defaults() {
    let yaml = "listeners: [{ address: \"127.0.0.1:0\" }]\n\
                upstreams: { p: { servers: [{ address: \"127.0.0.1:9001\" }], max_in_flight: 100, \
                slow_start: 30s, retries: { attempts: 2, budget: 20% } } }\nroutes: [{ upstream: p }]\n";
    let c = fulcrum::config::parse(yaml).expect("valid");
    let p = &c.upstreams[0].protect;
    assert_eq!(p.max_in_flight, Some(100));
    assert_eq!(
        (p.queue.max, p.queue.timeout),
        (1000, std::time::Duration::from_secs(5))
    );
    assert_eq!(p.slow_start, Some(std::time::Duration::from_secs(30)));
    assert_eq!(p.retry_budget, Some(0.2));
    let summary = fulcrum::check::summary(&c);
    assert!(
        summary.contains("max_in_flight 100 (queue 1000, 5s); slow_start 30s; retry budget 20%"),
        "{summary}"
    );
}

#[test]
fn check_warns_that_slow_start_does_nothing_on_a_hash_pool_without_a_bound() {
    let dir = TempDir::new();
    let path = dir.0.join("f.yaml");
    let pool = |bound: &str| {
        format!(
            "listeners: [{{ address: \"127.0.0.1:0\" }}]\nupstreams: {{ p: {{ balance: consistent_hash, \
             hash: {{ key: path{bound} }}, slow_start: 10s, servers: [{{ address: \"127.0.0.1:9001\" }}] }} }}\n\
             routes: [{{ upstream: p }}]\n"
        )
    };
    std::fs::write(&path, pool("")).unwrap();
    let out = bin().arg("check").arg("--config").arg(&path).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: upstreams.p.slow_start: has no effect on a hash pool without hash.bounded_load"),
        "{stderr}"
    );
    std::fs::write(&path, pool(", bounded_load: 1.25")).unwrap();
    let out = bin().arg("check").arg("--config").arg(&path).output().unwrap();
    assert!(out.status.success());
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("warning"),
        "no warning with a bound"
    );
}
