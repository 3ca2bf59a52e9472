//! Gives memory freed by quiet connections back to the system.
//!
//! A parked HTTP/1 connection frees hyper's buffers, and a quiet HTTP/2
//! connection its `h2` buffers (the patched crate in `vendor/h2`), but the
//! allocator (jemalloc, see `main.rs`) keeps what was freed: up to its
//! thread cache's size in each thread (raised in `main.rs`'s `malloc_conf`
//! so that 1,000 busy connections do not churn it), and freed pages
//! resident until its decay timers run (10 s by default), or for good where
//! they share a page with live objects. Every [`EVERY`], each runtime's
//! trimmer (the main one and each worker's, see [`spawn`]) looks whether a
//! connection on its thread freed its buffers since its last look; if one
//! did, it flushes its thread's cache and purges every arena: 2.2 KiB per
//! parked connection without the purge, 0.45 with it (5,000 connections;
//! measured: README, idle memory).

use std::cell::Cell;
use std::time::Duration;

/// How often parked connections' memory is returned, at most.
const EVERY: Duration = Duration::from_millis(500);

thread_local! {
    /// Whether a connection on this thread freed its buffers since the
    /// last trim: each runtime is one thread (`workers`).
    static FREED: Cell<bool> = const { Cell::new(false) };
}

/// A connection parked, or an HTTP/2 connection went quiet (and freed its
/// slabs): what it freed is worth returning.
pub fn freed() {
    FREED.with(|f| f.set(true));
}

/// Runs the trimmer of this thread's runtime until aborted.
pub fn spawn() -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if FREED.with(|f| f.replace(false)) {
                trim();
            }
        }
    })
}

#[cfg(feature = "jemalloc")]
fn trim() {
    // this thread's cache first: what it holds is not free to purge
    ctl(c"thread.tcache.flush");
    // 4096 is MALLCTL_ARENAS_ALL
    ctl(c"arena.4096.purge");
}

/// Runs a mallctl that takes no value and returns none.
#[cfg(feature = "jemalloc")]
#[allow(unsafe_code)]
fn ctl(name: &std::ffi::CStr) {
    // SAFETY: `name` is NUL-terminated, and the call passes no value and
    // reads none, as both names used here expect (passing a value makes
    // them fail with EPERM)
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 {
        tracing::warn!("{name:?} failed: {rc}");
    }
}

/// Without jemalloc (the fuzz workspace) there is nothing to purge.
#[cfg(not(feature = "jemalloc"))]
fn trim() {}
