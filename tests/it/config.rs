//! Config validation: every problem at once, each with key path and line; "not supported yet".

use fulcrum::config::{parse, Balance, ConfigError, Fallback, KeySource, Problem};

fn problems(yaml: &str) -> Vec<Problem> {
    match parse(yaml) {
        Err(ConfigError::Invalid(p)) => p,
        other => panic!("expected problems, got {other:?}"),
    }
}

fn has(ps: &[Problem], path: &str, line: Option<usize>, text: &str) {
    assert!(
        ps.iter()
            .any(|p| p.path == path && p.line == line && p.message.contains(text)),
        "no problem at {path} line {line:?} containing {text:?} in:\n{}",
        ps.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn shipped_config_yaml_is_valid_and_shows_both_pools() {
    let c = fulcrum::config::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config.yaml"
    )))
    .unwrap();
    assert!(matches!(c.upstreams[0].balance, Balance::WeightedRoundRobin));
    let Balance::ConsistentHash(h) = &c.upstreams[1].balance else {
        panic!("api is a hash pool")
    };
    assert_eq!(
        h.keys,
        [
            KeySource::Header("x-user-id".parse().unwrap()),
            KeySource::Cookie("session".into())
        ]
    );
    assert_eq!(h.fallback, Fallback::Random);
    assert!(c.routes[0].host.is_some() && c.routes[0].strip_prefix);
    assert!(c.upstreams[0].servers.iter().any(|s| s.weight > 1));
}

#[test]
fn every_problem_is_reported_with_path_and_line() {
    let yaml = "\
listeners:
  - address: 0.0.0.0:80x
  - adress: 1.2.3.4:5
upstreams:
  api:
    balance: consistent_hash
    hash: { key: header:x, fallback: nope }
    servers:
      - address: 127.0.0.1:1
      - address: 127.0.0.1:2
        weight: 0
      - address: 127.0.0.1:3
        wieght: 2
      - address: 127.0.0.1:1
routes:
  - match: { path_prefix: api }
    upstream: nope
  - upstream: api
    strip_prefix: true
foo: 1
";
    let ps = problems(yaml);
    has(&ps, "listeners[0].address", Some(2), "not ip:port");
    has(&ps, "listeners[1].adress", Some(3), "unknown field `adress`");
    has(
        &ps,
        "upstreams.api.hash.fallback",
        Some(7),
        "not random, round_robin or reject",
    );
    has(&ps, "upstreams.api.servers[1].weight", Some(11), "1..=1000");
    has(
        &ps,
        "upstreams.api.servers[2].wieght",
        Some(13),
        "unknown field `wieght`",
    );
    has(&ps, "upstreams.api.servers[3].address", Some(14), "listed twice");
    has(&ps, "routes[0].match.path_prefix", Some(16), "must start with /");
    has(
        &ps,
        "routes[0].upstream",
        Some(17),
        "unknown upstream `nope`; defined: api",
    );
    has(&ps, "routes[1].strip_prefix", Some(19), "needs match.path_prefix");
    has(&ps, "foo", Some(20), "unknown key");
    assert_eq!(ps.len(), 10, "{ps:?}");
}

#[test]
fn a_config_without_upstreams_serves_redirects_and_fixed_answers() {
    let ok =
        "listeners: [{ address: 127.0.0.1:0 }]\nroutes: [{ match: { path_prefix: / }, redirect: { scheme: https } }]\n";
    parse(ok).expect("valid without upstreams");
    let ps =
        problems("listeners: [{ address: 127.0.0.1:0 }]\nroutes: [{ match: { path_prefix: / }, upstream: api }]\n");
    has(&ps, "routes[0].upstream", Some(2), "unknown upstream `api`");
}

