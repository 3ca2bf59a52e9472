//! The chaos soak: mixed traffic through a real fulcrum process while its
//! backends die, hang and answer garbage, their health flaps, a discovered
//! pool's DNS answer changes, the config is reloaded every few seconds and
//! other clients send malformed requests.
//! It prints a table and fails when any request was lost or altered, a POST
//! reached a backend twice, memory or descriptors grew from the middle to
//! the end by more than 10% (read at a pause in the traffic), or a check
//! could not be made.
//!
//! `cargo test --test soak` runs it for 60 s (part of `.ci/run`);
//! `SOAK_SECS=600 cargo test --test soak` (a debug build, as CI runs it) for the README's table.

#[path = "../common/mod.rs"]
mod common;

mod backend;
mod chaos;
mod stats;
mod traffic;

use backend::{Backend, Seen};
use chaos::Chaos;
use stats::Stats;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Concurrent good clients.
const CLIENTS: usize = 16;

/// Descriptors other than established connections that may be open at one
/// reading and not another: a health check's or DNS lookup's socket, an
/// upstream connection still being opened or closed.
const FD_CHURN: u64 = 4;

fn main() {
    // `cargo test NAME` passes NAME to every test binary: run only when asked or unfiltered
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    if !filters.is_empty() && !filters.iter().any(|f| "soak".contains(f.as_str())) {
        return;
    }
    let secs: u64 = std::env::var("SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let failures = rt.block_on(soak(Duration::from_secs(secs)));
    if !failures.is_empty() {
        eprintln!("\nsoak FAILED:");
        for f in &failures {
            eprintln!("  - {f}");
        }
        std::process::exit(1);
    }
    println!("\nsoak passed");
}

async fn soak(length: Duration) -> Vec<String> {
    let seen = Seen::default();
    let mut list = Vec::new();
    for _ in 0..4 {
        list.push(Backend::start(&seen).await);
    }
    let addrs: Vec<_> = list.iter().map(|b| b.addr).collect();
    // the discovered pool: two servers on one port, named by a DNS server of the soak's own
    let dns = Arc::new(common::dns::spawn_dns().await);
    let first = Backend::start_on(&seen, "127.0.0.2:0".parse().unwrap()).await;
    let port = first.addr.port();
    let Ok(second) = tokio::net::TcpListener::bind(("127.0.0.3", port)).await else {
        return vec![format!(
            "127.0.0.3:{port} is taken: the DNS pool's second server cannot start"
        )];
    };
    drop(second);
    list.push(first);
    list.push(Backend::start_on(&seen, format!("127.0.0.3:{port}").parse().unwrap()).await);
    dns.records(chaos::DNS_NAME, &["127.0.0.2", "127.0.0.3"]);
    let discovered = chaos::Discovered {
        port,
        resolver: dns.addr,
    };
    let lb = common::process::spawn_proc(&chaos::config(&addrs, &addrs, true, &discovered));
    let (pid, admin) = (lb.child.id(), lb.admin());
    let stats = Stats::default();
    let chaos = Chaos {
        backends: Arc::new(tokio::sync::Mutex::new(list)),
        stats: stats.clone(),
        broken: Arc::new(Mutex::new(Vec::new())),
        stop: Arc::new(AtomicBool::new(false)),
    };
    let clients = Arc::new(traffic::Clients::new(lb.addr, stats.clone()));
    let ready = async {
        while common::send(&clients.h1, lb.addr, "GET", "/get", &[]).await.status != 200 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(10), ready).await.is_err() {
        return vec!["fulcrum never answered 200 before the soak".into()];
    }
    let start = Instant::now();
    let pause = Arc::new(stats::Pause::default());
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (clients, stop, pause) = (clients.clone(), chaos.stop.clone(), pause.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::new();
            while !stop.load(SeqCst) {
                let _busy = pause.enter().await;
                clients.one(&mut rng).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let figures_start = pause.sample(pid).await;
    let faults = vec![
        tokio::spawn(chaos.clone().killer()),
        tokio::spawn(chaos.clone().misbehave()),
        tokio::spawn(chaos.clone().health()),
        tokio::spawn(chaos.clone().reloader(lb.path.clone(), admin, discovered)),
        tokio::spawn(chaos.clone().dns(dns.clone())),
        tokio::spawn(chaos.clone().malformed(lb.addr)),
    ];
    tokio::time::sleep((length / 2).saturating_sub(start.elapsed())).await;
    let figures_mid = pause.sample(pid).await;
    tokio::time::sleep(length.saturating_sub(start.elapsed() + Duration::from_secs(2))).await;
    let figures_end = pause.sample(pid).await;
    chaos.stop.store(true, SeqCst);
    let mut broken = Vec::new();
    for t in faults.into_iter().chain(tasks) {
        match tokio::time::timeout(Duration::from_secs(60), t).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => broken.push(format!("a soak task failed: {e}")),
            Err(_) => broken.push("a soak task did not finish within 60 s of the stop".to_string()),
        }
    }
    broken.extend(chaos.broken.lock().unwrap().drain(..));
    let report = Report {
        length: start.elapsed(),
        stats: stats.all(),
        duplicates: seen.duplicates(),
        smuggled: seen.smuggled.load(SeqCst),
        figures: [figures_start, figures_mid, figures_end],
    };
    report.print();
    broken.extend(report.failures());
    drop(lb);
    broken
}

struct Report {
    length: Duration,
    stats: std::collections::BTreeMap<String, u64>,
    duplicates: u64,
    smuggled: u64,
    figures: [Option<stats::Figures>; 3],
}

impl Report {
    fn sum(&self, prefix: &str) -> u64 {
        self.stats
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    }

    fn print(&self) {
        println!(
            "\n| soak: {:.0} s, {CLIENTS} clients | count |\n|---|---:|",
            self.length.as_secs_f64()
        );
        println!("| requests sent | {} |", self.sum("sent "));
        for (k, v) in &self.stats {
            println!("| {k} | {v} |");
        }
        println!("| POST bodies that reached a backend twice | {} |", self.duplicates);
        println!("| requests lost without an answer | {} |", self.sum("LOST"));
        println!("| answers altered | {} |", self.sum("ALTERED"));
        println!("| smuggled requests that reached a backend | {} |", self.smuggled);
        for (name, f) in ["start", "middle", "end"].iter().zip(&self.figures) {
            match f {
                Some(f) => println!(
                    "| fulcrum at {name}: RSS KiB / open FDs (established connections) | {} / {} ({}) |",
                    f.rss, f.fds, f.conns
                ),
                None => println!("| fulcrum at {name} | not readable |"),
            }
        }
    }

    fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (what, n) in [
            ("requests lost without an answer", self.sum("LOST")),
            ("answers altered", self.sum("ALTERED")),
            ("malformed requests neither answered nor closed", self.sum("STUCK")),
            ("POST bodies that reached a backend twice", self.duplicates),
            ("smuggled requests that reached a backend", self.smuggled),
        ] {
            if n > 0 {
                out.push(format!("{what}: {n}"));
            }
        }
        // each kind of traffic and fault must have happened, or it was not tested
        for kind in ["get", "fresh", "post", "stream", "hash", "websocket", "extra", "dns"] {
            if self.stats.get(&format!("sent {kind}")).copied().unwrap_or(0) == 0 {
                out.push(format!("no {kind} request was sent"));
            }
        }
        if self.sum("answered 101") == 0 {
            out.push("no WebSocket upgrade succeeded".into());
        }
        for fault in [
            "chaos: backend killed",
            "chaos: backend hung",
            "chaos: backend answered garbage",
            "chaos: health",
            "chaos: config reloaded",
            "malformed",
        ] {
            if self.sum(fault) == 0 {
                out.push(format!("the fault `{fault}` never happened"));
            }
        }
        match self.figures {
            [Some(_), Some(mid), Some(end)] => {
                if end.rss * 10 > mid.rss * 11 {
                    out.push(format!(
                        "RSS grew from {} KiB (middle) to {} KiB (end)",
                        mid.rss, end.rss
                    ));
                }
                // established connections are the peers' to open and close
                // (a backend killed, a client pool's size); what fulcrum
                // alone must give back is everything else
                if end.rest() > (mid.rest() * 11 / 10).max(mid.rest() + FD_CHURN) {
                    out.push(format!(
                        "descriptors other than established connections grew from {} (middle) to {} (end)",
                        mid.rest(),
                        end.rest()
                    ));
                }
            }
            _ => out.push("fulcrum's RSS and FDs could not be read".into()),
        }
        out
    }
}
