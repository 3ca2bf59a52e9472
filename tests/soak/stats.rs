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

/// RSS (KiB) and open file descriptors of a process, the median of a few
/// readings a moment apart (one reading can catch a burst).
async fn sample(pid: u32) -> Option<(u64, u64)> {
    let mut rss = Vec::new();
    let mut fds = Vec::new();
    for _ in 0..5 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS"))?;
        rss.push(line.split_whitespace().nth(1)?.parse::<u64>().ok()?);
        fds.push(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    rss.sort();
    fds.sort();
    Some((rss[2], fds[2]))
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
    pub async fn sample(&self, pid: u32) -> Option<(u64, u64)> {
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
