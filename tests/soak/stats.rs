//! Counters by name, shared by every task of the soak, and the RSS and FD
//! figures of the fulcrum process.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct Stats(Arc<Mutex<BTreeMap<String, u64>>>);

impl Stats {
    pub fn add(&self, key: impl Into<String>) {
        *self.0.lock().unwrap().entry(key.into()).or_default() += 1;
    }

    pub fn all(&self) -> BTreeMap<String, u64> {
        self.0.lock().unwrap().clone()
    }
}

/// What the soak reads of the fulcrum process at a pause.
#[derive(Clone, Copy)]
pub struct Figures {
    /// resident memory, KiB
    pub rss: u64,
    /// open file descriptors, all kinds
    pub fds: u64,
    /// of those, established TCP connections: pooled upstream connections
    /// and clients' kept-alive ones, which come and go with the peers
    /// (a backend killed, a client pool's size); a descriptor fulcrum
    /// failed to close shows up in the rest (CLOSE_WAIT, a pipe, a file)
    pub conns: u64,
}

impl Figures {
    /// Descriptors that are not established connections.
    pub fn rest(&self) -> u64 {
        self.fds - self.conns
    }
}

/// Socket inodes of established TCP connections, from the kernel's tables.
fn established() -> std::collections::HashSet<String> {
    let mut set = std::collections::HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // columns: sl local remote st ... inode (10th)
            if cols.len() > 9 && cols[3] == "01" {
                set.insert(cols[9].to_string());
            }
        }
    }
    set
}

/// One reading of `pid`'s figures.
fn read(pid: u32) -> Option<Figures> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS"))?;
    let rss = line.split_whitespace().nth(1)?.parse::<u64>().ok()?;
    let live = established();
    let (mut fds, mut conns) = (0, 0);
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
        fds += 1;
        let target = std::fs::read_link(entry.path()).unwrap_or_default();
        let target = target.to_string_lossy();
        if let Some(inode) = target.strip_prefix("socket:[").and_then(|t| t.strip_suffix(']')) {
            conns += u64::from(live.contains(inode));
        }
    }
    Some(Figures { rss, fds, conns })
}

/// The median of a few readings a moment apart, by each figure (one
/// reading can catch a burst).
async fn sample(pid: u32) -> Option<Figures> {
    let mut all = Vec::new();
    for _ in 0..5 {
        all.push(read(pid)?);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let median = |f: fn(&Figures) -> u64| {
        let mut v: Vec<u64> = all.iter().map(f).collect();
        v.sort();
        v[2]
    };
    let (rss, fds, rest) = (median(|f| f.rss), median(|f| f.fds), median(|f| f.rest()));
    Some(Figures {
        rss,
        fds,
        conns: fds.saturating_sub(rest),
    })
}

/// Holds the good clients still while fulcrum's figures are read, so the
/// start, middle and end readings are taken alike: between requests, not
/// in whatever burst of connections is open at that instant.
#[derive(Default)]
pub struct Pause {
    held: std::sync::atomic::AtomicBool,
    busy: std::sync::atomic::AtomicUsize,
}

/// A request under way; the pause waits for it.
pub struct Busy<'a>(&'a Pause);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Pause {
    /// Waits while the clients are held, then counts one request under way.
    pub async fn enter(&self) -> Busy<'_> {
        use std::sync::atomic::Ordering::SeqCst;
        loop {
            while self.held.load(SeqCst) {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            self.busy.fetch_add(1, SeqCst);
            if !self.held.load(SeqCst) {
                return Busy(self);
            }
            self.busy.fetch_sub(1, SeqCst);
        }
    }

    /// Holds the clients and reads `pid`'s figures once every request under
    /// way has ended (or 10 s passed), a moment later.
    pub async fn sample(&self, pid: u32) -> Option<Figures> {
        use std::sync::atomic::Ordering::SeqCst;
        self.held.store(true, SeqCst);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.busy.load(SeqCst) > 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let figures = sample(pid).await;
        self.held.store(false, SeqCst);
        figures
    }
}
