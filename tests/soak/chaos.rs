//! The soak's faults, each a task that runs until told to stop: backends
//! killed and restarted, hung, answering garbage or failing their health
//! checks; a discovered pool's DNS answer changed; the config reloaded with
//! servers and routes added and removed; malformed requests from other
//! clients.

use crate::backend::{Backend, GARBAGE, HANG, NORMAL};
use crate::stats::Stats;
use crate::traffic::status_of;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub type Backends = Arc<tokio::sync::Mutex<Vec<Backend>>>;

/// What every fault task shares.
#[derive(Clone)]
pub struct Chaos {
    pub backends: Backends,
    pub stats: Stats,
    /// Checks that could not be made: any one fails the soak.
    pub broken: Arc<Mutex<Vec<String>>>,
    pub stop: Arc<AtomicBool>,
}

impl Chaos {
    fn stopped(&self) -> bool {
        self.stop.load(SeqCst)
    }

    async fn nap(&self, min_ms: u64, max_ms: u64) {
        tokio::time::sleep(Duration::from_millis(fastrand::u64(min_ms..=max_ms))).await;
    }

    /// `part` of a backend picked at random.
    async fn any<T>(&self, part: impl Fn(&Backend) -> T) -> T {
        let b = self.backends.lock().await;
        part(&b[fastrand::usize(..b.len())])
    }

    /// Kills a random backend, then restarts it on its port a moment later.
    pub async fn killer(self) {
        while !self.stopped() {
            self.nap(1000, 2500).await;
            let i = fastrand::usize(..self.backends.lock().await.len());
            self.backends.lock().await[i].kill();
            self.nap(300, 1500).await;
            match self.backends.lock().await[i].restart().await {
                Ok(()) => self.stats.add("chaos: backend killed and restarted"),
                Err(e) => self.broken.lock().unwrap().push(e),
            }
        }
    }

    /// Makes one backend hang, another answer garbage, for two seconds each.
    pub async fn misbehave(self) {
        while !self.stopped() {
            self.nap(2000, 3000).await;
            for (mode, what) in [(HANG, "hung 2 s"), (GARBAGE, "answered garbage 2 s")] {
                let flag = self.any(|b| b.mode.clone()).await;
                flag.store(mode, SeqCst);
                tokio::time::sleep(Duration::from_secs(2)).await;
                flag.store(NORMAL, SeqCst);
                self.stats.add(format!("chaos: backend {what}"));
            }
        }
    }

    /// Fails one backend's health checks for two seconds at a time.
    pub async fn health(self) {
        while !self.stopped() {
            self.nap(1500, 3000).await;
            let flag = self.any(|b| b.healthy.clone()).await;
            flag.store(false, SeqCst);
            tokio::time::sleep(Duration::from_secs(2)).await;
            flag.store(true, SeqCst);
            self.stats.add("chaos: health check flapped");
        }
    }

    /// Changes the DNS answer for the discovered pool's name to a random
    /// non-empty subset of its two addresses every few seconds.
    pub async fn dns(self, dns: Arc<crate::common::dns::Dns>) {
        while !self.stopped() {
            self.nap(1500, 3000).await;
            let answer: &[&str] = match fastrand::u8(..3) {
                0 => &["127.0.0.2"],
                1 => &["127.0.0.3"],
                _ => &["127.0.0.2", "127.0.0.3"],
            };
            dns.records(DNS_NAME, answer);
            self.stats.add("chaos: DNS answer changed");
        }
    }

    /// Rewrites the config (random servers per pool, the extra route or
    /// not) every few seconds and reloads it through the admin API; a reload
    /// refused or not applied (its version not newer) is a broken check.
    pub async fn reloader(self, path: PathBuf, admin: SocketAddr, discovered: Discovered) {
        let c = crate::common::client();
        let mut last = 0u64;
        while !self.stopped() {
            self.nap(2000, 4000).await;
            let addrs: Vec<SocketAddr> = self.backends.lock().await.iter().map(|b| b.addr).collect();
            let yaml = config(&subset(&addrs), &subset(&addrs), fastrand::bool(), &discovered);
            std::fs::write(&path, yaml).unwrap();
            let reply = crate::common::send(&c, admin, "POST", "/reload", &[]).await;
            let version = serde_json::from_str::<serde_json::Value>(&reply.body)
                .ok()
                .and_then(|v| v["version"].as_u64());
            match version {
                Some(v) if reply.status == 200 && v > last => {
                    last = v;
                    self.stats.add("chaos: config reloaded");
                }
                _ => self
                    .broken
                    .lock()
                    .unwrap()
                    .push(format!("a reload was not applied: {reply:?}")),
            }
        }
    }

