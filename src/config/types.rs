//! The runtime configuration: validated, typed, with every default filled in.
//!
//! Nothing here is optional in a way the runtime must re-check: validation
//! settled it. Upstreams are referenced by index from routes.

use http::HeaderName;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use super::route_types::*;
pub use super::tls::{ListenerTls, UpstreamTls};

/// A whole, valid configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listeners: Vec<ListenerConfig>,
    /// The admin listener's address; none when absent.
    pub admin: Option<SocketAddr>,
    /// Off when absent.
    pub access_log: Option<AccessLogConfig>,
    /// Downstream protection (SPEC defaults when absent).
    pub limits: Limits,
    /// Peers whose X-Forwarded-For is appended to rather than replaced.
    pub trusted_proxies: Vec<Cidr>,
    /// Runtime worker threads; 0 means one per core.
    pub workers: usize,
    pub shutdown_timeout: Duration,
    pub upstreams: Vec<UpstreamConfig>,
    pub routes: Vec<RouteConfig>,
    /// `request_id`: off when absent.
    pub request_id: Option<RequestIdConfig>,
    /// Bodies replacing fulcrum's own error answers.
    pub error_pages: super::ErrorPages,
    /// Named rate-limit policies, used by routes.
    pub rate_limits: Vec<super::RateLimitConfig>,
}

impl Config {
    /// Every TLS file the config was loaded with (certificates, keys, CAs),
    /// so a watch can notice a rotation that leaves the YAML unchanged.
    /// Every file the config names and read at load (TLS material, error
    /// pages): the reload watch notices when one changes.
    pub fn watched_files(&self) -> Vec<&super::PemFile> {
        let mut files = Vec::new();
        for tls in self.listeners.iter().filter_map(|l| l.tls.as_ref()) {
            for pair in &tls.certificates {
                files.extend([&pair.cert, &pair.key]);
            }
            files.extend(tls.client_ca.as_ref());
        }
        files.extend(self.upstreams.iter().filter_map(|u| u.tls.as_ref()?.ca.as_ref()));
        files.extend(self.error_pages.files());
        files.extend(
            self.routes
                .iter()
                .filter_map(|r| r.policy.basic_auth.as_ref().map(|b| &b.file)),
        );
        files
    }
}

/// One listener: plain text, or TLS when `tls` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    pub address: SocketAddr,
    pub tls: Option<ListenerTls>,
    /// Every connection starts with a PROXY v1 or v2 header (SPEC §2.5).
    pub proxy_protocol: bool,
}

/// A named pool of servers and how to balance over it.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    pub name: String,
    pub balance: Balance,
    /// Never empty; addresses are unique.
    pub servers: Vec<ServerConfig>,
    pub connect_timeout: Duration,
    pub response_timeout: Duration,
    pub health_check: Option<HealthCheckConfig>,
    pub outlier_detection: Option<OutlierConfig>,
    pub protocol: Protocol,
    /// Servers given by DNS name: one server per A/AAAA record, found at run time.
    pub names: Vec<NamedServer>,
    pub discovery: DiscoveryConfig,
    /// TLS to the servers.
    pub tls: Option<UpstreamTls>,
    /// Extra tries after a failed attempt, each on another server (SPEC §3 says when).
    pub retries: u32,
    /// `max_in_flight` with its queue, `slow_start`, `retries.budget`.
    pub protect: super::Protection,
}

/// How fulcrum speaks to a pool's servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1 with pooled keep-alive connections.
    Http1,
    /// HTTP/2 with prior knowledge (gRPC backends), multiplexed.
    H2c,
    /// HTTP/2 over TLS, required by ALPN.
    H2,
}

/// Active health checks of a pool.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthCheckConfig {
    /// Starts with `/`.
    pub path: String,
    /// Longer than `timeout`.
    pub interval: Duration,
    pub timeout: Duration,
    /// At least 1.
    pub healthy_threshold: u32,
    /// At least 1.
    pub unhealthy_threshold: u32,
    /// Inclusive range of passing status codes.
    pub expected_status: (u16, u16),
}

/// Passive outlier detection on live traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct OutlierConfig {
    /// At least 1.
    pub consecutive_failures: u32,
    pub base_ejection_time: Duration,
    /// 0..=100.
    pub max_ejection_percent: u32,
}

