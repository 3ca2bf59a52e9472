//! DNS discovery: a pool's server given by name stands for one server per
//! A/AAAA record (identified by `ip:port`, with the entry's weight).
//!
//! Names are resolved off the request path (once at start, then every
//! `discovery.dns_refresh`); the answers live in the snapshot, and a change
//! builds the next snapshot like a reload, so servers that stay keep their
//! health and counters and hash pools move only the keys of servers that
//! came or went. Addresses are sorted, so every instance given the same
//! answer builds the same ring or table.
//!
//! Answers are not cached and TTLs are not honoured: `dns_refresh` alone
//! sets the pace (platform DNS such as Kubernetes' serves short TTLs anyway).
//! A timeout or an error keeps the last set; an empty answer (no records, or
//! NXDOMAIN) empties a name only on the third in a row.

use crate::config::{Config, DiscoveryConfig, NamedServer, ServerConfig, UpstreamConfig};
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::TokioResolver;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Answers kept per (upstream, host): sorted, deduplicated addresses.
pub type Resolved = HashMap<(String, String), Vec<IpAddr>>;

/// At most this many addresses per name; the rest are dropped with a warning.
pub const MAX_RECORDS: usize = 256;
/// A resolver that does not answer within this is cut.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);
/// Empty answers in a row before a name's servers are removed.
pub const EMPTY_TO_REMOVE: u32 = 3;

/// One resolution's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Addrs(Vec<IpAddr>),
    /// The name exists with no A/AAAA records, or does not exist.
    Empty,
    /// Timeout, SERVFAIL, refused, unreachable resolver...
    Failed(String),
}

/// A resolver for `discovery.resolver`, or the system's.
pub fn resolver(d: &DiscoveryConfig) -> Result<TokioResolver, String> {
    let mut builder = match d.resolver {
        Some(addr) => {
            let mut ns = NameServerConfig::udp(addr.ip());
            for c in &mut ns.connections {
                c.port = addr.port();
            }
            TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![ns]),
                TokioRuntimeProvider::default(),
            )
        }
        None => TokioResolver::builder_tokio().map_err(|e| format!("system resolver: {e}"))?,
    };
    let opts: &mut ResolverOpts = builder.options_mut();
    opts.timeout = RESOLVE_TIMEOUT;
    opts.attempts = 1;
    opts.cache_size = 0;
    builder.build().map_err(|e| e.to_string())
}

/// Resolves `host`, cut at `RESOLVE_TIMEOUT` even if the resolver hangs.
pub async fn resolve(resolver: &TokioResolver, host: &str) -> Answer {
    let lookup = tokio::time::timeout(RESOLVE_TIMEOUT + Duration::from_millis(500), resolver.lookup_ip(host)).await;
    match lookup {
        Err(_) => Answer::Failed(format!("no answer within {RESOLVE_TIMEOUT:?}")),
        Ok(Ok(found)) => {
            let mut addrs: Vec<IpAddr> = found.iter().collect();
            addrs.sort();
            addrs.dedup();
            if addrs.is_empty() {
                Answer::Empty
            } else {
                Answer::Addrs(addrs)
            }
        }
        Ok(Err(NetError::Dns(DnsError::NoRecordsFound(n))))
            if matches!(n.response_code, ResponseCode::NoError | ResponseCode::NXDomain) =>
        {
            Answer::Empty
        }
        Ok(Err(e)) => Answer::Failed(e.to_string()),
    }
}

/// The next address set of a name given its last one, an answer, and the
/// empty answers seen in a row so far (updated).
pub fn next_set(last: Option<&Vec<IpAddr>>, answer: &Answer, empties: &mut u32) -> Option<Vec<IpAddr>> {
    match answer {
        Answer::Addrs(addrs) => {
            *empties = 0;
            let mut addrs = addrs.clone();
            addrs.truncate(MAX_RECORDS);
            Some(addrs)
        }
        Answer::Failed(_) => {
            *empties = 0;
            last.cloned()
        }
        Answer::Empty => {
            *empties += 1;
            if *empties >= EMPTY_TO_REMOVE {
                Some(Vec::new())
            } else {
                last.cloned()
            }
        }
    }
}

/// The pool with its names replaced by the servers they resolved to
/// (after the servers given by address; an address already listed is kept once).
pub fn expand(cfg: &UpstreamConfig, resolved: &Resolved) -> UpstreamConfig {
    let mut out = cfg.clone();
    for NamedServer { host, port, weight } in &cfg.names {
        let key = (cfg.name.clone(), host.clone());
        for ip in resolved.get(&key).into_iter().flatten() {
            let address = SocketAddr::new(*ip, *port);
            if !out.servers.iter().any(|s| s.address == address) {
                out.servers.push(ServerConfig {
                    address,
                    weight: *weight,
                });
            }
        }
    }
    out
}

/// Every (upstream, name) of a config with its discovery settings.
pub fn names(config: &Config) -> Vec<(&UpstreamConfig, &NamedServer)> {
    config
        .upstreams
        .iter()
        .flat_map(|u| u.names.iter().map(move |n| (u, n)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(v: &[&str]) -> Vec<IpAddr> {
        v.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn empty_answers_remove_only_on_the_third_in_a_row() {
        let last = ips(&["10.0.0.1"]);
        let mut n = 0;
        assert_eq!(next_set(Some(&last), &Answer::Empty, &mut n), Some(last.clone()));
        assert_eq!(next_set(Some(&last), &Answer::Empty, &mut n), Some(last.clone()));
        assert_eq!(
            next_set(Some(&last), &Answer::Failed("x".into()), &mut n),
            Some(last.clone())
        );
        assert_eq!(n, 0, "a failure breaks the run");
        for _ in 0..2 {
            next_set(Some(&last), &Answer::Empty, &mut n);
        }
        assert_eq!(next_set(Some(&last), &Answer::Empty, &mut n), Some(vec![]));
    }

    #[test]
    fn failures_keep_the_set_and_big_answers_are_capped() {
        let mut n = 0;
        assert_eq!(next_set(None, &Answer::Failed("timeout".into()), &mut n), None);
        let many: Vec<IpAddr> = (0..1000u32).map(|i| IpAddr::from(i.to_be_bytes())).collect();
        assert_eq!(next_set(None, &Answer::Addrs(many), &mut n).unwrap().len(), MAX_RECORDS);
    }
}