#[test]
fn malformed_documents_get_errors_not_panics() {
    let syntax = problems("listeners: [1\n");
    assert!(
        syntax[0].message.contains("invalid YAML") && syntax[0].line.is_some(),
        "{syntax:?}"
    );
    assert!(problems("")[0].message.contains("empty"));
    assert!(problems("- a\n- b\n")[0].message.contains("mapping"));
    let ps = problems("listeners: []\nupstreams: {}\nroutes: []\n");
    has(&ps, "listeners", Some(1), "at least one listener");
    assert!(ps.iter().all(|p| p.path != "upstreams"), "no pools is fine: {ps:?}");
    has(&ps, "routes", Some(3), "at least one route");
    let ps = problems("listeners: 5\nupstreams: { a: { servers: [{ address: 1.2.3.4:5, weight: x }] } }\nroutes: [{ upstream: a }]\nworkers: -1\nshutdown_timeout: 30\n");
    has(&ps, "listeners", Some(1), "must be a list");
    has(
        &ps,
        "upstreams.a.servers[0].weight",
        Some(2),
        "must be an integer 1..=1000, found `x`",
    );
    has(&ps, "workers", Some(4), "0..=1024");
    has(&ps, "shutdown_timeout", Some(5), "no unit");
}

#[test]
fn defaults_are_filled_in() {
    let c = parse("listeners: [{ address: 127.0.0.1:0 }]\nupstreams: { a: { servers: [{ address: 127.0.0.1:1 }] } }\nroutes: [{ upstream: a }]\n").unwrap();
    assert_eq!(c.workers, 0);
    assert_eq!(c.shutdown_timeout, std::time::Duration::from_secs(30));
    let u = &c.upstreams[0];
    assert!(matches!(u.balance, Balance::WeightedRoundRobin));
    assert_eq!(u.servers[0].weight, 1);
    assert_eq!(u.connect_timeout, std::time::Duration::from_secs(1));
    assert_eq!(u.response_timeout, std::time::Duration::from_secs(30));
    assert_eq!(c.routes[0].label, "0");
    assert!(c.routes[0].path_prefix.is_none() && !c.routes[0].strip_prefix);
}

#[test]
fn algorithm_settings_are_checked() {
    let yaml = r#"
listeners: [{ address: "127.0.0.1:0" }]
upstreams:
  a: { balance: round_robin, hash: { key: path }, servers: [{ address: "127.0.0.1:1" }] }
  b: { balance: maglev, hash: { key: path, table_size: 65536 }, servers: [{ address: "127.0.0.1:1" }] }
  c: { balance: maglev, hash: { key: path, table_size: 101 }, servers: [{ address: "127.0.0.1:1" }, { address: "127.0.0.1:2" }] }
  d: { balance: consistent_hash, hash: { key: path, bounded_load: 0.99 }, servers: [{ address: "127.0.0.1:1" }] }
  e: { balance: consistent_hash, hash: { key: path, table_size: 65537 }, servers: [{ address: "127.0.0.1:1" }] }
  f: { balance: maglev, servers: [{ address: "127.0.0.1:1", weight: 0 }] }
  g: { balance: fastest, servers: [{ address: "127.0.0.1:1" }] }
routes: [{ upstream: a }]
"#;
    let ps = problems(yaml);
    has(
        &ps,
        "upstreams.a.hash",
        Some(4),
        "only with balance: consistent_hash or maglev, not round_robin",
    );
    has(
        &ps,
        "upstreams.b.hash.table_size",
        Some(5),
        "65536 is not prime (the next prime is 65537)",
    );
    has(
        &ps,
        "upstreams.c.hash.table_size",
        Some(6),
        "must be a prime from 200 (100 x 2 servers)",
    );
    has(&ps, "upstreams.d.hash.bounded_load", Some(7), "at least 1.0");
    has(&ps, "upstreams.e.hash.table_size", Some(8), "only for balance: maglev");
    has(&ps, "upstreams.f.hash", Some(9), "required with balance: maglev");
    has(&ps, "upstreams.f.servers[0].weight", Some(9), "1..=1000");
    has(&ps, "upstreams.g.balance", Some(10), "not an algorithm");
}

#[test]
fn maglev_table_defaults_to_65537_or_the_next_prime_above_100_per_server() {
    let servers: Vec<String> = (0..700)
        .map(|i| format!("{{ address: \"10.0.{}.{}:80\" }}", i / 250, i % 250))
        .collect();
    let yaml = format!(
        "listeners: [{{ address: 127.0.0.1:0 }}]\nupstreams:\n  s: {{ balance: maglev, hash: {{ key: path }}, servers: [{{ address: 127.0.0.1:1 }}] }}\n  big: {{ balance: maglev, hash: {{ key: path, bounded_load: 1.25 }}, servers: [{}] }}\nroutes: [{{ upstream: s }}]\n",
        servers.join(", ")
    );
    let c = parse(&yaml).unwrap();
    assert!(matches!(c.upstreams[0].balance, Balance::Maglev(_, 65537)));
    let Balance::Maglev(p, size) = &c.upstreams[1].balance else {
        panic!()
    };
    assert_eq!(*size, 70001, "the smallest prime >= 70000");
    assert_eq!(p.bounded_load, Some(1.25));
}

