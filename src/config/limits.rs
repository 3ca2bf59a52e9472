//! Validation of `limits` and `trusted_proxies`.

use super::schema::RawLimits;
use super::types::{Cidr, Limits};
use super::validate::Ctx;
use serde_yaml::Value;
use std::net::IpAddr;
use std::time::Duration;

/// An integer key within `min..=max`, or `default` when absent.
pub(super) fn int(cx: &mut Ctx, path: &str, value: Option<Value>, default: u64, min: u64, max: u64) -> u64 {
    match value {
        None => default,
        Some(v) => match v.as_u64() {
            Some(n) if (min..=max).contains(&n) => n,
            _ => {
                cx.err(
                    path,
                    format!("must be an integer {min}..={max}, found {}", super::validate::shown(&v)),
                );
                default
            }
        },
    }
}

pub(super) fn limits(cx: &mut Ctx, raw: RawLimits) -> Limits {
    let d = Limits::default();
    let header_read_timeout = cx.duration(
        raw.header_read_timeout,
        "limits.header_read_timeout",
        d.header_read_timeout,
    );
    let idle_timeout = cx.duration(raw.idle_timeout, "limits.idle_timeout", d.idle_timeout);
    let abuse_ban = cx.duration(raw.abuse_ban, "limits.abuse_ban", d.abuse_ban);
    for (key, value) in [
        ("limits.header_read_timeout", header_read_timeout),
        ("limits.idle_timeout", idle_timeout),
    ] {
        if value.is_zero() {
            cx.err(key, "must be above zero");
        }
    }
    // hyper's HTTP/1 read buffer cannot be smaller than 8 KiB
    let max_header_bytes = int(
        cx,
        "limits.max_header_bytes",
        raw.max_header_bytes,
        d.max_header_bytes as u64,
        8192,
        1 << 20,
    );
    let max_headers = int(
        cx,
        "limits.max_headers",
        raw.max_headers,
        d.max_headers as u64,
        1,
        10_000,
    );
    let max_body_bytes = int(
        cx,
        "limits.max_body_bytes",
        raw.max_body_bytes,
        d.max_body_bytes,
        0,
        u64::MAX,
    );
    let max_connections = int(
        cx,
        "limits.max_connections",
        raw.max_connections,
        d.max_connections as u64,
        1,
        1_000_000,
    );
    Limits {
        header_read_timeout,
        idle_timeout,
        max_header_bytes: max_header_bytes as usize,
        max_headers: max_headers as usize,
        max_body_bytes,
        max_connections: max_connections as usize,
        abuse_ban,
    }
}

impl Default for Limits {
    /// SPEC §2's defaults.
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_header_bytes: 65_536,
            max_headers: 100,
            max_body_bytes: 10_485_760,
            max_connections: 10_000,
            abuse_ban: Duration::from_secs(10),
        }
    }
}

pub(super) fn trusted_proxies(cx: &mut Ctx, value: Value) -> Vec<Cidr> {
    let items = match value {
        Value::Null => return Vec::new(),
        Value::Sequence(items) => items,
        _ => {
            cx.err("trusted_proxies", "must be a list of CIDRs such as 10.0.0.0/8");
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let path = format!("trusted_proxies[{i}]");
        match item.as_str().map(Cidr::parse) {
            Some(Ok(c)) => out.push(c),
            Some(Err(e)) => cx.err(&path, e),
            None => cx.err(
                &path,
                format!("expected a CIDR string, found {}", super::validate::shown(&item)),
            ),
        }
    }
    out
}

impl Cidr {
    /// `10.0.0.0/8`, `fd00::/8`, or a bare address (a single host).
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let bad = || format!("`{text}` is not a CIDR (e.g. 10.0.0.0/8 or fd00::/8)");
        let (addr, len) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let network: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match len {
            None => max,
            Some(l) => l.trim().parse::<u8>().ok().filter(|&p| p <= max).ok_or_else(bad)?,
        };
        Ok(Cidr { network, prefix })
    }

    /// Whether `ip` lies in this range (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let bits = |a: IpAddr| -> u128 {
            match a {
                IpAddr::V4(v) => u32::from(v) as u128,
                IpAddr::V6(v) => u128::from(v),
            }
        };
        if ip.is_ipv4() != self.network.is_ipv4() {
            return false;
        }
        let width = if ip.is_ipv4() { 32 } else { 128 };
        if self.prefix == 0 {
            return true;
        }
        let shift = width - self.prefix as u32;
        (bits(ip) >> shift) == (bits(self.network) >> shift)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_parse_and_contain() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains("10.200.1.1".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(c.contains("::ffff:10.1.2.3".parse().unwrap()), "IPv4-mapped");
        let host = Cidr::parse("127.0.0.1").unwrap();
        assert!(host.contains("127.0.0.1".parse().unwrap()) && !host.contains("127.0.0.2".parse().unwrap()));
        let v6 = Cidr::parse("fd00::/8").unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()) && !v6.contains("fe80::1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        for bad in ["10.0.0.0/33", "nope", "10.0.0/8", "::/129"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }
}
