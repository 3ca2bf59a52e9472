//! Gives memory freed by quiet connections back to the system.
//!
//! A parked HTTP/1 connection frees hyper's buffers, and a quiet HTTP/2
//! connection its `h2` buffers (the patched crate in `vendor/h2`), but
//! glibc's allocator keeps freed chunks in the middle of its heaps resident:
//! without a trim the process keeps the resident size of its busiest moment.
//! Every [`EVERY`], if any connection freed its buffers since the last look,
//! one `malloc_trim(0)` returns the free pages (measured: README, idle
//! memory).

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

/// How often parked connections' memory is returned, at most.
const EVERY: Duration = Duration::from_millis(500);

static FREED: AtomicBool = AtomicBool::new(false);

/// A connection parked, or an HTTP/2 connection went quiet (and freed its
/// slabs): what it freed is worth returning.
pub fn freed() {
    if !FREED.load(Relaxed) {
        FREED.store(true, Relaxed);
    }
}

/// Runs the trimmer until aborted.
pub fn spawn() -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if FREED.swap(false, Relaxed) {
                trim();
            }
        }
    })
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn trim() {
    // SAFETY: malloc_trim only walks the allocator's own free lists under its locks
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
