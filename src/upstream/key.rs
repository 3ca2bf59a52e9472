//! Extracting a hash key from a request, per `hash.key` source.

use crate::config::KeySource;
use http::HeaderMap;
use std::borrow::Cow;
use std::net::IpAddr;

/// The parts of a request a key can come from.
pub struct KeyInput<'a> {
    pub headers: &'a HeaderMap,
    /// Path without query.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub host: Option<&'a str>,
    pub client_ip: IpAddr,
}

/// The key for `source`, or None when the request does not carry it (or it is empty).
pub fn extract<'a>(source: &KeySource, req: &KeyInput<'a>) -> Option<Cow<'a, [u8]>> {
    let found: Option<Cow<'a, [u8]>> = match source {
        KeySource::Header(name) => req.headers.get(name).map(|v| Cow::Borrowed(v.as_bytes())),
        KeySource::Cookie(name) => req
            .headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| pair(v, ';', name))
            .map(|v| Cow::Borrowed(v.as_bytes())),
        KeySource::Query(name) => req
            .query
            .and_then(|q| pair(q, '&', name))
            .map(|v| Cow::Borrowed(v.as_bytes())),
        KeySource::Path => Some(Cow::Borrowed(req.path.as_bytes())),
        KeySource::Host => req.host.map(|h| Cow::Borrowed(h.as_bytes())),
        KeySource::ClientIp => Some(Cow::Owned(req.client_ip.to_string().into_bytes())),
    };
    found.filter(|k| !k.is_empty())
}

/// The value of `name` in a `sep`-separated list of `name=value` pairs (cookies, query).
fn pair<'a>(list: &'a str, sep: char, name: &str) -> Option<&'a str> {
    list.split(sep).find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k.trim() == name).then(|| v.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn key(source: &str, input: &KeyInput<'_>) -> Option<String> {
        let s = crate::config::key_source(source).unwrap();
        extract(&s, input).map(|k| String::from_utf8(k.into_owned()).unwrap())
    }

    #[test]
    fn every_source() {
        let mut headers = HeaderMap::new();
        headers.insert("x-user", HeaderValue::from_static("alice"));
        headers.append("cookie", HeaderValue::from_static("a=1; sid=s-9"));
        headers.append("cookie", HeaderValue::from_static("late=2"));
        let input = KeyInput {
            headers: &headers,
            path: "/p/q",
            query: Some("x=1&tenant=acme&e="),
            host: Some("h.example"),
            client_ip: "10.1.2.3".parse().unwrap(),
        };
        assert_eq!(key("header:x-user", &input).as_deref(), Some("alice"));
        assert_eq!(key("header:x-none", &input), None);
        assert_eq!(key("cookie:sid", &input).as_deref(), Some("s-9"));
        assert_eq!(key("cookie:late", &input).as_deref(), Some("2"));
        assert_eq!(key("cookie:si", &input), None);
        assert_eq!(key("query:tenant", &input).as_deref(), Some("acme"));
        assert_eq!(key("query:e", &input), None, "an empty value counts as missing");
        assert_eq!(key("path", &input).as_deref(), Some("/p/q"));
        assert_eq!(key("host", &input).as_deref(), Some("h.example"));
        assert_eq!(key("client_ip", &input).as_deref(), Some("10.1.2.3"));
    }
}
