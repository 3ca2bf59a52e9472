//! Decoding a chunked response body (RFC 9112 §7.1) from the connection's
//! read buffer, strictly: a size line is hex digits, optionally extensions
//! after `;`, ended by CRLF (a bare LF, a sign, a space inside the number or
//! a size past 64 bits is an error); chunk data must be followed by CRLF;
//! trailer fields are parsed like headers and passed on.

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};

/// The longest size line (with extensions) and trailer section accepted.
const MAX_LINE: usize = 4096;
const MAX_TRAILERS: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Size,
    Data(u64),
    DataEnd,
    Trailers,
    Ended,
}

/// Where the decoder is in the body.
#[derive(Debug)]
pub struct Decoder {
    phase: Phase,
}

/// The next thing the buffer holds.
#[derive(Debug)]
pub enum Out {
    Data(Bytes),
    Trailers(HeaderMap),
    /// The body has ended (after its trailers, if any).
    End,
    /// More bytes are needed.
    More,
}

impl Default for Decoder {
    fn default() -> Self {
        Self { phase: Phase::Size }
    }
}

impl Decoder {
    /// Takes what it can from `buf`.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Out, &'static str> {
        loop {
            match self.phase {
                Phase::Size => {
                    let Some(size) = size_line(buf)? else {
                        return Ok(Out::More);
                    };
                    self.phase = if size == 0 { Phase::Trailers } else { Phase::Data(size) };
                }
                Phase::Data(left) => {
                    if buf.is_empty() {
                        return Ok(Out::More);
                    }
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                    let left = left - take as u64;
                    self.phase = if left == 0 { Phase::DataEnd } else { Phase::Data(left) };
                    return Ok(Out::Data(buf.split_to(take).freeze()));
                }
                Phase::DataEnd => {
                    if buf.len() < 2 {
                        return Ok(Out::More);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err("chunk data not followed by CRLF");
                    }
                    buf.advance(2);
                    self.phase = Phase::Size;
                }
                Phase::Trailers => {
                    let Some(trailers) = trailers(buf)? else {
                        return Ok(Out::More);
                    };
                    self.phase = Phase::Ended;
                    if !trailers.is_empty() {
                        return Ok(Out::Trailers(trailers));
                    }
                }
                Phase::Ended => return Ok(Out::End),
            }
        }
    }
}

/// A whole size line at the start of `buf`, consumed: the chunk's size.
fn size_line(buf: &mut BytesMut) -> Result<Option<u64>, &'static str> {
    let window = &buf[..buf.len().min(MAX_LINE)];
    let Some(lf) = memchr::memchr(b'\n', window) else {
        return if buf.len() >= MAX_LINE {
            Err("chunk size line too long")
        } else {
            Ok(None)
        };
    };
    if lf == 0 || window[lf - 1] != b'\r' {
        return Err("chunk size line not ended by CRLF");
    }
    let line = &window[..lf - 1];
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 16 {
        return Err("invalid chunk size");
    }
    let size = line[..digits].iter().fold(0u64, |n, &d| (n << 4) | hex(d));
    let rest = &line[digits..];
    let ext = rest.trim_ascii_start();
    let valid_ext = rest.is_empty()
        || (ext.first() == Some(&b';')
            && ext
                .iter()
                .all(|&b| b == b'\t' || (b' '..0x7f).contains(&b) || b >= 0x80));
    if !valid_ext {
        return Err("invalid chunk size");
    }
    buf.advance(lf + 1);
    Ok(Some(size))
}

fn hex(d: u8) -> u64 {
    u64::from(match d {
        b'0'..=b'9' => d - b'0',
        b'a'..=b'f' => d - b'a' + 10,
        _ => d - b'A' + 10,
    })
}

/// The trailer section after the last chunk, consumed (empty when there
/// are no trailer fields), or `None` until its blank line has arrived.
fn trailers(buf: &mut BytesMut) -> Result<Option<HeaderMap>, &'static str> {
    if buf.len() >= 2 && &buf[..2] == b"\r\n" {
        buf.advance(2);
        return Ok(Some(HeaderMap::new()));
    }
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let (len, fields) = match httparse::parse_headers(buf, &mut slots) {
        Ok(httparse::Status::Complete(done)) => done,
        Ok(httparse::Status::Partial) if buf.len() < MAX_TRAILERS => return Ok(None),
        _ => return Err("invalid trailer section"),
    };
    let mut map = HeaderMap::with_capacity(fields.len());
    for f in fields {
        let name = HeaderName::from_bytes(f.name.as_bytes()).map_err(|_| "invalid trailer name")?;
        let value = HeaderValue::from_bytes(f.value).map_err(|_| "invalid trailer value")?;
        map.append(name, value);
    }
    buf.advance(len);
    Ok(Some(map))
}

#[cfg(test)]
#[path = "chunked_tests.rs"]
mod tests;
