//! The PROXY protocol header (HAProxy's v1 text and v2 binary) a listener
//! with `proxy_protocol` expects first on every connection, before TLS or
//! HTTP (SPEC §2.5). It is read without reading past it: v1 a byte at a
//! time up to its CRLF (at most 107 bytes), v2 by its declared length, so
//! whatever follows is left on the socket for TLS or hyper. The bytes are
//! then checked by the `ppp` crate.

use ppp::v2::{Addresses, Command, Protocol};
use ppp::HeaderResult;
use std::net::SocketAddr;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The v2 signature.
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// A v1 header is at most this long, CRLF included.
const V1_MAX: usize = 107;
/// The longest v2 address block and TLVs accepted.
const V2_MAX_PAYLOAD: usize = 4096;

/// Reads the header off `io` and returns the client address it names: its
/// source for a proxied TCP connection, `peer` for LOCAL or UNKNOWN (a
/// health check of the balancer in front); an error names what was wrong.
pub async fn read<I: AsyncRead + Unpin>(io: &mut I, peer: SocketAddr) -> Result<SocketAddr, String> {
    // 15 bytes: the shortest v1 header (`PROXY UNKNOWN\r\n`), and less than v2's 16
    let mut buf = vec![0u8; 15];
    io.read_exact(&mut buf).await.map_err(|e| format!("no header: {e}"))?;
    if buf.starts_with(b"PROXY ") {
        while !buf.ends_with(b"\r\n") {
            if buf.len() >= V1_MAX {
                return Err("a v1 header longer than 107 bytes".into());
            }
            let mut byte = [0u8];
            io.read_exact(&mut byte)
                .await
                .map_err(|e| format!("a cut v1 header: {e}"))?;
            buf.push(byte[0]);
        }
    } else if buf.starts_with(&V2_SIGNATURE[..]) {
        let mut rest = [0u8; 1];
        io.read_exact(&mut rest)
            .await
            .map_err(|e| format!("a cut v2 header: {e}"))?;
        buf.push(rest[0]);
        let len = u16::from_be_bytes([buf[14], buf[15]]) as usize;
        if len > V2_MAX_PAYLOAD {
            return Err(format!("a v2 header declaring {len} bytes (at most {V2_MAX_PAYLOAD})"));
        }
        let start = buf.len();
        buf.resize(start + len, 0);
        io.read_exact(&mut buf[start..])
            .await
            .map_err(|e| format!("a cut v2 header: {e}"))?;
    } else {
        return Err("not a PROXY protocol header".into());
    }
    source(&buf, peer)
}

