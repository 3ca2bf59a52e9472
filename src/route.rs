//! Routing: the first route whose conditions all hold decides what happens.

use crate::config::{HostMatch, RouteConfig};
use http::{HeaderMap, Method};

/// The routes of one config snapshot, in order.
#[derive(Debug)]
pub struct Router {
    routes: Vec<RouteConfig>,
}

/// What a request looks like to the router.
pub struct RouteInput<'a> {
    pub method: &'a Method,
    /// Without port; compared case-insensitively.
    pub host: Option<&'a str>,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
}

impl Router {
    pub fn new(routes: Vec<RouteConfig>) -> Self {
        Self { routes }
    }

    /// The first matching route, or None (404).
    pub fn find(&self, req: &RouteInput<'_>) -> Option<&RouteConfig> {
        self.find_index(req).map(|i| &self.routes[i])
    }

    /// The index of the first matching route.
    pub fn find_index(&self, req: &RouteInput<'_>) -> Option<usize> {
        self.routes.iter().position(|r| matches(r, req))
    }
}

fn matches(r: &RouteConfig, req: &RouteInput<'_>) -> bool {
    if let Some(h) = &r.host {
        let Some(host) = req.host else { return false };
        let ok = match h {
            HostMatch::Exact(e) => host.eq_ignore_ascii_case(e),
            HostMatch::Suffix(s) => {
                host.len() > s.len() && host.as_bytes()[host.len() - s.len()..].eq_ignore_ascii_case(s.as_bytes())
            }
        };
        if !ok {
            return false;
        }
    }
    if let Some(p) = &r.path_prefix {
        if !req.path.starts_with(p.as_str()) {
            return false;
        }
    }
    if r.path.as_ref().is_some_and(|p| p != req.path) {
        return false;
    }
    if !r.methods.is_empty() && !r.methods.contains(req.method) {
        return false;
    }
    if r.path_regex.as_ref().is_some_and(|re| !re.is_match(req.path)) {
        return false;
    }
    if !r.query.is_empty() && !query_matches(&r.query, req.query) {
        return false;
    }
    r.headers
        .iter()
        .all(|(name, value)| req.headers.get_all(name).iter().any(|v| v == value))
}

/// Whether every `(name, value)` is among the query's parameters (decoded).
fn query_matches(wanted: &[(String, String)], query: Option<&str>) -> bool {
    let Some(query) = query else { return false };
    wanted.iter().all(|(name, value)| {
        form_urlencoded::parse(query.as_bytes()).any(|(n, v)| n == name.as_str() && v == value.as_str())
    })
}

/// The request's host without port: the `Host` header, else the URI authority (HTTP/2).
pub fn request_host<'a>(headers: &'a HeaderMap, uri: &'a http::Uri) -> Option<&'a str> {
    let raw = match headers.get(http::header::HOST).and_then(|v| v.to_str().ok()) {
        Some(h) => h,
        None => uri.authority()?.as_str(),
    };
    Some(strip_port(raw))
}

