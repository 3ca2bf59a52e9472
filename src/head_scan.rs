//! Spots a request head that carries both `Content-Length` and
//! `Transfer-Encoding`, which hyper quietly normalises (it drops the length,
//! reads chunked and closes afterwards) but SPEC §3 refuses with 400 before
//! anything reaches an upstream: the two framings are the classic request
//! smuggling vector, and a front end should not guess which one is meant.
//!
//! The downstream socket feeds it the bytes read while no request is in
//! flight (the head of the next request); it looks only at the names at the
//! start of each header line, never at values, so it costs a byte loop over
//! the head and nothing over bodies.

const NAME_MAX: usize = 18;

/// Line-by-line state across reads.
#[derive(Debug, Default)]
pub struct HeadScan {
    /// The current line's first bytes, lowercased.
    name: [u8; NAME_MAX],
    len: usize,
    /// The current line reached its colon (or was too long to matter).
    settled: bool,
    /// The current line has only had `\r` so far.
    blank: bool,
    content_length: bool,
    transfer_encoding: bool,
    /// An HTTP/2 connection: nothing to scan.
    off: bool,
    started: bool,
}

impl HeadScan {
    /// Feeds bytes of a head; returns true when a head ended that had both headers.
    pub fn feed(&mut self, bytes: &[u8]) -> bool {
        if !self.started {
            self.started = true;
            self.blank = true;
            self.off = bytes.starts_with(b"PRI * HTTP/2.0");
        }
        if self.off {
            return false;
        }
        let mut ambiguous = false;
        for &b in bytes {
            match b {
                b'\n' => {
                    if self.blank {
                        ambiguous |= self.content_length && self.transfer_encoding;
                        self.content_length = false;
                        self.transfer_encoding = false;
                    }
                    self.len = 0;
                    self.settled = false;
                    self.blank = true;
                }
                b'\r' => {}
                b':' if !self.settled => {
                    self.settled = true;
                    self.blank = false;
                    match &self.name[..self.len] {
                        b"content-length" => self.content_length = true,
                        b"transfer-encoding" => self.transfer_encoding = true,
                        _ => {}
                    }
                }
                _ => {
                    self.blank = false;
                    if !self.settled {
                        if self.len == NAME_MAX {
                            self.settled = true;
                        } else {
                            self.name[self.len] = b.to_ascii_lowercase();
                            self.len += 1;
                        }
                    }
                }
            }
        }
        ambiguous
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(parts: &[&[u8]]) -> bool {
        let mut s = HeadScan::default();
        parts.iter().fold(false, |seen, p| s.feed(p) | seen)
    }

    #[test]
    fn both_framings_in_either_order_and_split_across_reads() {
        assert!(scan(&[
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        ]));
        assert!(scan(&[
            b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\nCONTENT-LENGTH: 5\r\n\r\n"
        ]));
        assert!(scan(&[
            b"POST / HTTP/1.1\r\nTransfer-Enc",
            b"oding: chunked\r\nContent-Length: 5\r",
            b"\n\r\n"
        ]));
    }

    #[test]
    fn one_framing_or_names_inside_values_pass() {
        assert!(!scan(&[b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"]));
        assert!(!scan(&[
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        ]));
        assert!(!scan(&[
            b"GET / HTTP/1.1\r\nX-Note: content-length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
        ]));
        // the flags reset at each head's end
        assert!(!scan(&[
            b"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\nGET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        ]));
        assert!(!scan(&[
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\ncontent-length:\r\ntransfer-encoding:\r\n\r\n"
        ]));
    }
}
