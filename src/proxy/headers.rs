//! Header rewriting between downstream and upstream: hop-by-hop removal and
//! the X-Forwarded-* headers. Works in place on the request's own map.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use std::net::IpAddr;

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// The headers that are hop-by-hop in themselves (a header `Connection`
/// names is hop-by-hop too, but only that message says so).
fn fixed_hop_by_hop() -> [&'static HeaderName; 7] {
    [
        &header::CONNECTION,
        &header::TE,
        &header::TRAILER,
        &header::TRANSFER_ENCODING,
        &header::UPGRADE,
        &KEEP_ALIVE,
        &PROXY_CONNECTION,
    ]
}

/// Whether `name` is hop-by-hop in itself (never forwarded, never set by a header rule).
pub fn is_hop_by_hop(name: &HeaderName) -> bool {
    fixed_hop_by_hop().contains(&name)
}

/// [`is_hop_by_hop`] for a name in lowercase bytes, as read off the wire.
pub fn is_hop_by_hop_bytes(name: &[u8]) -> bool {
    fixed_hop_by_hop().iter().any(|h| h.as_str().as_bytes() == name)
}

/// Removes `Connection`, every header it names, and the fixed hop-by-hop set.
/// One pass over the names (no hashing, no allocation) marks which are
/// present; only those are removed. `Connection: keep-alive` / `close`, the
/// usual case, costs one removal.
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    remove_present(headers, hop_by_hop_present(headers));
}

/// Bit `i` set: `fixed_hop_by_hop()[i]` is present.
fn hop_by_hop_present(headers: &HeaderMap) -> u8 {
    let fixed = fixed_hop_by_hop();
    let mut present = 0u8;
    for k in headers.keys() {
        if let Some(i) = fixed.iter().position(|f| *f == k) {
            present |= 1 << i;
        }
    }
    present
}

/// The bit of `TE` in [`hop_by_hop_present`].
const TE_BIT: u8 = 1 << 1;

fn remove_present(headers: &mut HeaderMap, present: u8) {
    let fixed = fixed_hop_by_hop();
    if present == 0 {
        return;
    }
    if present & 1 != 0 {
        remove_connection_named(headers);
    }
    // bit 0, `Connection`, went with the headers it names
    for (i, name) in fixed.iter().enumerate().skip(1) {
        if present & (1 << i) != 0 {
            headers.remove(*name);
        }
    }
}

/// Removes `Connection` and the headers it names, in one lookup.
fn remove_connection_named(headers: &mut HeaderMap) {
    let header::Entry::Occupied(entry) = headers.entry(header::CONNECTION) else {
        return;
    };
    let mut named: Vec<HeaderName> = Vec::new();
    for value in entry.remove_entry_mult().1 {
        // the usual whole values are settled before any tokenising
        if names_no_header(value.as_bytes()) {
            continue;
        }
        for token in value.to_str().unwrap_or("").split(',').map(str::trim) {
            if names_no_header(token.as_bytes()) {
                continue;
            }
            if let Ok(name) = HeaderName::from_bytes(token.as_bytes()) {
                named.push(name);
            }
        }
    }
    for name in named {
        headers.remove(name);
    }
}

/// Whether a `Connection` value names no header besides the fixed
/// hop-by-hop set (`keep-alive`, `close`, or nothing): dropping the header
/// alone then removes all it asks for.
pub fn names_no_other_header(value: &[u8]) -> bool {
    value.split(|&b| b == b',').all(|t| names_no_header(t.trim_ascii()))
}

/// A `Connection` token that names no header to remove: empty, `close`, or
/// `keep-alive` (which goes with the fixed set).
fn names_no_header(token: &[u8]) -> bool {
    token.is_empty() || token.eq_ignore_ascii_case(b"keep-alive") || token.eq_ignore_ascii_case(b"close")
}

/// The client's address as a header value, made once per connection.
#[derive(Debug, Clone)]
pub struct ClientAddr {
    pub ip: IpAddr,
    /// `ip` as a header value.
    pub value: HeaderValue,
}