/// `host` without a trailing `:port` (`[v6]:port` keeps its brackets).
pub fn strip_port(host: &str) -> &str {
    let b = host.as_bytes();
    if b.first() == Some(&b'[') {
        return match b.iter().position(|&c| c == b']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match b.iter().rposition(|&c| c == b':') {
        Some(colon) if b[colon + 1..].iter().all(u8::is_ascii_digit) => &host[..colon],
        _ => host,
    }
}

/// The port a `Host` value names (`a.example:8080`, `[::1]:8443`), if any.
pub fn host_port(host: &str) -> Option<u16> {
    host.get(strip_port(host).len()..)?.strip_prefix(':')?.parse().ok()
}

/// `path_and_query` with `prefix` removed from the path; the result always starts with `/`.
pub fn strip_prefix(path_and_query: &str, prefix: &str) -> String {
    let rest = path_and_query.strip_prefix(prefix).unwrap_or(path_and_query);
    if rest.starts_with('/') {
        rest.to_string()
    } else {
        format!("/{rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderValue, Uri};

    fn route(label: &str, host: Option<HostMatch>, prefix: Option<&str>) -> RouteConfig {
        RouteConfig {
            label: label.into(),
            host,
            path_prefix: prefix.map(str::to_string),
            path: None,
            path_regex: None,
            query: vec![],
            headers: vec![],
            methods: vec![],
            action: crate::config::Action::Upstream(0),
            strip_prefix: false,
            policy: Default::default(),
        }
    }

    fn find<'a>(
        r: &'a Router,
        method: &Method,
        host: Option<&str>,
        path: &str,
        headers: &HeaderMap,
    ) -> Option<&'a str> {
        let (path, query) = path.split_once('?').map_or((path, None), |(p, q)| (p, Some(q)));
        r.find(&RouteInput {
            method,
            host,
            path,
            query,
            headers,
        })
        .map(|r| r.label.as_str())
    }

    #[test]
    fn first_match_wins_with_hosts_and_prefixes() {
        let mut canary = route("canary", None, Some("/api/"));
        canary.headers = vec![("x-canary".parse().unwrap(), HeaderValue::from_static("1"))];
        canary.methods = vec![Method::GET];
        let r = Router::new(vec![
            route("exact", Some(HostMatch::Exact("api.example.com".into())), Some("/api/")),
            route("wild", Some(HostMatch::Suffix(".example.com".into())), None),
            canary,
            route("any", None, Some("/")),
        ]);
        let h = HeaderMap::new();
        let g = Method::GET;
        assert_eq!(find(&r, &g, Some("API.example.com"), "/api/x", &h), Some("exact"));
        assert_eq!(find(&r, &g, Some("api.example.com"), "/web", &h), Some("wild"));
        assert_eq!(find(&r, &g, Some("a.b.example.com"), "/", &h), Some("wild"));
        assert_eq!(
            find(&r, &g, Some("example.com"), "/", &h),
            Some("any"),
            "bare domain is not *.example.com"
        );
        let mut with = HeaderMap::new();
        with.insert("x-canary", HeaderValue::from_static("1"));
        assert_eq!(find(&r, &g, Some("other"), "/api/v", &with), Some("canary"));
        assert_eq!(find(&r, &Method::POST, Some("other"), "/api/v", &with), Some("any"));
        assert_eq!(find(&r, &g, None, "/api/v", &h), Some("any"));
        assert_eq!(find(&r, &g, None, "nope", &h), None);
    }

    #[test]
    fn exact_path_regex_and_query_conditions() {
        let mut exact = route("exact", None, None);
        exact.path = Some("/login".into());
        let mut re = route("re", None, None);
        re.path_regex = Some(regex::Regex::new("^/users/[0-9]+$").unwrap());
        let mut q = route("q", None, Some("/api/"));
        q.query = vec![("version".into(), "2".into()), ("a b".into(), "c".into())];
        let r = Router::new(vec![exact, re, q, route("any", None, None)]);
        let (g, h) = (Method::GET, HeaderMap::new());
        assert_eq!(find(&r, &g, None, "/login", &h), Some("exact"));
        assert_eq!(
            find(&r, &g, None, "/login?x=1", &h),
            Some("exact"),
            "the query is not the path"
        );
        assert_eq!(find(&r, &g, None, "/login/", &h), Some("any"));
        assert_eq!(find(&r, &g, None, "/users/42", &h), Some("re"));
        assert_eq!(find(&r, &g, None, "/users/42x", &h), Some("any"));
        assert_eq!(find(&r, &g, None, "/api/x?version=2&a+b=c", &h), Some("q"));
        assert_eq!(find(&r, &g, None, "/api/x?a%20b=c&version=2", &h), Some("q"));
        assert_eq!(find(&r, &g, None, "/api/x?version=3&a+b=c", &h), Some("any"));
        assert_eq!(find(&r, &g, None, "/api/x", &h), Some("any"));
    }

    #[test]
    fn host_comes_from_header_or_authority_without_port() {
        let mut h = HeaderMap::new();
        let uri: Uri = "http://b.example:8443/x".parse().unwrap();
        assert_eq!(request_host(&h, &uri), Some("b.example"));
        h.insert("host", HeaderValue::from_static("a.example:8080"));
        assert_eq!(request_host(&h, &uri), Some("a.example"));
        h.insert("host", HeaderValue::from_static("[::1]:80"));
        assert_eq!(request_host(&h, &uri), Some("[::1]"));
        assert_eq!(host_port("[::1]:80"), Some(80));
        assert_eq!(host_port("[::1]"), None);
        assert_eq!(host_port("a.example:8080"), Some(8080));
        assert_eq!(host_port("a.example"), None);
    }

    #[test]
    fn strip_prefix_keeps_a_leading_slash_and_query() {
        assert_eq!(strip_prefix("/api/users?x=1", "/api/"), "/users?x=1");
        assert_eq!(strip_prefix("/api/", "/api/"), "/");
        assert_eq!(strip_prefix("/api", "/api"), "/");
        assert_eq!(strip_prefix("/apix/y", "/api"), "/x/y");
    }
}