/// One server of a pool; its identity is its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    pub address: SocketAddr,
    /// 1..=1000.
    pub weight: u32,
}

/// A server entry whose host is a DNS name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedServer {
    pub host: String,
    pub port: u16,
    /// 1..=1000, given to every address the name resolves to.
    pub weight: u32,
}

/// How a pool's DNS names are followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscoveryConfig {
    /// Every name is resolved again this often.
    pub refresh: Duration,
    /// The DNS server to ask; None: the system's (/etc/resolv.conf).
    pub resolver: Option<SocketAddr>,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        Self {
            refresh: Duration::from_secs(5),
            resolver: None,
        }
    }
}

/// The balancing algorithm of a pool (SPEC §2.1).
#[derive(Debug, Clone)]
pub enum Balance {
    RoundRobin,
    WeightedRoundRobin,
    Random,
    LeastConnections,
    P2cEwma,
    ConsistentHash(HashPolicy),
    /// With the lookup table size: a prime, at least 100x the server count.
    Maglev(HashPolicy, usize),
}

impl Balance {
    /// The config spelling, e.g. `consistent_hash`.
    pub fn name(&self) -> &'static str {
        match self {
            Balance::RoundRobin => "round_robin",
            Balance::WeightedRoundRobin => "weighted_round_robin",
            Balance::Random => "random",
            Balance::LeastConnections => "least_connections",
            Balance::P2cEwma => "p2c_ewma",
            Balance::ConsistentHash(_) => "consistent_hash",
            Balance::Maglev(..) => "maglev",
        }
    }

    /// The hash policy of a hash algorithm.
    pub fn hash(&self) -> Option<&HashPolicy> {
        match self {
            Balance::ConsistentHash(p) | Balance::Maglev(p, _) => Some(p),
            _ => None,
        }
    }
}

/// Where the hash key comes from and what to do without one.
#[derive(Debug, Clone)]
pub struct HashPolicy {
    /// Tried in order; the first present wins. Never empty.
    pub keys: Vec<KeySource>,
    pub fallback: Fallback,
    /// `bounded_load`: at least 1.0 when set.
    pub bounded_load: Option<f64>,
}

/// One source of a hash key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Header(HeaderName),
    Cookie(String),
    Query(String),
    Path,
    Host,
    ClientIp,
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Header(n) => write!(f, "header:{n}"),
            KeySource::Cookie(n) => write!(f, "cookie:{n}"),
            KeySource::Query(n) => write!(f, "query:{n}"),
            KeySource::Path => f.write_str("path"),
            KeySource::Host => f.write_str("host"),
            KeySource::ClientIp => f.write_str("client_ip"),
        }
    }
}

/// What a hash pool does when no key source is present in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    Random,
    RoundRobin,
    /// Answer 400.
    Reject,
}

impl fmt::Display for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fallback::Random => "random",
            Fallback::RoundRobin => "round_robin",
            Fallback::Reject => "reject",
        })
    }
}

/// A host condition, lowercase, without port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostMatch {
    Exact(String),
    /// `*.example.com` stored as `.example.com`: any subdomain, at any depth, not the bare domain.
    Suffix(String),
}

/// `access_log`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLogConfig {
    pub sink: LogSink,
    pub format: LogFormat,
}

/// Where access-log lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogSink {
    Stderr,
    Stdout,
    /// Absolute once loaded from a file (relative paths resolve against the config's directory).
    File(PathBuf),
}

/// How access-log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// `limits`: downstream protection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The whole request head must arrive within this.
    pub header_read_timeout: Duration,
    /// A keep-alive connection with no request in flight closes after this.
    pub idle_timeout: Duration,
    /// Request line + headers; over it: 431. At least 8 KiB.
    pub max_header_bytes: usize,
    /// Over it: 431.
    pub max_headers: usize,
    /// Per request; over it: 413.
    pub max_body_bytes: u64,
    /// Per listener; beyond it new connections wait in the backlog.
    pub max_connections: usize,
    /// A client cut for an HTTP/2 flood has its new connections held unread
    /// for this long, then closed (zero: never); see `server::ban`.
    pub abuse_ban: Duration,
}

/// An IP range such as `10.0.0.0/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub network: std::net::IpAddr,
    pub prefix: u8,
}