/// The address a complete header names.
fn source(bytes: &[u8], peer: SocketAddr) -> Result<SocketAddr, String> {
    let parsed: HeaderResult<'_> = if bytes.starts_with(&V2_SIGNATURE[..]) {
        ppp::v2::Header::try_from(bytes).into()
    } else {
        ppp::v1::Header::try_from(bytes).into()
    };
    match parsed {
        HeaderResult::V1(Ok(h)) => Ok(match h.addresses {
            ppp::v1::Addresses::Tcp4(a) => SocketAddr::from((a.source_address, a.source_port)),
            ppp::v1::Addresses::Tcp6(a) => SocketAddr::from((a.source_address, a.source_port)),
            ppp::v1::Addresses::Unknown => peer,
        }),
        HeaderResult::V2(Ok(h)) => match (h.command, h.protocol, h.addresses) {
            (Command::Local, _, _) => Ok(peer),
            (Command::Proxy, Protocol::Stream, Addresses::IPv4(a)) => {
                Ok(SocketAddr::from((a.source_address, a.source_port)))
            }
            (Command::Proxy, Protocol::Stream, Addresses::IPv6(a)) => {
                Ok(SocketAddr::from((a.source_address, a.source_port)))
            }
            (Command::Proxy, _, Addresses::Unspecified) => Ok(peer),
            (Command::Proxy, _, Addresses::Unix(_)) => Err("a v2 header for a UNIX socket".into()),
            (Command::Proxy, p, _) => Err(format!("a v2 header for {p:?}, not TCP")),
        },
        HeaderResult::V1(Err(e)) => Err(format!("a bad v1 header: {e}")),
        HeaderResult::V2(Err(e)) => Err(format!("a bad v2 header: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> SocketAddr {
        "10.9.9.9:5000".parse().unwrap()
    }

    async fn read_all(bytes: &[u8]) -> (Result<SocketAddr, String>, Vec<u8>) {
        let mut io = bytes;
        let got = read(&mut io, peer()).await;
        (got, io.to_vec())
    }

    fn v2(addresses: impl Into<ppp::v2::Addresses>, command: u8) -> Vec<u8> {
        ppp::v2::Builder::with_addresses(0x20 | command, Protocol::Stream, addresses)
            .write_tlv(0xEE, b"unknown tlv")
            .unwrap()
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn v1_and_v2_name_the_source_and_leave_what_follows() {
        let (got, rest) = read_all(b"PROXY TCP4 203.0.113.7 10.0.0.1 40000 443\r\nGET / HTTP/1.1\r\n").await;
        assert_eq!(got.unwrap(), "203.0.113.7:40000".parse().unwrap());
        assert_eq!(rest, b"GET / HTTP/1.1\r\n");
        let (got, _) = read_all(b"PROXY TCP6 2001:db8::7 2001:db8::1 40000 443\r\n").await;
        assert_eq!(got.unwrap(), "[2001:db8::7]:40000".parse().unwrap());
        let (got, _) = read_all(b"PROXY UNKNOWN\r\n").await;
        assert_eq!(got.unwrap(), peer(), "UNKNOWN keeps the peer");
        let ipv4 = ppp::v2::IPv4::new([198, 51, 100, 4], [10, 0, 0, 1], 40001, 443);
        let mut bytes = v2(ipv4, 1);
        bytes.extend_from_slice(b"GET");
        let (got, rest) = read_all(&bytes).await;
        assert_eq!(
            got.unwrap(),
            "198.51.100.4:40001".parse().unwrap(),
            "unknown TLVs skipped"
        );
        assert_eq!(rest, b"GET");
        let (got, _) = read_all(&v2(ipv4, 0)).await;
        assert_eq!(got.unwrap(), peer(), "LOCAL keeps the peer");
    }

    #[tokio::test]
    async fn bad_headers_are_refused() {
        for (bytes, why) in [
            (&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..], "not a PROXY protocol header"),
            (b"PROXY TCP4 1.2.3.4\r\n", "a bad v1 header"),
            (b"PROXY TCP4 300.2.3.4 1.2.3.4 1 2\r\n", "a bad v1 header"),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2", "a cut v1 header"),
        ] {
            let (got, _) = read_all(bytes).await;
            let e = got.unwrap_err();
            assert!(e.starts_with(why), "{bytes:?}: {e}");
        }
        let ipv4 = ppp::v2::IPv4::new([198, 51, 100, 4], [10, 0, 0, 1], 40001, 443);
        let whole = v2(ipv4, 1);
        let (got, _) = read_all(&whole[..whole.len() - 3]).await;
        assert!(got.unwrap_err().starts_with("a cut v2 header"));
        let mut long = whole.clone();
        long[14..16].copy_from_slice(&60000u16.to_be_bytes());
        assert!(read_all(&long).await.0.unwrap_err().contains("declaring 60000"));
        let unix = ppp::v2::Unix::new([1; 108], [2; 108]);
        assert!(read_all(&v2(unix, 1)).await.0.unwrap_err().contains("UNIX"));
        let mut bad_version = whole;
        bad_version[12] = 0x31;
        assert!(read_all(&bad_version)
            .await
            .0
            .unwrap_err()
            .starts_with("a bad v2 header"));
    }
}
