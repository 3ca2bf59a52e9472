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
pub async fn sample(pid: u32) -> Option<(u64, u64)> {
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
