//! Every new key is validated with its path; reloads with a bad one keep the old config.

use crate::common::*;

fn errors(yaml: &str) -> String {
    match fulcrum::config::parse(yaml) {
        Ok(_) => panic!("accepted:\n{yaml}"),
        Err(e) => e.to_string(),
    }
}

fn with_route(route: &str) -> String {
    format!(
        r#"listeners: [{{ address: "127.0.0.1:0" }}]
upstreams:
  web: {{ servers: [{{ address: "127.0.0.1:9001" }}] }}
  b: {{ servers: [{{ address: "127.0.0.1:9002" }}] }}
routes:
  - {route}
"#
    )
}

#[test]
fn bad_routes_are_named_with_path_and_line() {
    let cases: &[(&str, &str)] = &[
        (
            "{ match: { path: /x } }",
            "routes[0].upstream (line 6): a route needs one action",
        ),
        (
            "{ upstream: web, respond: { status: 200 } }",
            "exactly one of upstream, backends, redirect or respond",
        ),
        (
            "{ match: { path_regex: '^/users/([0-9]+$' }, upstream: web }",
            "routes[0].match.path_regex (line 6): invalid regex `^/users/([0-9]+$` at column 9: unclosed group",
        ),
        (
            "{ backends: [{ upstream: web, weight: 0 }, { upstream: b, weight: 0 }] }",
            "every weight is 0",
        ),
        (
            "{ backends: [{ upstream: web, weight: 1001 }] }",
            "routes[0].backends[0].weight (line 6): 1001 is out of range",
        ),
        (
            "{ backends: [{ upstream: nope, weight: 1 }] }",
            "unknown upstream `nope`",
        ),
        (
            "{ redirect: { path_prefix: /v2/ } }",
            "routes[0].redirect.path_prefix (line 6): needs match.path_prefix",
        ),
        (
            "{ redirect: { status: 200 } }",
            "routes[0].redirect.status (line 6): 200 is not 301, 302, 303, 307 or 308",
        ),
        ("{ redirect: { scheme: ftp } }", "`ftp` is not http or https"),
        (
            "{ upstream: web, request_headers: { set: { host: x } } }",
            "routes[0].request_headers.set.host (line 6): `host` is hop-by-hop or framing",
        ),
        (
            "{ upstream: web, request_headers: { set: { content-length: \"1\" } } }",
            "`content-length` is hop-by-hop or framing",
        ),
        (
            "{ upstream: web, response_headers: { add: { connection: close } } }",
            "`connection` is hop-by-hop or framing",
        ),
        (
            "{ upstream: web, request_headers: { set: { \"bad name\": x } } }",
            "`bad name` is not a valid header name",
        ),
        (
            "{ upstream: web, request_headers: { set: { x-a: \"a\\nb\" } } }",
            "routes[0].request_headers.set.x-a (line 6): not a valid header value",
        ),
        (
            "{ upstream: web, request_headers: { set: { x-a: \"${nope}\" } } }",
            "unknown placeholder ${nope}",
        ),
        (
            "{ upstream: web, request_headers: { set: { x-a: \"${request_id}\" } } }",
            "${request_id} needs the top-level request_id section",
        ),
        (
            "{ upstream: web, request_headers: { set: { x-a: \"5$\" } } }",
            "a lone `$`",
        ),
        (
            "{ upstream: web, mirror: { upstream: b, percent: 101 } }",
            "routes[0].mirror.percent (line 6): 101 is outside 0..=100",
        ),
        (
            "{ upstream: web, timeout: 5 }",
            "routes[0].timeout (line 6): `5` has no unit",
        ),
        (
            "{ upstream: web, compress: { algorithms: [lzma] } }",
            "`lzma` is not br, gzip or zstd",
        ),
        (
            "{ upstream: web, compress: { types: [html] } }",
            "`html` is not a media type",
        ),
        (
            "{ upstream: web, rewrite: { path_prefix: /x/ } }",
            "routes[0].rewrite.path_prefix (line 6): needs match.path_prefix",
        ),
        (
            "{ match: { path_prefix: /a/ }, upstream: web, strip_prefix: true, rewrite: { path_prefix: /b/ } }",
            "cannot be combined with a rewrite",
        ),
        (
            "{ respond: { status: 200 }, mirror: { upstream: b } }",
            "routes[0].mirror (line 6): only applies to a route that forwards",
        ),
        (
            "{ upstream: web, rate_limit: per_ip }",
            "routes[0].rate_limit (line 6): unknown rate limit `per_ip`; defined in rate_limits: none",
        ),
        (
            "{ match: { path: nope }, upstream: web }",
            "routes[0].match.path (line 6): `nope` must start with /",
        ),
    ];
    for (route, want) in cases {
        let got = errors(&with_route(route));
        assert!(got.contains(want), "{route}\nwant: {want}\ngot: {got}");
    }
    let long = format!("{{ match: {{ path_regex: '{}' }}, upstream: web }}", "a".repeat(1001));
    assert!(errors(&with_route(&long)).contains("longer than 1000 characters"));
}

#[tokio::test]
async fn a_reload_with_a_bad_route_keeps_the_old_config_serving() {
    let web = spawn_backend("web").await;
    let good = r#"
listeners: [{ address: "{LISTEN}" }]
upstreams:
  web: { servers: [{ address: "{b0}" }] }
routes:
  - upstream: web
"#;
    let lb = spawn_lb_file(good, &[&web]).await;
    let bad = good.replace("  - upstream: web", "  - { upstream: web, match: { path_regex: '(' } }");
    std::fs::write(&lb.path, fill(&bad, &[&web])).unwrap();
    let err = lb.handle.reload().await.expect_err("bad regex rejected").to_string();
    assert!(err.contains("path_regex"), "{err}");
    assert_eq!(send(&client(), lb.addr, "GET", "/", &[]).await.body, "web");
}
