//! Reading one request head for fulcrum's own HTTP/1 server: which requests
//! it takes, and the `http::Request` it builds from them.
//!
//! It takes only the plain case: a complete `GET` in HTTP/1.1, origin form,
//! with no header that frames a body or changes the connection
//! (`Content-Length`, `Transfer-Encoding`, `Upgrade`, `Expect`, `TE`, a
//! `Connection` other than `keep-alive`), within the head limits. Anything
//! else, including every malformed head, is *not ours*: the bytes go to
//! hyper unread, which answers it as before (its 400s and 431s, bodies,
//! upgrades, `100-continue`). The head is parsed with `httparse`, hyper's own
//! parser, and the header values share the head's bytes, as in hyper.

use crate::proxy::ReqBody;
use bytes::{Bytes, BytesMut};
use http::header::HeaderValue;
use http::{HeaderMap, Method, Request, Uri, Version};

/// Header slots tried first; a head with more is parsed again with the limit's.
const FEW_HEADERS: usize = 24;

/// Headers the proxy adds to most requests, room kept for them.
const ADDED: usize = 6;

/// What the buffer holds.
#[allow(clippy::large_enum_variant)] // returned and matched at once, never stored
pub enum Head {
    /// Not a whole head yet.
    Partial,
    /// A request of the kind this server takes, its bytes taken from the buffer.
    Ours(Request<ReqBody>),
    /// Anything else: hyper reads it from these bytes.
    Theirs,
}

/// Where a header's name and value lie in the head.
#[derive(Clone, Copy, Default)]
pub struct Span {
    name: (usize, usize),
    value: (usize, usize),
}

/// A whole head of the kind taken: its length and where its path lies.
struct Found {
    len: usize,
    path: (usize, usize),
}

/// Reads the head at the start of `buf` (at most `max_bytes` long, with at
/// most `max_headers` lines); `spans` is scratch space kept by the connection.
pub fn read(buf: &mut BytesMut, max_bytes: usize, max_headers: usize, spans: &mut Vec<Span>) -> Head {
    let few = FEW_HEADERS.min(max_headers);
    let scanned = match scan(buf, &mut [httparse::EMPTY_HEADER; FEW_HEADERS][..few], spans) {
        Err(httparse::Error::TooManyHeaders) if max_headers > few => {
            scan(buf, &mut vec![httparse::EMPTY_HEADER; max_headers], spans)
        }
        scanned => scanned,
    };
    match scanned {
        Ok(None) if buf.len() < max_bytes => Head::Partial,
        Ok(Some(found)) if found.len <= max_bytes => build(buf, found.len, found.path, spans),
        _ => Head::Theirs,
    }
}

/// Parses the head and checks that it is ours: its length and the path's
/// span, with `spans` filled; None while partial; an error for any head that
/// is not ours.
fn scan<'b>(
    buf: &'b [u8],
    slots: &mut [httparse::Header<'b>],
    spans: &mut Vec<Span>,
) -> Result<Option<Found>, httparse::Error> {
    let mut req = httparse::Request::new(slots);
    let len = match req.parse(buf)? {
        httparse::Status::Complete(len) => len,
        httparse::Status::Partial => return Ok(None),
    };
    let path = req.path.unwrap_or_default();
    if req.method != Some("GET") || req.version != Some(1) || !path.starts_with('/') {
        return Err(httparse::Error::Version);
    }
    let base = buf.as_ptr() as usize;
    let at = |s: &[u8]| (s.as_ptr() as usize - base, s.len());
    spans.clear();
    for h in req.headers.iter() {
        if !plain_header(h.name.as_bytes(), h.value) {
            return Err(httparse::Error::HeaderName);
        }
        spans.push(Span {
            name: at(h.name.as_bytes()),
            value: at(h.value),
        });
    }
    Ok(Some(Found {
        len,
        path: at(path.as_bytes()),
    }))
}

/// Whether a header leaves the request a plain bodiless one on a
/// keep-alive connection.
fn plain_header(name: &[u8], value: &[u8]) -> bool {
    match name.len() {
        2 => !name.eq_ignore_ascii_case(b"te"),
        6 => !name.eq_ignore_ascii_case(b"expect"),
        7 => !name.eq_ignore_ascii_case(b"upgrade"),
        10 => !name.eq_ignore_ascii_case(b"connection") || value.eq_ignore_ascii_case(b"keep-alive"),
        14 => !name.eq_ignore_ascii_case(b"content-length"),
        17 => !name.eq_ignore_ascii_case(b"transfer-encoding"),
        _ => true,
    }
}

/// Takes the head's bytes from `buf` and builds the request; a name, value
/// or path `http` refuses gives the bytes back, for hyper.
fn build(buf: &mut BytesMut, len: usize, path: (usize, usize), spans: &[Span]) -> Head {
    let head = buf.split_to(len).freeze();
    let slice = |(start, n): (usize, usize)| head.slice(start..start + n);
    let built = (|| {
        let uri = Uri::from_maybe_shared(slice(path)).ok()?;
        // room for the headers the proxy adds (`X-Forwarded-*`, a request
        // ID) without growing the map; hyper reuses its last request's map
        let mut headers = HeaderMap::with_capacity(spans.len() + ADDED);
        for span in spans {
            let (start, n) = span.name;
            let name = crate::proxy::header_name(&head[start..start + n]).ok()?;
            // httparse has checked the value's bytes, as hyper relies on
            let value = HeaderValue::from_maybe_shared(slice(span.value)).ok()?;
            headers.append(name, value);
        }
        Some((uri, headers))
    })();
    let Some((uri, headers)) = built else {
        give_back(buf, head);
        return Head::Theirs;
    };
    let mut req = Request::new(ReqBody::empty());
    *req.method_mut() = Method::GET;
    *req.uri_mut() = uri;
    *req.version_mut() = Version::HTTP_11;
    *req.headers_mut() = headers;
    Head::Ours(req)
}

/// Puts a head taken from the buffer back in front of what followed it.
fn give_back(buf: &mut BytesMut, head: Bytes) {
    let mut whole = BytesMut::with_capacity(head.len() + buf.len());
    whole.extend_from_slice(&head);
    whole.extend_from_slice(buf);
    *buf = whole;
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
