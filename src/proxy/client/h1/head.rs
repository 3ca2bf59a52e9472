//! The request head fulcrum writes and the response head it reads, with the
//! message framing of RFC 9112 §6.3 decided once, strictly: anything that
//! could let the upstream and fulcrum disagree on where a response ends is
//! an error (the request fails with 502 and the connection is closed),
//! never a guess.
//!
//! - `HEAD` requests, 1xx, 204 and 304 have no body whatever the headers say;
//! - `Transfer-Encoding` must be exactly `chunked`, in an HTTP/1.1 response
//!   without `Content-Length` (other codings cannot be forwarded: TE is
//!   hop-by-hop);
//! - `Content-Length` values (several headers, or a list) must be digits and
//!   all equal;
//! - otherwise the body runs to the end of the connection.

use super::lines;
pub use super::lines::Lines;
use crate::proxy::{content_length, header_name, lists_token, names_no_other_header};
use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Version};

/// The most response headers accepted (hyper's default, the old path's).
const MAX_HEADERS: usize = 100;

/// Heads are first parsed with room for this many headers, and again with
/// room for [`MAX_HEADERS`] only when that is too few: preparing 100 slots
/// for every response cost ~400 instructions, more than parsing its head.
const FEW_HEADERS: usize = 24;

const TOO_MANY: &str = "more than 100 response headers";

/// How the response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Exactly this many bytes (0 for the bodiless cases).
    Length(u64),
    Chunked,
    /// Until the upstream closes the connection.
    Close,
}

/// A parsed final response head.
#[derive(Debug)]
pub struct Head {
    pub status: StatusCode,
    pub version: Version,
    /// Empty when the lines are passed through instead.
    pub headers: HeaderMap,
    /// The header lines to pass through as they came (see [`Lines`]).
    pub lines: Option<Lines>,
    pub framing: Framing,
    /// The connection may carry another request after this response.
    pub reuse: bool,
}

/// What the bytes read so far hold.
#[derive(Debug)]
pub enum Parsed {
    /// Not a whole head yet.
    Partial,
    /// An interim (1xx) response this long, to skip.
    Interim(usize),
    /// The final head and its length.
    Final(Head, usize),
}

