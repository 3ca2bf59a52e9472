//! HTTP/2 frames written by hand, for the abuse tests: what a well-behaved
//! client library refuses to send (CONTINUATION floods, SETTINGS and PING
//! floods, HEADERS reset at once by the thousand).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const DATA: u8 = 0;
pub const HEADERS: u8 = 1;
pub const RST_STREAM: u8 = 3;
pub const SETTINGS: u8 = 4;
pub const PING: u8 = 6;
pub const GOAWAY: u8 = 7;
pub const WINDOW_UPDATE: u8 = 8;
pub const CONTINUATION: u8 = 9;

pub const END_STREAM: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;
pub const ACK: u8 = 0x1;

/// The client connection preface followed by an empty SETTINGS frame.
pub fn preface() -> Vec<u8> {
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend(frame(SETTINGS, 0, 0, &[]));
    out
}

/// One frame: 9-byte header and payload.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = Vec::with_capacity(9 + payload.len());
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// An HPACK integer with an `n`-bit prefix whose upper bits are `first`.
fn int(out: &mut Vec<u8>, first: u8, n: u32, mut v: usize) {
    let max = (1usize << n) - 1;
    if v < max {
        out.push(first | v as u8);
        return;
    }
    out.push(first | max as u8);
    v -= max;
    while v >= 128 {
        out.push((v % 128 + 128) as u8);
        v /= 128;
    }
    out.push(v as u8);
}

/// One header as an HPACK literal without indexing (new name, no Huffman).
pub fn literal(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(0);
    int(out, 0, 7, name.len());
    out.extend_from_slice(name.as_bytes());
    int(out, 0, 7, value.len());
    out.extend_from_slice(value.as_bytes());
}

/// The header block of `GET path` plus `extra` headers.
pub fn get_block(path: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in [
        (":method", "GET"),
        (":scheme", "http"),
        (":path", path),
        (":authority", "abuse.test"),
    ] {
        literal(&mut out, k, v);
    }
    for (k, v) in extra {
        literal(&mut out, k, v);
    }
    out
}

/// What the server did with a connection, read until it closed or `wait` passed.
#[derive(Debug, Default)]
pub struct Seen {
    /// GOAWAY's error code, if one came.
    pub goaway: Option<u32>,
    /// The peer closed (EOF or reset).
    pub closed: bool,
    /// HEADERS frames received (responses).
    pub headers: usize,
    pub rst: usize,
    pub frames: usize,
    pub settings_acks: usize,
    pub pings: usize,
}

/// An attacker's connection.
pub struct Raw {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    /// Connects and writes the preface.
    pub async fn connect(addr: SocketAddr) -> Raw {
        Self::connect_from([127, 0, 0, 1].into(), addr).await
    }

    /// Connects from `source` (any 127.x.y.z is this host's) and writes the
    /// preface; a server that closes at once shows as `Seen::closed` later.
    pub async fn connect_from(source: IpAddr, addr: SocketAddr) -> Raw {
        Self::connect_with(source, addr, b"").await
    }

    /// [`Raw::connect_from`], writing `prefix` (a PROXY header) first.
    pub async fn connect_with(source: IpAddr, addr: SocketAddr, prefix: &[u8]) -> Raw {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(source, 0)).unwrap();
        let mut stream = socket.connect(addr).await.unwrap();
        let _ = stream.write_all(&[prefix, &preface()].concat()).await;
        Raw {
            stream,
            buf: Vec::new(),
        }
    }

    /// Writes `bytes`; false when the server has closed or `deadline` passed
    /// with the write still blocked (the server stopped reading: throttled).
    pub async fn send(&mut self, bytes: &[u8], deadline: Duration) -> bool {
        matches!(
            tokio::time::timeout(deadline, self.stream.write_all(bytes)).await,
            Ok(Ok(()))
        )
    }

    /// Writes `piece` over and over, up to `total` bytes or until fulcrum
    /// stops reading for a second or closes; then reads what it answered.
    pub async fn repeat(&mut self, piece: &[u8], total: usize) -> Seen {
        for _ in 0..total / piece.len() {
            if !self.send(piece, Duration::from_secs(1)).await {
                break;
            }
        }
        self.read(Duration::from_secs(2)).await
    }

    /// Reads frames until the connection closes or `wait` passes.
    pub async fn read(&mut self, wait: Duration) -> Seen {
        let mut seen = Seen::default();
        let end = Instant::now() + wait;
        let mut chunk = vec![0u8; 65536];
        loop {
            while self.buf.len() >= 9 {
                let len = u32::from_be_bytes([0, self.buf[0], self.buf[1], self.buf[2]]) as usize;
                if self.buf.len() < 9 + len {
                    break;
                }
                let (kind, flags) = (self.buf[3], self.buf[4]);
                seen.frames += 1;
                match kind {
                    HEADERS => seen.headers += 1,
                    RST_STREAM => seen.rst += 1,
                    SETTINGS if flags & ACK != 0 => seen.settings_acks += 1,
                    PING if flags & ACK != 0 => seen.pings += 1,
                    GOAWAY if len >= 8 => {
                        let p = &self.buf[9 + 4..9 + 8];
                        seen.goaway = Some(u32::from_be_bytes([p[0], p[1], p[2], p[3]]));
                    }
                    _ => {}
                }
                self.buf.drain(..9 + len);
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return seen;
            }
            match tokio::time::timeout(left, self.stream.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    seen.closed = true;
                    return seen;
                }
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
                Err(_) => return seen,
            }
        }
    }
}
