//! `rewrite`: the path and host the upstream is sent. The client never sees
//! them, and `X-Forwarded-Host` (set before any policy) keeps its host.

use super::stage::OnRequest;
use crate::config::{PathRewrite, Rewrite};
use crate::proxy::ReqBody;
use http::uri::PathAndQuery;
use http::{header, Request, Uri};

/// The path (without query) the upstream gets instead of `path`.
pub fn path(rule: &PathRewrite, path: &str) -> String {
    let out = match rule {
        PathRewrite::Prefix(matched, with) => match path.strip_prefix(matched.as_str()) {
            Some(rest) if with.ends_with('/') && rest.starts_with('/') => format!("{with}{}", &rest[1..]),
            Some(rest) => format!("{with}{rest}"),
            None => path.to_string(),
        },
        PathRewrite::Regex(re, with) => re.replace(path, with.as_str()).into_owned(),
    };
    if out.starts_with('/') {
        out
    } else {
        format!("/{out}")
    }
}

/// Rewrites `uri`'s path, keeping its query; None when the result is not a valid path.
fn rewrite_uri(rule: &PathRewrite, uri: &Uri) -> Option<Uri> {
    let new = path(rule, uri.path());
    let pq = match uri.query() {
        Some(q) => format!("{new}?{q}"),
        None => new,
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(pq).ok()?);
    Uri::from_parts(parts).ok()
}

/// `rewrite`, as a request stage.
pub struct Rewriter(pub Rewrite);

impl Rewriter {
    /// Rewrites the path and `Host` of a request head.
    pub fn apply(&self, uri: &mut Uri, headers: &mut http::HeaderMap) {
        if let Some(rule) = &self.0.path {
            if let Some(new) = rewrite_uri(rule, uri) {
                *uri = new;
            }
        }
        if let Some(host) = &self.0.host {
            headers.insert(header::HOST, host.clone());
        }
    }
}

impl OnRequest for Rewriter {
    fn on_request(&self, req: &mut Request<ReqBody>) {
        // the URI is taken out for the call, so both parts can be edited
        let mut uri = std::mem::take(req.uri_mut());
        self.apply(&mut uri, req.headers_mut());
        *req.uri_mut() = uri;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_and_regex_rewrites() {
        let p = PathRewrite::Prefix("/app/".into(), "/internal/".into());
        assert_eq!(path(&p, "/app/x/y"), "/internal/x/y");
        assert_eq!(path(&p, "/app/"), "/internal/");
        let root = PathRewrite::Prefix("/app/".into(), "/".into());
        assert_eq!(path(&root, "/app/x"), "/x");
        let re = PathRewrite::Regex(regex::Regex::new("^/old/(.*)$").unwrap(), "/new/$1".into());
        assert_eq!(path(&re, "/old/a/b"), "/new/a/b");
        assert_eq!(path(&re, "/other"), "/other");
        let named = PathRewrite::Regex(regex::Regex::new("^/u/(?P<id>[0-9]+)$").unwrap(), "users/${id}".into());
        assert_eq!(path(&named, "/u/42"), "/users/42", "a leading / is kept");
        let uri: Uri = "/old/x?q=1".parse().unwrap();
        assert_eq!(rewrite_uri(&re, &uri).unwrap(), "/new/x?q=1");
    }
}