/// Writes the request line and headers into `out` (cleared first): origin
/// form, `Host` from the URI's authority when the headers have none.
pub fn encode<B>(out: &mut Vec<u8>, req: &Request<B>) {
    out.clear();
    out.extend_from_slice(req.method().as_str().as_bytes());
    out.push(b' ');
    let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    out.extend_from_slice(if target.is_empty() { b"/" } else { target.as_bytes() });
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let headers = req.headers();
    if !headers.contains_key(HOST) {
        if let Some(authority) = req.uri().authority() {
            out.extend_from_slice(b"host: ");
            out.extend_from_slice(authority.as_str().as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    let payload = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH);
    if payload && !headers.contains_key(CONTENT_LENGTH) {
        // an empty body said explicitly, as hyper did: such methods expect one
        out.extend_from_slice(b"content-length: 0\r\n");
    }
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Parses a response head at the start of `buf`; `head_request` when the
/// request was `HEAD`. The header values share one copy of the head's
/// bytes; or, when `pass`, the header lines pass through as they came
/// ([`Head::lines`], the map left empty; see [`Lines`]).
pub fn parse_for(buf: &[u8], head_request: bool, pass: bool) -> Result<Parsed, &'static str> {
    match parse_with(buf, head_request, pass, &mut [httparse::EMPTY_HEADER; FEW_HEADERS]) {
        Err(TOO_MANY) => parse_with(buf, head_request, pass, &mut [httparse::EMPTY_HEADER; MAX_HEADERS]),
        parsed => parsed,
    }
}

/// What the framing headers said.
pub(super) struct Said {
    pub length: Option<u64>,
    pub chunked: bool,
    pub close: bool,
}

impl Said {
    /// Nothing said yet: an HTTP/1.0 response closes unless told otherwise.
    pub fn new(http10: bool) -> Self {
        Self {
            length: None,
            chunked: false,
            close: http10,
        }
    }

    /// Notes a `Connection` value's `close`; true when it names nothing
    /// but the fixed hop-by-hop set, so that dropping it removes all it
    /// asks for (it is hop-by-hop itself).
    pub fn connection(&mut self, value: &[u8]) -> bool {
        self.close |= lists_token(value, b"close");
        names_no_other_header(value)
    }

    /// `Transfer-Encoding` must be `chunked`, once.
    pub fn transfer_encoding(&mut self, value: &[u8]) -> Result<(), &'static str> {
        if self.chunked || !value.trim_ascii().eq_ignore_ascii_case(b"chunked") {
            return Err("unsupported Transfer-Encoding");
        }
        self.chunked = true;
        Ok(())
    }
}

fn parse_with<'b>(
    buf: &'b [u8],
    head_request: bool,
    pass: bool,
    slots: &mut [httparse::Header<'b>],
) -> Result<Parsed, &'static str> {
    let mut resp = httparse::Response::new(slots);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(Parsed::Partial),
        Err(httparse::Error::TooManyHeaders) => return Err(TOO_MANY),
        Err(_) => return Err("malformed response head"),
    };
    let code = resp.code.unwrap_or(0);
    let status = StatusCode::from_u16(code).map_err(|_| "invalid status code")?;
    if status == StatusCode::SWITCHING_PROTOCOLS {
        return Err("101 without an upgrade request");
    }
    if status.is_informational() {
        return Ok(Parsed::Interim(len));
    }
    let version = if resp.version == Some(1) {
        Version::HTTP_11
    } else {
        Version::HTTP_10
    };
    let http10 = version == Version::HTTP_10;
    let passed = if pass { lines::pass(resp.headers, http10)? } else { None };
    let (headers, lines, said) = match passed {
        Some((lines, said)) => (HeaderMap::new(), Some(lines), said),
        None => {
            let (headers, said) = map(&buf[..len], resp.headers, http10)?;
            (headers, None, said)
        }
    };
    let bodiless = head_request || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
    let framing = match (bodiless, said.chunked, said.length) {
        (true, _, _) => Framing::Length(0),
        (false, true, Some(_)) => return Err("both Transfer-Encoding and Content-Length"),
        (false, true, None) if http10 => return Err("Transfer-Encoding in an HTTP/1.0 response"),
        (false, true, None) => Framing::Chunked,
        (false, false, Some(n)) => Framing::Length(n),
        (false, false, None) => Framing::Close,
    };
    let reuse = !said.close && framing != Framing::Close;
    Ok(Parsed::Final(
        Head {
            status,
            version,
            headers,
            lines,
            framing,
            reuse,
        },
        len,
    ))
}

/// The headers as a map; the values share one copy of `head`, the bytes
/// they were parsed from.
fn map(head: &[u8], parsed: &[httparse::Header<'_>], http10: bool) -> Result<(HeaderMap, Said), &'static str> {
    let base = head.as_ptr() as usize;
    let copy = Bytes::copy_from_slice(head);
    let mut headers = HeaderMap::with_capacity(parsed.len());
    let mut said = Said::new(http10);
    for h in parsed {
        let name = header_name(h.name.as_bytes()).map_err(|_| "invalid header name")?;
        let raw = h.value;
        if name == TRANSFER_ENCODING {
            said.transfer_encoding(raw)?;
            // hop-by-hop, and said again by `framing`: never forwarded
            continue;
        }
        // naming nothing else, the proxy would remove it at once (one
        // lookup and one removal a response)
        if name == CONNECTION && said.connection(raw) {
            continue;
        }
        let start = raw.as_ptr() as usize - base;
        let value =
            HeaderValue::from_maybe_shared(copy.slice(start..start + raw.len())).map_err(|_| "invalid header value")?;
        if name == CONTENT_LENGTH {
            said.length = Some(content_length(raw, said.length)?);
        }
        headers.append(name, value);
    }
    Ok((headers, said))
}

#[cfg(test)]
#[path = "head_tests.rs"]
mod tests;
