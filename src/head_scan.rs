//! Spots a request head that carries both `Content-Length` and
//! `Transfer-Encoding`, which hyper quietly normalises (it drops the length,
//! reads chunked and closes afterwards) but SPEC §3 refuses with 400 before
//! anything reaches an upstream: the two framings are the classic request
//! smuggling vector, and a front end should not guess which one is meant.
//!
//! The downstream socket feeds it the bytes read while no request is in
//! flight. It looks only at the names at the start of each header line,
//! never at values, and stops at the blank line that ends the head: body
//! bytes that arrive in the same read are never taken for headers, and it
//! waits, scanning nothing, until the socket starts it on the next head
//! (after the response). Lines whose name cannot be either framing header
//! (the request line, most headers) are skipped to their end with `memchr`,
//! so the byte loop runs over a few names per head only.

const NAME_MAX: usize = 18;

/// How an HTTP/2 connection starts: its preface's first line.
const H2: &[u8] = crate::h2_guard::PREFACE.split_at(14).0;

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
    /// Bytes of the HTTP/2 preface matched so far while still undecided
    /// (the first read can end inside it).
    matched: u8,
    /// The head ended; bytes are ignored until `next_head`.
    waiting: bool,
}

/// What a feed learnt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The head has not ended (or nothing is being scanned).
    Pending,
    /// The head ended; `ambiguous` when it had both framing headers.
    Ended { ambiguous: bool },
}

impl HeadScan {
    /// Starts scanning the next request's head.
    pub fn next_head(&mut self) {
        let off = self.off;
        *self = Self {
            off,
            started: true,
            blank: true,
            ..Self::default()
        };
    }

    /// Scans nothing more on this connection (HTTP/2, or a tunnel).
    pub fn stop(&mut self) {
        self.off = true;
    }

    /// Feeds bytes read while no request is in flight.
    pub fn feed(&mut self, bytes: &[u8]) -> Verdict {
        if !self.started {
            let have = self.matched as usize;
            let n = (H2.len() - have).min(bytes.len());
            if bytes[..n] == H2[have..have + n] {
                self.matched += n as u8;
                if self.matched as usize == H2.len() {
                    self.started = true;
                    self.off = true;
                }
                // HTTP/2, or still undecided: the bytes are kept by `matched`
                return Verdict::Pending;
            }
            self.started = true;
            self.blank = true;
            // not HTTP/2 after all: the preface bytes matched so far were a head's start
            self.scan(&H2[..have]);
        }
        if self.off || self.waiting {
            return Verdict::Pending;
        }
        self.scan(bytes)
    }

    fn scan(&mut self, bytes: &[u8]) -> Verdict {
        let mut i = 0;
        while i < bytes.len() {
            if self.settled {
                // the rest of a settled line only matters for where it ends
                match memchr::memchr(b'\n', &bytes[i..]) {
                    Some(at) => i += at,
                    None => return Verdict::Pending,
                }
            }
            let b = bytes[i];
            i += 1;
            match b {
                b'\n' => {
                    if self.blank {
                        self.waiting = true;
                        return Verdict::Ended {
                            ambiguous: self.content_length && self.transfer_encoding,
                        };
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
                    // a name too long, or not starting as either framing
                    // header does (the request line, most headers), cannot
                    // match: the line is settled at once and skipped
                    let hopeless = self.len == NAME_MAX || (self.len == 0 && !matches!(b, b'c' | b'C' | b't' | b'T'));
                    if hopeless {
                        self.settled = true;
                    } else {
                        self.name[self.len] = b.to_ascii_lowercase();
                        self.len += 1;
                    }
                }
            }
        }
        Verdict::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds reads of one head; true when it ended ambiguous.
    fn scan(parts: &[&[u8]]) -> bool {
        let mut s = HeadScan::default();
        parts.iter().any(|p| s.feed(p) == Verdict::Ended { ambiguous: true })
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

    /// Found by the fuzzer (fuzz/, head_scan): a first read that ends inside
    /// the HTTP/2 preface made the rest be scanned as HTTP/1 heads.
    #[test]
    fn a_preface_cut_across_reads_is_still_http2() {
        let bytes = b"\0PRI * HTTP/2.0\x17\n::\x0e\n\xff\xff\xff\xff\xff\x7f\xff\xff6\xff~@\n\n";
        let bytes = &bytes[1..];
        for cut in 1..bytes.len() {
            let mut s = HeadScan::default();
            assert_eq!(s.feed(&bytes[..cut]), Verdict::Pending, "cut at {cut}");
            assert_eq!(s.feed(&bytes[cut..]), Verdict::Pending, "cut at {cut}");
        }
        // and a head that only starts like the preface is scanned whole
        assert!(scan(&[
            b"PRI * HT",
            b"TP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
        ]));
    }

    #[test]
    fn each_head_is_judged_alone_and_only_when_started() {
        let mut s = HeadScan::default();
        let head = b"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(s.feed(head), Verdict::Ended { ambiguous: false });
        // waiting: nothing is scanned until the next head is started
        assert_eq!(s.feed(b"Transfer-Encoding: chunked\r\n\r\n"), Verdict::Pending);
        s.next_head();
        let bad = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n";
        assert_eq!(s.feed(bad), Verdict::Ended { ambiguous: true });
        s.next_head();
        s.stop();
        assert_eq!(s.feed(bad), Verdict::Pending);
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
