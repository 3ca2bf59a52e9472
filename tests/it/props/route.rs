//! Route matching is "the first route whose conditions all hold" for any
//! list of routes and any request, restated here condition by condition.

use fulcrum::route::{RouteInput, Router};
use http::{HeaderMap, Method};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Cond {
    host: Option<&'static str>,
    prefix: Option<&'static str>,
    path: Option<&'static str>,
    methods: Vec<&'static str>,
}

fn cond() -> impl Strategy<Value = Cond> {
    (
        prop::option::of(prop::sample::select(&["a.test", "*.a.test", "B.test"][..])),
        prop::option::of(prop::sample::select(&["/", "/api", "/api/v1", "/b"][..])),
        prop::option::of(prop::sample::select(&["/api", "/x"][..])),
        prop::sample::subsequence(&["GET", "POST"][..], 0..=2),
    )
        .prop_map(|(host, prefix, path, methods)| Cond {
            host,
            prefix,
            path,
            methods,
        })
}

fn yaml(routes: &[Cond]) -> String {
    let mut out = String::from("listeners: [{ address: \"127.0.0.1:0\" }]\nupstreams: { p: { servers: [{ address: \"127.0.0.1:1\" }] } }\nroutes:\n");
    for r in routes {
        let mut m = Vec::new();
        if let Some(h) = r.host {
            m.push(format!("host: \"{h}\""));
        }
        if let Some(p) = r.prefix {
            m.push(format!("path_prefix: \"{p}\""));
        }
        if let Some(p) = r.path {
            m.push(format!("path: \"{p}\""));
        }
        if !r.methods.is_empty() {
            m.push(format!("methods: [{}]", r.methods.join(", ")));
        }
        out.push_str(&format!("  - {{ match: {{ {} }}, upstream: p }}\n", m.join(", ")));
    }
    out
}

/// The SPEC's rule for one route.
fn holds(r: &Cond, method: &str, host: Option<&str>, path: &str) -> bool {
    let host_ok = match r.host {
        None => true,
        Some(want) => host.is_some_and(|h| match want.strip_prefix('*') {
            Some(suffix) => h.len() > suffix.len() && h.to_ascii_lowercase().ends_with(&suffix.to_ascii_lowercase()),
            None => h.eq_ignore_ascii_case(want),
        }),
    };
    host_ok
        && r.prefix.is_none_or(|p| path.starts_with(p))
        && r.path.is_none_or(|p| p == path)
        && (r.methods.is_empty() || r.methods.contains(&method))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn the_first_route_whose_conditions_all_hold_wins(
        routes in prop::collection::vec(cond(), 1..6),
        method in prop::sample::select(&["GET", "POST", "PUT"][..]),
        host in prop::option::of(prop::sample::select(&["a.test", "x.a.test", "X.A.TEST", "b.test", ".a.test"][..])),
        path in prop::sample::select(&["/", "/api", "/api/v1/x", "/apix", "/b", "/x"][..]),
    ) {
        let config = fulcrum::config::parse(&yaml(&routes)).expect("generated routes load");
        let router = Router::new(config.routes);
        let headers = HeaderMap::new();
        let method_v = Method::from_bytes(method.as_bytes()).unwrap();
        let input = RouteInput { method: &method_v, host, path, query: None, headers: &headers };
        let want = routes.iter().position(|r| holds(r, method, host, path));
        prop_assert_eq!(router.find_index(&input), want);
    }
}
