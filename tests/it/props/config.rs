//! The config loader never panics on any YAML tree, and every problem it
//! reports names a key path and says what is wrong.

use fulcrum::config::{parse, ConfigError};
use proptest::prelude::*;
use serde_yaml::{Mapping, Value};

/// Keys and values fulcrum knows, so random trees reach deep validation.
const WORDS: &[&str] = &[
    "listeners",
    "address",
    "tls",
    "upstreams",
    "servers",
    "weight",
    "algorithm",
    "round_robin",
    "ring_hash",
    "maglev",
    "random",
    "least_connections",
    "p2c_ewma",
    "weighted_round_robin",
    "hash",
    "key",
    "header:x-user",
    "cookie:sid",
    "client_ip",
    "bounded_load",
    "routes",
    "match",
    "path_prefix",
    "path",
    "path_regex",
    "host",
    "methods",
    "headers",
    "query",
    "upstream",
    "backends",
    "redirect",
    "respond",
    "status",
    "body",
    "limits",
    "timeouts",
    "connect",
    "response",
    "retries",
    "attempts",
    "budget",
    "health_check",
    "interval",
    "outlier_detection",
    "admin",
    "rate_limits",
    "rate",
    "burst",
    "rate_limit",
    "access",
    "allow",
    "deny",
    "request_headers",
    "response_headers",
    "set",
    "add",
    "remove",
    "rewrite",
    "compress",
    "mirror",
    "timeout",
    "request_id",
    "max_in_flight",
    "queue",
    "max",
    "slow_start",
    "proxy_protocol",
    "trusted_proxies",
    "workers",
    "error_pages",
    "discovery",
    "dns",
    "127.0.0.1:0",
    "10.0.0.1:80",
    "[::1]:8080",
    "30s",
    "0s",
    "1ms",
    "GET",
    "p",
    "/",
    "/api",
    "*.example.com",
    "10.0.0.0/8",
    "${client_ip}",
    "",
    "-1",
    "1e9",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(WORDS).prop_map(str::to_string),
        1 => "[ -~]{0,10}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        (-1e3f64..1e6).prop_map(|f| Value::Number(f.into())),
        word().prop_map(Value::String),
    ]
}

fn tree() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 80, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Sequence),
            prop::collection::vec((word(), inner), 0..6)
                .prop_map(|kv| Value::Mapping(kv.into_iter().map(|(k, v)| (Value::String(k), v)).collect())),
        ]
    })
}

/// The shipped config with one subtree at a random place replaced, removed or added.
fn mutated() -> impl Strategy<Value = Value> {
    let base: Value = serde_yaml::from_str(include_str!("../../../config.yaml")).unwrap();
    (
        prop::collection::vec(any::<prop::sample::Index>(), 1..6),
        0..3u8,
        word(),
        tree(),
    )
        .prop_map(move |(steps, op, name, sub)| {
            let mut doc = base.clone();
            edit(&mut doc, &steps, op, name, sub);
            doc
        })
}

/// Walks `steps` down from `node` and edits where the walk ends.
fn edit(node: &mut Value, steps: &[prop::sample::Index], op: u8, name: String, sub: Value) {
    let (step, rest) = (steps[0], &steps[1..]);
    let next = match node {
        Value::Mapping(m) if !m.is_empty() => {
            let key = m.keys().nth(step.index(m.len())).unwrap().clone();
            if rest.is_empty() || !matches!(m[&key], Value::Mapping(_) | Value::Sequence(_)) {
                return change(m, key, op, name, sub);
            }
            m.get_mut(&key).unwrap()
        }
        Value::Sequence(s) if !s.is_empty() => {
            let i = step.index(s.len());
            if rest.is_empty() {
                s[i] = sub;
                return;
            }
            &mut s[i]
        }
        other => {
            *other = sub;
            return;
        }
    };
    if rest.is_empty() {
        *next = sub;
    } else {
        edit(next, rest, op, name, sub);
    }
}

fn change(m: &mut Mapping, key: Value, op: u8, name: String, sub: Value) {
    match op {
        0 => m[&key] = sub,
        1 => {
            m.remove(&key);
        }
        _ => {
            m.insert(Value::String(name), sub);
        }
    }
}

/// Parses and checks every reported problem.
fn check(doc: &Value) -> Result<(), TestCaseError> {
    let text = serde_yaml::to_string(doc).unwrap();
    match parse(&text) {
        Ok(_) => {}
        Err(ConfigError::Invalid(problems)) => {
            prop_assert!(!problems.is_empty());
            for p in problems {
                prop_assert!(!p.message.trim().is_empty(), "a problem without words: {p:?}");
                if doc.is_mapping() && !doc.as_mapping().unwrap().is_empty() {
                    prop_assert!(!p.path.is_empty(), "a problem without a key path: {p:?}\n{text}");
                }
            }
        }
        Err(e) => prop_assert!(false, "parse of text gave {e}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn any_tree_loads_or_names_its_problems(doc in tree()) {
        check(&doc)?;
    }

    #[test]
    fn the_shipped_config_with_one_edit_loads_or_names_its_problems(doc in mutated()) {
        check(&doc)?;
    }

    #[test]
    fn any_text_loads_or_is_refused_without_a_panic(text in "[ -~\n\t]{0,300}") {
        let _ = parse(&text);
    }
}
