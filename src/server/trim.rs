//! Gives memory freed by quiet connections back to the system.
//!
//! A parked HTTP/1 connection frees hyper's buffers, and a quiet HTTP/2
//! connection its `h2` buffers (the patched crate in `vendor/h2`), but the
//! allocator (jemalloc, see `main.rs`) keeps freed pages resident until its
//! decay timers run (10 s by default), and pages mixed with live objects
//! until purged: 2.2 KiB per parked connection without the purge, 0.45 with
//! it (5,000 connections). Every [`EVERY`], if any connection freed its
//! buffers since the last look, one purge of every arena returns the free
//! pages (measured: README, idle memory).

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

#[cfg(feature = "jemalloc")]
#[allow(unsafe_code)]
fn trim() {
    // SAFETY: `arena.<i>.purge` takes no value and returns none, as passed;
    // 4096 is MALLCTL_ARENAS_ALL
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(
            c"arena.4096.purge".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 {
        tracing::warn!("purge failed: {rc}");
    }
}

/// Without jemalloc (the fuzz workspace) there is nothing to purge.
#[cfg(not(feature = "jemalloc"))]
fn trim() {}
