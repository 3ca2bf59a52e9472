//! An upstream response's header lines passed through to the client as
//! they came, instead of built into an `http::HeaderMap` and written out
//! again: building the map, dropping it and writing it cost about 2,500
//! instructions of a proxied request's 25,000 (callgrind), more than any
//! other piece of the request path.
//!
//! Only a response on its way to fulcrum's own HTTP/1 server (`server::h1`)
//! on a route that neither reads nor edits response headers takes this way
//! (`Facts::pass_head` decides); the client is asked for it per request.
//! The lines are what the map would have held, written as the server
//! would write the map: names in lowercase, `name: value`, the framing
//! headers and the hop-by-hop ones left out (`Content-Length` goes out
//! from the body's length, as for a map). The only difference a client
//! can see is order: a map puts repeats of a name next to the first, the
//! lines keep the upstream's order. A `Connection` header that names other
//! headers to remove makes the map the way (`pass` gives None).

use super::head::Said;
use crate::proxy::{content_length, is_hop_by_hop_bytes};
use bytes::Bytes;

/// Header lines to write as they are.
#[derive(Debug, Clone)]
pub struct Lines {
    /// `name: value\r\n` lines.
    pub bytes: Bytes,
    /// A `Date` line is among them.
    pub date: bool,
}

/// What a name is to the lines.
enum Kind {
    ContentLength,
    TransferEncoding,
    Connection,
    /// Hop-by-hop in itself (never forwarded).
    HopByHop,
    Date,
    Other,
}

/// A lowercase name's kind.
fn kind(name: &[u8]) -> Kind {
    match name {
        b"content-length" => Kind::ContentLength,
        b"transfer-encoding" => Kind::TransferEncoding,
        b"connection" => Kind::Connection,
        b"date" => Kind::Date,
        _ if is_hop_by_hop_bytes(name) => Kind::HopByHop,
        _ => Kind::Other,
    }
}

/// The lines of `parsed` and what its framing headers said; None when a
/// `Connection` header names other headers (the map's removal handles those).
pub(super) fn pass(parsed: &[httparse::Header<'_>], http10: bool) -> Result<Option<(Lines, Said)>, &'static str> {
    let room: usize = parsed.iter().map(|h| h.name.len() + h.value.len() + 4).sum();
    let mut out = Vec::with_capacity(room);
    let mut said = Said::new(http10);
    let mut date = false;
    for h in parsed {
        let at = out.len();
        // httparse has checked the name is a token and the value's bytes
        out.extend(h.name.bytes().map(|b| b.to_ascii_lowercase()));
        let value = h.value;
        let keep = match kind(&out[at..]) {
            Kind::ContentLength => {
                said.length = Some(content_length(value, said.length)?);
                false
            }
            Kind::TransferEncoding => {
                said.transfer_encoding(value)?;
                false
            }
            Kind::Connection => {
                if !said.connection(value) {
                    return Ok(None);
                }
                false
            }
            Kind::HopByHop => false,
            Kind::Date => {
                date = true;
                true
            }
            Kind::Other => true,
        };
        if keep {
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        } else {
            out.truncate(at);
        }
    }
    let lines = Lines {
        bytes: Bytes::from(out),
        date,
    };
    Ok(Some((lines, said)))
}
