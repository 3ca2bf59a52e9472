//! A set of IP ranges (CIDRs) with a lookup in O(log n): the CIDRs merged
//! into sorted, disjoint ranges per family and found by binary search, so
//! `access` lists and `trusted_proxies` of any length cost the same few
//! comparisons. IPv4-mapped IPv6 addresses count as IPv4.

use crate::config::Cidr;
use std::net::IpAddr;

/// Sorted, disjoint, inclusive ranges per address family.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpSet {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl IpSet {
    pub fn new<'a>(cidrs: impl IntoIterator<Item = &'a Cidr>) -> Self {
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        for c in cidrs {
            match c.network {
                IpAddr::V4(a) => v4.push(range(u32::from(a) as u128, c.prefix, 32)),
                IpAddr::V6(a) => v6.push(range(u128::from(a), c.prefix, 128)),
            }
        }
        let v4 = merge(v4).into_iter().map(|(lo, hi)| (lo as u32, hi as u32)).collect();
        Self { v4, v6: merge(v6) }
    }

    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Whether `ip` lies in one of the ranges.
    #[inline]
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => find(&self.v4, u32::from(a)),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => find(&self.v4, u32::from(v4)),
                None => find(&self.v6, u128::from(a)),
            },
        }
    }
}

/// The inclusive range a prefix of `width` bits covers.
fn range(bits: u128, prefix: u8, width: u32) -> (u128, u128) {
    let host = width - u32::from(prefix);
    let mask = if host >= 128 { u128::MAX } else { (1u128 << host) - 1 };
    (bits & !mask, (bits & !mask) | mask)
}

fn merge(mut ranges: Vec<(u128, u128)>) -> Vec<(u128, u128)> {
    ranges.sort_unstable();
    let mut out: Vec<(u128, u128)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

fn find<T: Ord + Copy>(ranges: &[(T, T)], x: T) -> bool {
    // the last range starting at or before x
    let i = ranges.partition_point(|&(lo, _)| lo <= x);
    i > 0 && x <= ranges[i - 1].1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(cidrs: &[&str]) -> IpSet {
        let parsed: Vec<Cidr> = cidrs.iter().map(|c| Cidr::parse(c).unwrap()).collect();
        IpSet::new(&parsed)
    }

    #[test]
    fn ranges_match_like_their_cidrs() {
        let s = set(&["10.0.0.0/8", "192.168.1.7", "fd00::/8", "10.1.0.0/16"]);
        for (ip, inside) in [
            ("10.0.0.0", true),
            ("10.255.255.255", true),
            ("11.0.0.0", false),
            ("9.255.255.255", false),
            ("192.168.1.7", true),
            ("192.168.1.8", false),
            ("fd12::1", true),
            ("fe00::1", false),
            ("::ffff:10.2.3.4", true),
        ] {
            assert_eq!(s.contains(ip.parse().unwrap()), inside, "{ip}");
        }
        assert_eq!(s.v4.len(), 2, "10.1.0.0/16 merged into 10.0.0.0/8");
    }

    #[test]
    fn everything_and_nothing() {
        let all = set(&["0.0.0.0/0", "::/0"]);
        assert!(all.contains("1.2.3.4".parse().unwrap()) && all.contains("2001:db8::1".parse().unwrap()));
        assert!(!IpSet::default().contains("1.2.3.4".parse().unwrap()));
        let adjacent = set(&["10.0.0.0/25", "10.0.0.128/25"]);
        assert_eq!(adjacent.v4, vec![(0x0a00_0000, 0x0a00_00ff)], "adjacent ranges join");
    }

    #[test]
    fn a_linear_scan_agrees_on_random_addresses() {
        let cidrs: Vec<Cidr> = (0..200)
            .map(|i| Cidr::parse(&format!("{}.{}.0.0/{}", (i * 37) % 256, (i * 11) % 256, 8 + i % 17)).unwrap())
            .collect();
        let s = IpSet::new(&cidrs);
        for _ in 0..20_000 {
            let ip = IpAddr::from(fastrand::u32(..).to_be_bytes());
            assert_eq!(s.contains(ip), cidrs.iter().any(|c| c.contains(ip)), "{ip}");
        }
    }
}
