//! Bad front-door settings are config errors with their key paths.

fn errors(extra: &str, route: &str) -> String {
    let yaml = format!(
        "listeners: [{{ address: \"127.0.0.1:0\" }}]\n{extra}\nupstreams: {{ p: {{ servers: [{{ address: \"127.0.0.1:9001\" }}] }} }}\n\
         routes: [{{ upstream: p{route} }}]\n"
    );
    fulcrum::config::parse(&yaml).expect_err("rejected").to_string()
}

#[test]
fn each_bad_key_is_named() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "rate_limits: { a: { rate: 100/x } }",
            "",
            "rate_limits.a.rate (line 2): `100/x` is not a rate",
        ),
        (
            "rate_limits: { a: { rate: 10/s, burst: 0 } }",
            "",
            "rate_limits.a.burst (line 2): must be an integer 1..=1000000",
        ),
        (
            "rate_limits: { a: { rate: 10/s, key: \"header:\" } }",
            "",
            "rate_limits.a.key",
        ),
        (
            "rate_limits: { a: { rate: 10/s, max_keys: 0 } }",
            "",
            "rate_limits.a.max_keys",
        ),
        (
            "rate_limits: { a: { rate: 10/s, store: { redis: \"http://127.0.0.1:6379/0\" } } }",
            "",
            "rate_limits.a.store.redis (line 2): `http://127.0.0.1:6379/0` is not a Redis URL",
        ),
        (
            "",
            ", rate_limit: nope",
            "routes[0].rate_limit (line 4): unknown rate limit `nope`",
        ),
        (
            "",
            ", access: { allow: [10.0.0.0/33] }",
            "routes[0].access.allow[0] (line 4): `10.0.0.0/33` is not a CIDR",
        ),
        ("", ", access: {}", "routes[0].access (line 4): needs allow or deny"),
        (
            "",
            ", basic_auth: { users_file: missing.htpasswd }",
            "routes[0].basic_auth.users_file (line 4): cannot read",
        ),
        (
            "",
            ", forward_auth: { upstream: nope, path: /check }",
            "routes[0].forward_auth.upstream (line 4): unknown upstream `nope`",
        ),
        (
            "",
            ", forward_auth: { upstream: p, path: check }",
            "routes[0].forward_auth.path (line 4): `check` must be a path",
        ),
        (
            "",
            ", forward_auth: { upstream: p, path: /c, response_headers: [host] }",
            "`host` cannot be copied",
        ),
    ];
    for (extra, route, want) in cases {
        let got = errors(extra, route);
        assert!(got.contains(want), "{extra}{route}:\n  got  {got}\n  want {want}");
    }
}