impl ClientAddr {
    pub fn new(ip: IpAddr) -> Self {
        let value =
            HeaderValue::from_maybe_shared(bytes::Bytes::from(ip.to_string())).expect("an IP is a header value");
        Self { ip, value }
    }
}

/// The client behind trusted proxies (SPEC §2.5): walking `X-Forwarded-For`
/// from the right, the first entry that is not a trusted proxy. An entry
/// that is not an address ends the walk at the last valid one, so garbage
/// counts for nothing; when every entry is trusted, the leftmost is taken.
/// `connection` is the address the request came from (itself trusted).
pub fn forwarded_client(headers: &HeaderMap, connection: IpAddr, trusted: &crate::ipset::IpSet) -> IpAddr {
    let mut client = connection;
    let values = headers.get_all(&X_FORWARDED_FOR).iter().rev();
    for entry in values.filter_map(|v| v.to_str().ok()).flat_map(|v| v.rsplit(',')) {
        let Some(ip) = parse_entry(entry.trim()) else {
            break;
        };
        client = ip;
        if !trusted.contains(ip) {
            break;
        }
    }
    client
}

/// An `X-Forwarded-For` entry: an address, maybe with a port (`1.2.3.4:80`, `[::1]:80`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse() {
        return Some(ip);
    }
    entry.parse::<std::net::SocketAddr>().ok().map(|a| a.ip())
}

/// Whether the client accepts trailers (`TE: trailers`), which an HTTP/2
/// upstream such as a gRPC server requires to be passed on.
fn wants_trailers(headers: &HeaderMap) -> bool {
    has_token(headers, header::TE, "trailers")
}

/// Whether any `name` header lists `token` (comma-separated, case-insensitive),
/// as `Connection: upgrade` or `Cache-Control: no-transform` do.
pub fn has_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Prepares a request's headers for the upstream: hop-by-hop removed, `Host`
/// kept (or set from the URI authority for HTTP/2), cookies joined into one
/// header, the client address appended to `X-Forwarded-For` when the peer is
/// a trusted proxy (replacing it otherwise), and `X-Forwarded-Proto` /
/// `X-Forwarded-Host` set. Returns whether the client asked for trailers
/// (`TE: trailers`), which an HTTP/2 upstream is then told again.
pub fn prepare_request(
    headers: &mut HeaderMap,
    authority: Option<&str>,
    client: &ClientAddr,
    trusted: bool,
    proto: &'static str,
) -> bool {
    let present = hop_by_hop_present(headers);
    let te_trailers = present & TE_BIT != 0 && wants_trailers(headers);
    remove_present(headers, present);
    let host = match headers.get(header::HOST) {
        Some(host) => Some(host.clone()),
        None => authority.and_then(|a| HeaderValue::from_str(a).ok()).inspect(|value| {
            headers.insert(header::HOST, value.clone());
        }),
    };
    if let Some(host) = host {
        headers.insert(X_FORWARDED_HOST.clone(), host);
    }
    join_cookies(headers);
    let prior: Vec<&str> = if trusted {
        headers
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    } else {
        Vec::new()
    };
    let value = if prior.is_empty() {
        client.value.clone()
    } else {
        let chain = format!("{}, {}", prior.join(", "), client.ip);
        HeaderValue::from_str(&chain).unwrap_or_else(|_| client.value.clone())
    };
    headers.insert(X_FORWARDED_FOR.clone(), value);
    headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static(proto));
    te_trailers
}

/// HTTP/2 may split cookies over several headers; HTTP/1.1 wants one.
fn join_cookies(headers: &mut HeaderMap) {
    let mut all = headers.get_all(header::COOKIE).iter();
    if all.next().is_none() || all.next().is_none() {
        return;
    }
    let joined: Vec<&[u8]> = headers.get_all(header::COOKIE).iter().map(|v| v.as_bytes()).collect();
    if let Ok(value) = HeaderValue::from_bytes(&joined.join(&b"; "[..])) {
        headers.insert(header::COOKIE, value);
    }
}