    /// Malformed requests on their own connections: each must be answered
    /// (400/431/...) or closed, and none may reach a backend.
    pub async fn malformed(self, addr: SocketAddr) {
        let big = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(70_000));
        let bad: [(&str, Vec<u8>); 7] = [
            ("CL+TE smuggling", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
            ("not HTTP", b"\x16\x03\x01 hello\r\n\r\n".to_vec()),
            ("head over the limit", big.into_bytes()),
            ("bad chunk size", b"POST /post HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n".to_vec()),
            ("negative length", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_vec()),
            ("NUL in a header", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n".to_vec()),
            ("HTTP/2 garbage", [&b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..], &[0xff; 64]].concat()),
        ];
        while !self.stopped() {
            let (what, bytes) = &bad[fastrand::usize(..bad.len())];
            let exchange = async {
                let mut s = tokio::net::TcpStream::connect(addr).await?;
                s.write_all(bytes).await?;
                let mut out = Vec::new();
                let _ = s.read_to_end(&mut out).await; // a reset after the answer is fine
                Ok::<_, std::io::Error>(out)
            };
            let outcome = match tokio::time::timeout(Duration::from_secs(10), exchange).await {
                Ok(Ok(out)) => match status_of(&out) {
                    Some(code) => format!("malformed {what}: {code}"),
                    None => format!("malformed {what}: closed"),
                },
                Ok(Err(e)) => format!("malformed {what}: {}", e.kind()),
                Err(_) => format!("STUCK malformed {what}: neither answered nor closed in 10 s"),
            };
            self.stats.add(outcome);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A random non-empty subset of `addrs`.
fn subset(addrs: &[SocketAddr]) -> Vec<SocketAddr> {
    let mut out: Vec<SocketAddr> = addrs.iter().copied().filter(|_| fastrand::u8(..4) > 0).collect();
    if out.is_empty() {
        out.push(addrs[fastrand::usize(..addrs.len())]);
    }
    out
}

/// The name the discovered pool resolves.
pub const DNS_NAME: &str = "svc.soak";

/// The discovered pool: its servers' shared port and the DNS server.
#[derive(Clone, Copy)]
pub struct Discovered {
    pub port: u16,
    pub resolver: SocketAddr,
}

/// The soak's config: a round-robin pool, a hash pool and a pool found by
/// DNS, with health checks, short timeouts and a retry, and the `/extra/`
/// route or not.
pub fn config(rr: &[SocketAddr], hash: &[SocketAddr], extra: bool, dns: &Discovered) -> String {
    let servers = |list: &[SocketAddr]| {
        list.iter()
            .map(|a| format!("{{ address: \"{a}\" }}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let checks = "timeouts: { connect: 500ms, response: 2s }\n    retries: { attempts: 1 }\n    health_check: { path: /healthz, interval: 250ms, timeout: 200ms, healthy_threshold: 1, unhealthy_threshold: 2 }";
    let extra = if extra {
        "  - { name: extra, match: { path_prefix: /extra/ }, upstream: rr }\n"
    } else {
        ""
    };
    format!(
        "listeners: [{{ address: \"127.0.0.1:0\" }}]
admin: {{ address: \"127.0.0.1:0\" }}
limits: {{ max_body_bytes: 2097152 }}
upstreams:
  rr:
    balance: round_robin
    servers: [{}]
    {checks}
  hash:
    balance: consistent_hash
    hash: {{ key: header:x-user, bounded_load: 1.25 }}
    servers: [{}]
    {checks}
  dns:
    balance: round_robin
    servers: [{{ address: \"{DNS_NAME}:{}\" }}]
    discovery: {{ dns_refresh: 200ms, resolver: \"{}\" }}
    {checks}
routes:
  - {{ name: hash, match: {{ path_prefix: /hash/ }}, upstream: hash }}
  - {{ name: dns, match: {{ path_prefix: /dns/ }}, upstream: dns }}
{extra}  - {{ name: main, match: {{ path_prefix: / }}, upstream: rr }}
",
        servers(rr),
        servers(hash),
        dns.port,
        dns.resolver
    )
}