#[test]
fn health_settings_are_checked_with_defaults() {
    let yaml = r#"
listeners: [{ address: "127.0.0.1:0" }]
upstreams:
  a:
    servers: [{ address: "127.0.0.1:1" }]
    health_check: { path: "", interval: 1s, timeout: 1s, healthy_threshold: 0, expected_status: 200-99 }
    outlier_detection: { consecutive_failures: 0, max_ejection_percent: 101, base_ejection_time: 0s }
  b:
    servers: [{ address: "127.0.0.1:1" }]
    health_check: { interval: 2s }
routes: [{ upstream: a }]
"#;
    let ps = problems(yaml);
    has(&ps, "upstreams.a.health_check.path", Some(6), "must start with /");
    has(
        &ps,
        "upstreams.a.health_check.interval",
        Some(6),
        "must be longer than the timeout",
    );
    has(&ps, "upstreams.a.health_check.healthy_threshold", Some(6), "1..=100");
    has(
        &ps,
        "upstreams.a.health_check.expected_status",
        Some(6),
        "not a status code or range",
    );
    has(
        &ps,
        "upstreams.a.outlier_detection.consecutive_failures",
        Some(7),
        "1..=1000",
    );
    has(
        &ps,
        "upstreams.a.outlier_detection.max_ejection_percent",
        Some(7),
        "0..=100",
    );
    has(
        &ps,
        "upstreams.a.outlier_detection.base_ejection_time",
        Some(7),
        "above zero",
    );
    has(&ps, "upstreams.b.health_check.path", Some(10), "required");
    let c = parse("listeners: [{ address: 127.0.0.1:0 }]\nupstreams: { a: { servers: [{ address: 127.0.0.1:1 }], health_check: { path: /h }, outlier_detection: {} } }\nroutes: [{ upstream: a }]\n").unwrap();
    let h = c.upstreams[0].health_check.as_ref().unwrap();
    assert_eq!(
        (
            h.interval.as_secs(),
            h.timeout.as_secs(),
            h.healthy_threshold,
            h.unhealthy_threshold,
            h.expected_status
        ),
        (2, 1, 2, 3, (200, 399))
    );
    let o = c.upstreams[0].outlier_detection.as_ref().unwrap();
    assert_eq!(
        (
            o.consecutive_failures,
            o.base_ejection_time.as_secs(),
            o.max_ejection_percent
        ),
        (5, 30, 50)
    );
}

#[test]
fn limits_and_trusted_proxies_are_checked_with_defaults() {
    let base = "listeners: [{ address: 127.0.0.1:0 }]\nupstreams: { a: { servers: [{ address: 127.0.0.1:1 }] } }\nroutes: [{ upstream: a }]\n";
    let c = parse(base).unwrap();
    assert_eq!(c.limits, fulcrum::config::Limits::default());
    assert_eq!(
        (
            c.limits.max_header_bytes,
            c.limits.max_headers,
            c.limits.max_body_bytes,
            c.limits.max_connections
        ),
        (65536, 100, 10485760, 10000)
    );
    let ps = problems(&format!("{base}limits: {{ max_header_bytes: 100, max_headers: 0, max_connections: -1, header_read_timeout: 0s }}\ntrusted_proxies: [10.0.0.0/33, 5]\n"));
    has(&ps, "limits.max_header_bytes", Some(4), "8192..=1048576");
    has(&ps, "limits.max_headers", Some(4), "1..=10000");
    has(&ps, "limits.max_connections", Some(4), "1..=1000000");
    has(&ps, "limits.header_read_timeout", Some(4), "above zero");
    has(&ps, "trusted_proxies[0]", Some(5), "not a CIDR");
    has(&ps, "trusted_proxies[1]", Some(5), "expected a CIDR string");
}