/// A `Content-Length` number: 1 to 19 ASCII digits, nothing else.
pub fn decimal(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(value.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')))
}

/// One `Content-Length` value (a list of equal numbers is one number),
/// checked against the previous one.
pub fn content_length(value: &[u8], previous: Option<u64>) -> Result<u64, &'static str> {
    let mut found = previous;
    for part in value.split(|&b| b == b',') {
        let n = decimal(part.trim_ascii()).ok_or("invalid Content-Length")?;
        if found.is_some_and(|f| f != n) {
            return Err("conflicting Content-Length values");
        }
        found = Some(n);
    }
    found.ok_or("invalid Content-Length")
}

/// Whether a comma-separated header value lists `token` (any case).
pub fn lists_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_the_rightmost_untrusted_forwarded_address() {
        let trusted = crate::ipset::IpSet::new(&[crate::config::Cidr::parse("10.0.0.0/8").unwrap()]);
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        let client = |xff: &[&str]| {
            let mut h = HeaderMap::new();
            for v in xff {
                h.append(&X_FORWARDED_FOR, v.parse().unwrap());
            }
            forwarded_client(&h, peer, &trusted).to_string()
        };
        assert_eq!(client(&[]), "10.0.0.1", "no header: the connection");
        assert_eq!(client(&["203.0.113.7"]), "203.0.113.7");
        assert_eq!(
            client(&["1.1.1.1, 203.0.113.7, 10.0.0.9"]),
            "203.0.113.7",
            "proxies set aside"
        );
        assert_eq!(
            client(&["1.1.1.1", "203.0.113.7, 10.0.0.9"]),
            "203.0.113.7",
            "over several headers"
        );
        assert_eq!(
            client(&["203.0.113.7, garbage, 10.0.0.9"]),
            "10.0.0.9",
            "garbage ends the walk"
        );
        assert_eq!(client(&["10.0.0.5, 10.0.0.9"]), "10.0.0.5", "all trusted: the leftmost");
        assert_eq!(client(&["[2001:db8::1]:443"]), "2001:db8::1");
    }

    fn ip(s: &str) -> ClientAddr {
        ClientAddr::new(s.parse().unwrap())
    }

    #[test]
    fn hop_by_hop_and_connection_named_headers_go() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("connection", "keep-alive, X-Secret"),
            ("x-secret", "1"),
            ("keep-alive", "timeout=5"),
            ("proxy-connection", "keep-alive"),
            ("te", "trailers"),
            ("trailer", "x"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("x-keep", "yes"),
        ] {
            h.append(k, v.parse().unwrap());
        }
        remove_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(h["x-keep"], "yes");
    }

    #[test]
    fn forwarded_headers_replace_and_host_is_kept() {
        let mut h = HeaderMap::new();
        h.insert("host", "a.example:8080".parse().unwrap());
        h.insert("x-forwarded-for", "6.6.6.6".parse().unwrap());
        h.append("cookie", "a=1".parse().unwrap());
        h.append("cookie", "b=2".parse().unwrap());
        prepare_request(&mut h, Some("ignored"), &ip("10.0.0.9"), false, "http");
        assert_eq!(h["host"], "a.example:8080");
        assert_eq!(h["x-forwarded-host"], "a.example:8080");
        assert_eq!(h["x-forwarded-for"], "10.0.0.9");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h.get_all("cookie").iter().collect::<Vec<_>>(), ["a=1; b=2"]);
    }

    #[test]
    fn a_trusted_proxy_gets_the_client_appended() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.2.3.4, 5.6.7.8".parse().unwrap());
        prepare_request(&mut h, None, &ip("10.0.0.9"), true, "http");
        assert_eq!(h["x-forwarded-for"], "1.2.3.4, 5.6.7.8, 10.0.0.9");
        let mut fresh = HeaderMap::new();
        prepare_request(&mut fresh, None, &ip("10.0.0.9"), true, "http");
        assert_eq!(fresh["x-forwarded-for"], "10.0.0.9");
    }

    #[test]
    fn host_from_authority_for_http2() {
        let mut h = HeaderMap::new();
        prepare_request(&mut h, Some("b.example"), &ip("::1"), false, "http");
        assert_eq!(h["host"], "b.example");
        assert_eq!(h["x-forwarded-for"], "::1");
    }
}
