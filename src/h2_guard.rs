//! Control-frame flood guard for downstream HTTP/2 connections.
//!
//! hyper's HTTP/2 server (the `h2` crate) answers every SETTINGS with an ACK
//! and every PING with a PONG, and applies every PRIORITY, however many a
//! client sends: a client that only sends those frames keeps a worker busy
//! and delays every other connection on it (a shared 2-core machine's good
//! client went from 4 ms to 69 ms p99 under one such connection). Rapid
//! Reset and CONTINUATION floods are the `h2` crate's own to cut (pending
//! reset streams, header list size), and are tested, not handled here.
//!
//! The downstream socket feeds every byte read on an HTTP/2 connection to a
//! [`FrameGuard`], which walks the frame headers (9 bytes each, payloads
//! skipped unread) and charges SETTINGS, PING (not their ACKs) and PRIORITY
//! frames to a token bucket: [`BURST`] at once, [`PER_SECOND`] sustained,
//! far above what clients send (gRPC keepalives ping every 10 s or so). A
//! connection past it is closed, counted as
//! `fulcrum_requests_rejected_total{reason="h2_flood"}`.

use crate::upstream::now_ns;

/// Control frames a connection may send at once.
pub const BURST: u32 = 1000;
/// Control frames a connection may send per second, sustained.
pub const PER_SECOND: u64 = 100;

/// The client connection preface every HTTP/2 connection starts with.
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const PRIORITY: u8 = 0x2;
const HEADERS: u8 = 0x1;
const ACK: u8 = 0x1;

/// The error a flooding connection's read fails with.
#[derive(Debug, thiserror::Error)]
#[error("HTTP/2 control-frame flood: more than {BURST} SETTINGS/PING/PRIORITY frames at once or {PER_SECOND} a second")]
pub struct Flood;

/// Where one connection's byte stream stands among its frames.
#[derive(Debug)]
pub struct FrameGuard {
    /// Preface bytes still to check.
    preface: usize,
    /// The bytes were not a preface after all: nothing to guard.
    off: bool,
    header: [u8; 9],
    have: usize,
    /// Payload bytes of the current frame still to skip.
    payload: usize,
    tokens: u32,
    refilled_ns: u64,
    /// The clock (a test's own in tests).
    now: fn() -> u64,
}

impl Default for FrameGuard {
    fn default() -> Self {
        Self {
            preface: PREFACE.len(),
            off: false,
            header: [0; 9],
            have: 0,
            payload: 0,
            tokens: BURST,
            refilled_ns: now_ns(),
            now: now_ns,
        }
    }
}

impl FrameGuard {
    /// Whether a connection whose first read is `first` may be HTTP/2: the
    /// bytes agree with the preface as far as they go.
    pub fn may_be_h2(first: &[u8]) -> bool {
        let n = first.len().min(PREFACE.len());
        first[..n] == PREFACE[..n]
    }

    /// False once the bytes turned out not to be HTTP/2.
    pub fn on(&self) -> bool {
        !self.off
    }

    /// Walks bytes read from the client (the preface first). Ok(true) when
    /// they may begin a request: they hold preface bytes or a HEADERS
    /// frame's header, or were not HTTP/2 after all. A client's PING,
    /// SETTINGS ACK or WINDOW_UPDATE on an idle connection begins none, so
    /// it leaves the connection idle (not timed as a head being read).
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<bool, Flood> {
        let n = self.preface.min(bytes.len());
        let at = PREFACE.len() - self.preface;
        if self.off || bytes[..n] != PREFACE[at..at + n] {
            self.off = true;
            return Ok(true);
        }
        self.preface -= n;
        let mut head = n > 0;
        bytes = &bytes[n..];
        while !bytes.is_empty() {
            if self.payload > 0 {
                let n = self.payload.min(bytes.len());
                self.payload -= n;
                bytes = &bytes[n..];
                continue;
            }
            let n = (9 - self.have).min(bytes.len());
            self.header[self.have..self.have + n].copy_from_slice(&bytes[..n]);
            self.have += n;
            bytes = &bytes[n..];
            if self.have == 9 {
                self.have = 0;
                let h = self.header;
                self.payload = u32::from_be_bytes([0, h[0], h[1], h[2]]) as usize;
                let control = matches!(h[3], SETTINGS | PING) && h[4] & ACK == 0 || h[3] == PRIORITY;
                if control {
                    self.charge()?;
                }
                head |= h[3] == HEADERS;
            }
        }
        Ok(head)
    }

