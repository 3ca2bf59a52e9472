//! Abuse bans: a client whose HTTP/2 connection was cut for a flood (the
//! control-frame guard, or the `h2` crate's own GOAWAY `ENHANCE_YOUR_CALM`
//! for Rapid Reset and CONTINUATION floods) has its new connections held
//! unread as they are accepted (`tarpit`), for `limits.abuse_ban`.
//!
//! Cutting a flooding connection is not enough on its own: the attacker
//! reconnects at once, and every new connection is accepted, handed to a
//! worker, handshaken and parsed until it is cut again, so the floods kept a
//! worker busy and a good client's p99 on it went from under 1 ms to 4-7 ms.
//! A banned address's connection costs an accept and a place in the tarpit,
//! on the accepting thread (behind a PROXY header, the header read and a
//! close on its worker).
//!
//! The address is the client's own: after a PROXY header, the source it
//! names; addresses in `trusted_proxies` (a CDN or balancer in front, whose
//! one address carries many clients) are never banned. The table is bounded
//! ([`MAX_BANNED`]); a lookup while nobody is banned is one atomic load.

use crate::upstream::now_ns;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Addresses banned at once, at most; past it, expired bans are dropped and
/// a new ban is skipped if none had expired.
pub const MAX_BANNED: usize = 100_000;

/// Banned addresses and when (on `now_ns`'s clock) each ban ends.
#[derive(Debug, Default)]
pub struct Bans {
    until: Mutex<HashMap<IpAddr, u64>>,
    /// Entries in `until`, so that the common case takes no lock.
    len: AtomicUsize,
}

impl Bans {
    /// Bans `ip` for `period` from `now` (nanoseconds); false when the table
    /// is full of live bans or `period` is zero (bans off).
    pub fn ban(&self, ip: IpAddr, period: Duration, now: u64) -> bool {
        if period.is_zero() {
            return false;
        }
        let mut until = self.until.lock().expect("bans lock");
        if until.len() >= MAX_BANNED && !until.contains_key(&ip) {
            until.retain(|_, end| *end > now);
            if until.len() >= MAX_BANNED {
                return false;
            }
        }
        until.insert(ip, now.saturating_add(period.as_nanos() as u64));
        self.len.store(until.len(), Ordering::Relaxed);
        true
    }

    /// When `ip`'s ban ends, if it is banned at `now`; an expired ban is
    /// dropped.
    pub fn banned(&self, ip: IpAddr, now: u64) -> Option<u64> {
        if self.len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut until = self.until.lock().expect("bans lock");
        match until.get(&ip) {
            Some(&end) if end > now => Some(end),
            Some(_) => {
                until.remove(&ip);
                self.len.store(until.len(), Ordering::Relaxed);
                None
            }
            None => None,
        }
    }
}

impl super::Shared {
    /// When the ban ends, if a connection from `ip` is refused for one (and
    /// counts it).
    pub(super) fn refused_until(&self, ip: IpAddr) -> Option<u64> {
        let banned = self.bans.banned(ip, now_ns());
        if banned.is_some() {
            self.metrics.requests_rejected.with_label_values(&["abuse_ban"]).inc();
        }
        banned
    }

    /// Bans `ip` for `limits.abuse_ban` if `e` (a connection's end) is an
    /// HTTP/2 flood and `ip` is not a trusted proxy.
    pub(super) fn ban_if_flood(&self, ip: IpAddr, e: &(dyn std::error::Error + 'static), guard_cut: bool) {
        if !guard_cut && !calmed(e) {
            return;
        }
        let snapshot = self.state.load();
        if snapshot.trusted.contains(ip) {
            return;
        }
        let period = snapshot.config.limits.abuse_ban;
        if self.bans.ban(ip, period, now_ns()) {
            tracing::warn!("banning {ip} for {period:?}: its HTTP/2 connection was cut for a flood ({e})");
        }
    }
}

/// Whether `e` is the `h2` crate's own GOAWAY `ENHANCE_YOUR_CALM` (too many
/// reset streams, an endless header block, and the like), not the peer's.
fn calmed(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(err) = cause {
        if let Some(h2) = err.downcast_ref::<h2::Error>() {
            return h2.is_go_away() && !h2.is_remote() && h2.reason() == Some(h2::Reason::ENHANCE_YOUR_CALM);
        }
        cause = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_ban_holds_for_its_period_and_only_for_its_address() {
        let bans = Bans::default();
        assert_eq!(bans.banned(ip("10.0.0.1"), S), None);
        assert!(bans.ban(ip("10.0.0.1"), Duration::from_secs(10), S));
        assert_eq!(bans.banned(ip("10.0.0.1"), 2 * S), Some(11 * S));
        assert_eq!(bans.banned(ip("10.0.0.1"), 11 * S - 1), Some(11 * S));
        assert_eq!(bans.banned(ip("10.0.0.2"), 2 * S), None, "another address");
        assert_eq!(bans.banned(ip("10.0.0.1"), 11 * S), None, "expired");
        assert_eq!(bans.len.load(Ordering::Relaxed), 0, "the expired ban was dropped");
    }

    #[test]
    fn a_zero_period_bans_nobody() {
        let bans = Bans::default();
        assert!(!bans.ban(ip("10.0.0.1"), Duration::ZERO, S));
        assert_eq!(bans.banned(ip("10.0.0.1"), S), None);
    }

    #[test]
    fn a_full_table_drops_expired_bans_and_keeps_live_ones() {
        let bans = Bans::default();
        for i in 0..MAX_BANNED as u32 {
            let period = Duration::from_secs(if i % 2 == 0 { 1 } else { 100 });
            assert!(bans.ban(IpAddr::from(i.to_be_bytes()), period, S));
        }
        let new = ip("192.0.2.1");
        assert!(!bans.ban(new, Duration::from_secs(10), S), "full of live bans");
        assert!(bans.ban(new, Duration::from_secs(10), 3 * S), "the 1 s bans expired");
        assert_eq!(bans.len.load(Ordering::Relaxed), MAX_BANNED / 2 + 1);
        assert!(
            bans.banned(IpAddr::from(1u32.to_be_bytes()), 3 * S).is_some(),
            "a live ban kept"
        );
    }
}
