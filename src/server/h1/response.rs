//! Writing a response for fulcrum's own HTTP/1 server, framed by the rules
//! hyper's server applies, so a client sees the same bytes whichever server
//! answered (the requests here are all `GET` in HTTP/1.1, see `request`):
//!
//! - a `Content-Length` the response carries frames its body; a body that
//!   knows its length and carries none gets one; an empty body is
//!   `content-length: 0`; any other body is chunked;
//! - 1xx, 204 and 304 answers carry no body and get no length;
//! - `Connection: close` closes the connection after the body;
//! - `date` is added when missing, from a clock read once a second;
//! - trailers are sent only when chunked and named in a `Trailer` header.

use crate::proxy::client::Lines;
use bytes::Bytes;
use http::header::{self, HeaderName};
use http::{HeaderMap, StatusCode};
use std::cell::RefCell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How the body goes on the wire.
#[derive(Debug, PartialEq, Eq)]
pub enum Framing {
    /// This many bytes are still to be written.
    Length(u64),
    /// Chunked, with the trailer names the `Trailer` header allowed.
    Chunked(Option<Vec<HeaderName>>),
}

/// The body's length as the response's body reports it (hyper's `BodyLength`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    /// The body has already ended.
    Empty,
    Known(u64),
    Unknown,
}