    /// Takes one token, refilling by the time passed when none is left.
    fn charge(&mut self) -> Result<(), Flood> {
        if self.tokens == 0 {
            let now = (self.now)();
            let per_token = 1_000_000_000 / PER_SECOND;
            let earned = now.saturating_sub(self.refilled_ns) / per_token;
            if earned == 0 {
                return Err(Flood);
            }
            self.tokens = earned.min(BURST as u64) as u32;
            self.refilled_ns += earned * per_token;
        }
        self.tokens -= 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, len: usize) -> Vec<u8> {
        let mut out = (len as u32).to_be_bytes()[1..].to_vec();
        out.extend_from_slice(&[kind, flags, 0, 0, 0, 0]);
        out.extend(std::iter::repeat_n(0xAA, len));
        out
    }

    #[test]
    fn a_burst_passes_and_a_flood_is_cut_however_the_bytes_are_split() {
        let mut stream = PREFACE.to_vec();
        for _ in 0..BURST {
            stream.extend(frame(PING, 0, 8));
        }
        // ACKs, data and headers cost nothing, payloads are skipped unread
        stream.extend(frame(SETTINGS, ACK, 0));
        stream.extend(frame(0x0, 0, 16_000));
        stream.extend(frame(0x1, 0x4, 300));
        for chunk in [1, 7, 9, 4096] {
            let mut g = FrameGuard {
                now: || 0, // no time passes
                refilled_ns: 0,
                ..FrameGuard::default()
            };
            for piece in stream.chunks(chunk) {
                g.feed(piece).unwrap();
            }
            assert!(g.feed(&frame(PRIORITY, 0, 5)).is_err(), "chunks of {chunk}");
        }
    }

    #[test]
    fn what_is_not_a_preface_is_not_guarded() {
        assert!(FrameGuard::may_be_h2(b"PRI * HT"));
        assert!(!FrameGuard::may_be_h2(b"POST / HTTP/1.1\r\n"));
        let mut g = FrameGuard::default();
        g.feed(b"P").unwrap();
        g.feed(b"OST / HTTP/1.1\r\n").unwrap();
        assert!(!g.on());
        for _ in 0..2 * BURST {
            g.feed(&frame(PING, 0, 8)).unwrap();
        }
    }

    #[test]
    fn only_a_headers_frame_begins_a_request_however_the_bytes_are_split() {
        let mut g = FrameGuard::default();
        assert!(g.feed(PREFACE).unwrap(), "the preface opens the first request's wait");
        for control in [
            frame(PING, 0, 8),
            frame(SETTINGS, ACK, 0),
            frame(0x8, 0, 4),
            frame(0x0, 0, 300),
        ] {
            assert!(!g.feed(&control).unwrap());
        }
        let mut stream = frame(PING, 0, 8);
        stream.extend(frame(HEADERS, 0x4, 30));
        for chunk in [1, 5, 9, 100] {
            let mut g = FrameGuard::default();
            g.feed(PREFACE).unwrap();
            let begun: Vec<bool> = stream.chunks(chunk).map(|piece| g.feed(piece).unwrap()).collect();
            // the piece that completes the HEADERS frame's 9-byte header, and only it
            assert_eq!(begun.iter().filter(|b| **b).count(), 1, "chunks of {chunk}");
            assert!(begun[25 / chunk], "chunks of {chunk}"); // its last header byte is at 25
        }
        // bytes that turn out not to be HTTP/2 are a head as before
        let mut g = FrameGuard::default();
        assert!(g.feed(b"GET / HTTP/1.1\r\n").unwrap());
    }

    #[test]
    fn tokens_come_back_with_time() {
        let mut g = FrameGuard {
            now: || 55_000_000, // 55 ms later: five tokens earned at 100/s
            refilled_ns: 0,
            ..FrameGuard::default()
        };
        g.feed(PREFACE).unwrap();
        for _ in 0..BURST {
            g.feed(&frame(SETTINGS, 0, 6)).unwrap();
        }
        for _ in 0..5 {
            g.feed(&frame(PING, 0, 8)).unwrap();
        }
        assert!(g.feed(&frame(PING, 0, 8)).is_err());
    }
}
