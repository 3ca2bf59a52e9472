//! fulcrum as a real child process, for tests that measure or signal it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// A running `fulcrum run`; killed on drop.
pub struct Proc {
    pub child: Child,
    pub addr: SocketAddr,
    /// The config file it serves.
    pub path: PathBuf,
    pub stderr: Arc<Mutex<String>>,
    _dir: TempDir,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// Sends a signal by name (TERM, HUP, ...).
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Waits for the process to exit, up to `deadline`; None if it did not.
    pub fn wait_exit(&mut self, deadline: Duration) -> Option<i32> {
        let end = std::time::Instant::now() + deadline;
        while std::time::Instant::now() < end {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The admin listener's address, from the log (waits up to 10 s).
    pub fn admin(&self) -> SocketAddr {
        let end = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.stderr.lock().unwrap().clone();
            if let Some(addr) = log
                .split("admin listening on ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
            {
                return addr.parse().unwrap();
            }
            assert!(std::time::Instant::now() < end, "no admin listener in the log:\n{log}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// How many file descriptors the process has open.
    pub fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .unwrap()
            .count()
    }

    /// CPU time used so far (user + system), in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // fields after the parenthesised name; utime and stime are the 12th and 13th
        let rest = stat.rsplit_once(')').unwrap().1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    /// Resident memory grown since `before` (KiB), per one of `n` idle
    /// connections: the least of 3 s of looks, since the trimmer returns
    /// freed pages every 500 ms.
    pub async fn idle_kib_per(&self, before: u64, n: usize) -> f64 {
        let mut per_conn = f64::MAX;
        let until = std::time::Instant::now() + Duration::from_secs(3);
        while std::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(100)).await;
            per_conn = per_conn.min(self.status_kib("VmRSS").saturating_sub(before) as f64 / n as f64);
        }
        per_conn
    }

    /// A field of /proc/PID/status in KiB, e.g. "VmHWM" (peak RSS) or "VmRSS".
    pub fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with(field)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("fulcrum-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The fulcrum binary built for these tests.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fulcrum"))
}

/// Writes `yaml` to a temp file, starts `fulcrum run -c` on it and waits
/// (with a deadline) for its "listening on" line.
pub fn spawn_proc(yaml: &str) -> Proc {
    spawn_proc_env(yaml, &[])
}

/// [`spawn_proc`] with extra environment variables.
pub fn spawn_proc_env(yaml: &str, env: &[(&str, &std::ffi::OsStr)]) -> Proc {
    let dir = TempDir::new();
    let path = dir.0.join("config.yaml");
    std::fs::write(&path, yaml).unwrap();
    let mut child = bin()
        .args(["run", "-c"])
        .arg(&path)
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = mpsc::channel();
    let reader = BufReader::new(child.stderr.take().unwrap());
    let log = stderr.clone();
    std::thread::spawn(move || {
        for line in reader.lines().map_while(Result::ok) {
            if line.contains("admin listening on") {
                // the admin address is read from the log when wanted
            } else if let Some(addr) = line.split("listening on ").nth(1) {
                let _ = tx.send(addr.trim().parse::<SocketAddr>().unwrap());
            }
            log.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("fulcrum did not report its address in time");
    Proc {
        child,
        addr,
        path,
        stderr,
        _dir: dir,
    }
}

/// A tool the tests need from the system (e.g. promtool). Missing: None on a
/// developer machine (the test says so and passes), but a failure under CI,
/// whose `.ci/run` installs it.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{name} is not installed; .ci/run installs it"
        );
        eprintln!("{name} not installed: skipping (CI installs it)");
    }
    found
}