/// Appends the head of a response to `out`; None (nothing appended) for a
/// head hyper would refuse too (a `Content-Length` that is not a number, or
/// two that differ): the connection then closes unanswered. The bool: the
/// connection closes after this response: it said `close`, or `closing`
/// (the server drains), which adds `close` as hyper does.
pub fn head(
    status: StatusCode,
    reason: Option<&[u8]>,
    (lines, headers): (Option<&Lines>, &HeaderMap),
    body: Length,
    closing: bool,
    out: &mut Vec<u8>,
) -> Option<(Framing, bool)> {
    if status.is_informational() {
        // hyper answers a service's 1xx with a bodiless 500 and closes
        out.extend_from_slice(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n");
        date(out);
        return Some((Framing::Length(0), true));
    }
    let start = out.len();
    status_line(status, reason, out);
    let bodied = !matches!(status, StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED);
    let (mut framing, mut close, mut wrote_date) = (None, false, false);
    if let Some(lines) = lines {
        // an upstream's lines, as the map would have been written (see
        // `client::h1::lines`); the map holds what fulcrum added
        out.extend_from_slice(&lines.bytes);
        wrote_date = lines.date;
    }
    // `Connection` and `Trailer` values go on one line each (hyper's way)
    let (mut connection, mut trailer_line): (Option<Vec<u8>>, Option<Vec<u8>>) = (None, None);
    let mut trailers: Option<Vec<HeaderName>> = None;
    for (name, value) in headers {
        match *name {
            header::CONTENT_LENGTH => {
                let n = match body {
                    // no body to send: the length goes (hyper's rule)
                    Length::Empty => continue,
                    Length::Known(n) => n,
                    Length::Unknown => match (crate::proxy::decimal(value.as_bytes()), &framing) {
                        (Some(n), Some(Framing::Length(m))) if n == *m => continue,
                        (Some(n), None) => n,
                        _ => {
                            out.truncate(start);
                            return None;
                        }
                    },
                };
                if framing.is_some() {
                    continue;
                }
                framing = Some(Framing::Length(n));
            }
            header::TRANSFER_ENCODING if !bodied => continue,
            header::TRANSFER_ENCODING => {
                // the body is framed by fulcrum: chunked, whatever the value said
                if !matches!(framing, Some(Framing::Chunked(_))) {
                    framing = Some(Framing::Chunked(None));
                    out.extend_from_slice(b"transfer-encoding: chunked\r\n");
                }
                continue;
            }
            header::CONNECTION => {
                close |= crate::proxy::lists_token(value.as_bytes(), b"close");
                joined(&mut connection, value.as_bytes());
                continue;
            }
            header::DATE => wrote_date = true,
            header::TRAILER if !bodied => continue,
            header::TRAILER => {
                trailers.get_or_insert_with(Vec::new).extend(
                    value
                        .as_bytes()
                        .split(|&b| b == b',')
                        .filter_map(|n| HeaderName::from_bytes(n.trim_ascii()).ok()),
                );
                joined(&mut trailer_line, value.as_bytes());
                continue;
            }
            _ => {}
        }
        line(name.as_str().as_bytes(), value.as_bytes(), out);
    }
    if closing && !close {
        joined(&mut connection, b"close");
        close = true;
    }
    if let Some(values) = connection {
        line(b"connection", &values, out);
    }
    if let Some(values) = trailer_line {
        line(b"trailer", &values, out);
    }
    let framing = match framing {
        _ if !bodied => Framing::Length(0),
        Some(Framing::Chunked(_)) => Framing::Chunked(trailers),
        Some(framing) => framing,
        None => match body {
            Length::Empty | Length::Known(0) => {
                out.extend_from_slice(b"content-length: 0\r\n");
                Framing::Length(0)
            }
            Length::Known(n) => {
                line(b"content-length", itoa::Buffer::new().format(n).as_bytes(), out);
                Framing::Length(n)
            }
            Length::Unknown => {
                out.extend_from_slice(b"transfer-encoding: chunked\r\n");
                Framing::Chunked(trailers)
            }
        },
    };
    if !wrote_date {
        date(out);
    }
    out.extend_from_slice(b"\r\n");
    Some((framing, close))
}

fn status_line(status: StatusCode, reason: Option<&[u8]>, out: &mut Vec<u8>) {
    if status == StatusCode::OK && reason.is_none() {
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        return;
    }
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    let canonical = status.canonical_reason().unwrap_or("<none>").as_bytes();
    out.extend_from_slice(reason.unwrap_or(canonical));
    out.extend_from_slice(b"\r\n");
}

/// Adds a value to a comma-joined line.
fn joined(line: &mut Option<Vec<u8>>, value: &[u8]) {
    match line {
        Some(values) => {
            values.extend_from_slice(b", ");
            values.extend_from_slice(value);
        }
        None => *line = Some(value.to_vec()),
    }
}

fn line(name: &[u8], value: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Appends a data frame in `framing`; the bytes past a declared length are
/// dropped, as hyper does.
pub fn data(framing: &mut Framing, data: &Bytes, out: &mut Vec<u8>) {
    match framing {
        Framing::Length(left) => {
            let n = data.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
            out.extend_from_slice(&data[..n]);
            *left -= n as u64;
        }
        Framing::Chunked(_) if data.is_empty() => {}
        Framing::Chunked(_) => {
            out.extend_from_slice(format!("{:X}\r\n", data.len()).as_bytes());
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Appends the end of the body; false when a declared length was not met
/// (the connection must close: the client sees the body cut short).
pub fn end(framing: &Framing, trailers: Option<&HeaderMap>, out: &mut Vec<u8>) -> bool {
    match framing {
        Framing::Length(left) => *left == 0,
        Framing::Chunked(allowed) => {
            out.extend_from_slice(b"0\r\n");
            if let (Some(allowed), Some(trailers)) = (allowed, trailers) {
                for (name, value) in trailers {
                    if allowed.contains(name) && trailer_field(name) {
                        line(name.as_str().as_bytes(), value.as_bytes(), out);
                    }
                }
            }
            out.extend_from_slice(b"\r\n");
            true
        }
    }
}

/// Fields hyper never sends as trailers.
fn trailer_field(name: &HeaderName) -> bool {
    !matches!(
        *name,
        header::AUTHORIZATION
            | header::CACHE_CONTROL
            | header::CONTENT_ENCODING
            | header::CONTENT_LENGTH
            | header::CONTENT_RANGE
            | header::CONTENT_TYPE
            | header::HOST
            | header::MAX_FORWARDS
            | header::SET_COOKIE
            | header::TRAILER
            | header::TRANSFER_ENCODING
            | header::TE
    )
}

/// The `date` line, rendered at most once a second per thread.
fn date(out: &mut Vec<u8>) {
    thread_local!(static CACHED: RefCell<(u64, [u8; 29])> = const { RefCell::new((u64::MAX, [0; 29])) });
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    CACHED.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != secs {
            let rendered = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs));
            cached.1.copy_from_slice(&rendered.as_bytes()[..29]);
            cached.0 = secs;
        }
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(&cached.1);
        out.extend_from_slice(b"\r\n");
    });
}

/// The reason phrase an upstream sent, when hyper's client kept it (not the canonical one).
pub fn reason(ext: &http::Extensions) -> Option<&[u8]> {
    ext.get::<hyper::ext::ReasonPhrase>().map(|r| r.as_bytes())
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
