//! The sd_notify protocol (SPEC §1), through the `sd-notify` crate: a no-op
//! unless systemd (or a test) set `NOTIFY_SOCKET`. `READY=1` once every
//! listener is bound, `RELOADING=1` with `MONOTONIC_USEC` then `READY=1`
//! around each reload, `STOPPING=1` when draining starts, and `WATCHDOG=1`
//! at half of `WATCHDOG_USEC` while the runtime is alive.

use sd_notify::NotifyState;

/// The crate does nothing (and succeeds) without `NOTIFY_SOCKET`.
fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!("sd_notify: {e}");
    }
}

/// Every listener is bound and serving.
pub fn ready() {
    send(&[NotifyState::Ready]);
}

/// A reload starts (followed by [`ready`] when it ends, whatever its outcome).
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

/// Draining starts.
pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

/// Pings the watchdog at half its interval when systemd asked for one; the
/// ping runs on the main runtime, so a wedged runtime stops it.
pub fn spawn_watchdog() -> Option<tokio::task::JoinHandle<()>> {
    let interval = sd_notify::watchdog_enabled()? / 2;
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval.max(std::time::Duration::from_millis(10)));
        loop {
            tick.tick().await;
            send(&[NotifyState::Watchdog]);
        }
    }))
}
