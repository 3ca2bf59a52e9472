//! Per-core workers: with `workers: N > 1`, N threads each run their own
//! single-threaded tokio runtime. An accepted connection is handed to one
//! of them (in turn) and lives there until it closes: its requests, its
//! upstream connections (each worker has its own pools, see
//! `Snapshot::clients`) and their timers never leave that thread, so the
//! request path has no work-stealing scheduler and no cross-thread wake-ups.
//! With `workers: 1` there are no worker threads: connections are served on
//! the runtime that accepted them.

use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::runtime::Handle;
use tokio::sync::watch;

/// How long a stopping worker waits for its blocking-pool calls.
const STOP_TIMEOUT: Duration = Duration::from_secs(1);

thread_local! {
    static INDEX: Cell<usize> = const { Cell::new(0) };
}

/// This thread's worker number (0 outside worker threads).
pub fn index() -> usize {
    INDEX.with(Cell::get)
}

/// The worker count for a config's `workers` (0 = one per core).
pub fn count(configured: usize) -> usize {
    match configured {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

/// The worker threads, or none for a single worker.
pub struct Workers {
    handles: Vec<Handle>,
    /// The runtime that started the workers: serves without worker threads.
    home: Option<Handle>,
    next: AtomicUsize,
    stop: watch::Sender<bool>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Workers {
    /// Starts `n` worker threads when `n > 1`, else none.
    pub fn start(n: usize) -> std::io::Result<Self> {
        let (stop, stopped) = watch::channel(false);
        let mut handles = Vec::new();
        let mut threads = Vec::new();
        for i in 0..if n > 1 { n } else { 0 } {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            handles.push(runtime.handle().clone());
            let mut stopped = stopped.clone();
            let thread = std::thread::Builder::new()
                .name(format!("fulcrum-worker-{i}"))
                .spawn(move || {
                    INDEX.with(|c| c.set(i));
                    runtime.block_on(async move {
                        // returns what this thread's parked connections free
                        let trimmer = crate::server::trim::spawn();
                        let _ = stopped.wait_for(|s| *s).await;
                        trimmer.abort();
                    });
                    // cancels what is left (the drain is over); a resolver
                    // call stuck in the blocking pool is not waited for
                    runtime.shutdown_timeout(STOP_TIMEOUT);
                })?;
            threads.push(thread);
        }
        Ok(Self {
            handles,
            home: Handle::try_current().ok(),
            next: AtomicUsize::new(0),
            stop,
            threads: Mutex::new(threads),
        })
    }

    /// How many upstream client sets a snapshot needs: one per worker thread.
    pub fn pools(&self) -> usize {
        self.handles.len().max(1)
    }

    /// Serves `stream` with `serve` on the next worker (on the current
    /// runtime without worker threads). `serve` is dropped unrun if the
    /// stream cannot move to the worker's runtime.
    pub fn spawn<F, Fut>(&self, stream: TcpStream, serve: F)
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        if self.handles.is_empty() {
            tokio::spawn(serve(stream));
            return;
        }
        match stream.into_std() {
            Ok(stream) => self.spawn_std(stream, serve),
            Err(e) => tracing::warn!("cannot hand a connection to a worker: {e}"),
        }
    }

    /// [`Workers::spawn`] for a socket outside tokio (a parked one), from
    /// any thread.
    pub fn spawn_std<F, Fut>(&self, stream: std::net::TcpStream, serve: F)
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handle = match self.handles.len() {
            0 => self.home.as_ref(),
            n => self.handles.get(self.next.fetch_add(1, Ordering::Relaxed) % n),
        };
        let Some(handle) = handle else {
            return tracing::warn!("cannot serve a connection: no runtime");
        };
        handle.spawn(async move {
            // registers with this runtime's own reactor
            match TcpStream::from_std(stream) {
                Ok(stream) => serve(stream).await,
                Err(e) => tracing::warn!("cannot hand a connection to a worker: {e}"),
            }
        });
    }

    /// Stops the worker threads (after the drain) and waits for them.
    pub async fn stop(&self) {
        let _ = self.stop.send(true);
        let threads = std::mem::take(&mut *self.threads.lock().expect("workers lock"));
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
