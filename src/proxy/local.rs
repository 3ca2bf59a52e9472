//! Answers fulcrum gives without an upstream: `redirect` and `respond`.

use super::facts::Facts;
use super::ProxyBody;
use crate::config::{Redirect, RedirectPath, Respond};
use http::{header, HeaderValue, Response, Uri};

/// A fixed response.
pub fn respond(r: &Respond) -> Response<ProxyBody> {
    let mut resp = Response::new(ProxyBody::text(r.body.clone()));
    *resp.status_mut() = r.status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, r.content_type.clone());
    for (name, value) in &r.headers {
        h.append(name.clone(), value.clone());
    }
    resp
}

/// A redirect to the absolute `Location` that `r` makes of this request.
pub fn redirect(r: &Redirect, facts: &Facts, uri: &Uri) -> Response<ProxyBody> {
    let location = location(
        r,
        facts.scheme,
        facts.host_name(),
        facts.host_port(),
        uri,
        facts.route().path_prefix.as_deref(),
    );
    let mut resp = Response::new(ProxyBody::text(format!("{} {location}\n", r.status)));
    *resp.status_mut() = r.status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(header::LOCATION, v);
    }
    resp
}

/// The `Location` of a redirect (SPEC §2.2): each part not given is kept
/// from the request; the port is left out when it is the scheme's default.
pub fn location(
    r: &Redirect,
    scheme: &str,
    host: Option<&str>,
    port: Option<u16>,
    uri: &Uri,
    match_prefix: Option<&str>,
) -> String {
    let scheme = r.scheme.as_deref().unwrap_or(scheme);
    let host = r.host.as_deref().or(host).unwrap_or("localhost");
    // a new scheme brings its default port; otherwise the request's is kept
    let port = r.port.or(if r.scheme.is_some() { None } else { port });
    let default = if scheme == "https" { 443 } else { 80 };
    let port = port
        .filter(|p| *p != default)
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    let (path, query) = match &r.path {
        None => (uri.path().to_string(), uri.query()),
        Some(RedirectPath::Full(p)) => (p.clone(), uri.query()),
        Some(RedirectPath::Prefix(p)) => {
            let rest = match_prefix.and_then(|m| uri.path().strip_prefix(m)).unwrap_or("");
            let joined = match (p.ends_with('/'), rest.starts_with('/')) {
                (true, true) => format!("{p}{}", &rest[1..]),
                _ => format!("{p}{rest}"),
            };
            (joined, uri.query())
        }
    };
    // a `?` in the configured path replaces the query
    let query = match query {
        Some(q) if !path.contains('?') => format!("?{q}"),
        _ => String::new(),
    };
    format!("{scheme}://{host}{port}{path}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    fn r(scheme: Option<&str>, host: Option<&str>, port: Option<u16>, path: Option<RedirectPath>) -> Redirect {
        Redirect {
            scheme: scheme.map(str::to_string),
            host: host.map(str::to_string),
            port,
            path,
            status: StatusCode::FOUND,
        }
    }

    fn loc(r: &Redirect, port: Option<u16>, uri: &str) -> String {
        location(r, "http", Some("a.example"), port, &uri.parse().unwrap(), Some("/old/"))
    }

    #[test]
    fn each_part_is_kept_or_replaced() {
        let https = r(Some("https"), None, None, None);
        assert_eq!(
            loc(&https, Some(8080), "/x?q=1"),
            "https://a.example/x?q=1",
            "new scheme, default port"
        );
        assert_eq!(
            loc(&r(None, None, None, None), Some(8080), "/x"),
            "http://a.example:8080/x"
        );
        assert_eq!(loc(&r(None, None, None, None), Some(80), "/x"), "http://a.example/x");
        assert_eq!(
            loc(&r(None, Some("b.example"), None, None), None, "/x"),
            "http://b.example/x"
        );
        assert_eq!(
            loc(&r(Some("https"), None, Some(8443), None), None, "/"),
            "https://a.example:8443/"
        );
        assert_eq!(
            loc(&r(Some("https"), None, Some(443), None), None, "/"),
            "https://a.example/"
        );
        let full = r(None, None, None, Some(RedirectPath::Full("/new".into())));
        assert_eq!(loc(&full, None, "/old/x?q=1"), "http://a.example/new?q=1");
        let full_q = r(None, None, None, Some(RedirectPath::Full("/new?a=b".into())));
        assert_eq!(loc(&full_q, None, "/old/x?q=1"), "http://a.example/new?a=b");
        let prefix = r(None, None, None, Some(RedirectPath::Prefix("/v2/".into())));
        assert_eq!(
            loc(&prefix, None, "/old/users/7?q=1"),
            "http://a.example/v2/users/7?q=1"
        );
        let bare = r(None, None, None, Some(RedirectPath::Prefix("/".into())));
        assert_eq!(loc(&bare, None, "/old/"), "http://a.example/");
    }
}
