//! One timer per connection for all its deadlines: the head
//! (`header_read_timeout`), idleness (`idle_timeout`) and the quiet time
//! before a park (HTTP/1) or, in quiet-only mode, before an HTTP/2
//! connection is polled once more so that it gives its buffers back. The deadlines come from the
//! connection's [`Activity`]; they are worked out again when the timer fires
//! or the activity changes phase (a head begins, the last request ends), so
//! polling the watchdog alongside the connection costs one atomic load and
//! one timer poll.

use crate::activity::{Activity, Alarm};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

pin_project! {
    /// Resolves with each alarm as it falls due; poll it again for the next.
    pub struct Watchdog {
        activity: Arc<Activity>,
        head: Duration,
        idle: Duration,
        park_after: Option<Duration>,
        // quiet-only: the quiet alarm is raised once per quiet spell and
        // nothing is parked
        quiet_only: bool,
        // the phase whose quiet spell was already alarmed (quiet-only)
        hushed: Option<u32>,
        // the activity's phase count when the deadline was last worked out
        phases: u32,
        #[pin]
        sleep: Sleep,
    }
}

impl Watchdog {
    /// Watches `activity` against its limits; `park_after` None never parks.
    pub fn new(activity: Arc<Activity>, head: Duration, idle: Duration, park_after: Option<Duration>) -> Self {
        Self {
            activity,
            head,
            idle,
            park_after,
            quiet_only: false,
            hushed: None,
            phases: 0,
            sleep: tokio::time::sleep_until(Instant::now()),
        }
    }
}

impl Watchdog {
    /// From now on the connection is never parked (it is not HTTP/1): each
    /// quiet spell raises [`Alarm::Park`] once, and the connection's owner
    /// only polls the connection again (the patched `h2` then gives its
    /// buffers back, see `vendor/h2/FULCRUM.md`).
    pub fn quiet_only(self: Pin<&mut Self>) {
        *self.project().quiet_only = true;
    }
}

impl Future for Watchdog {
    type Output = Alarm;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Alarm> {
        let mut this = self.project();
        let phases = this.activity.phases();
        // a quiet spell already alarmed is not alarmed again
        let park_after = this.park_after.filter(|_| *this.hushed != Some(phases));
        if phases != *this.phases {
            // polled beside the connection, so right after the change; a
            // later deadline waits for the timer (which then works it out
            // again), so the timer is only moved when the new one is earlier:
            // most requests move nothing
            *this.phases = phases;
            let due = match this.activity.next(*this.head, *this.idle, park_after) {
                Ok(left) => Instant::now() + left,
                Err(_) => Instant::now(),
            };
            if due < this.sleep.deadline() {
                this.sleep.as_mut().reset(due);
            }
        }
        loop {
            std::task::ready!(this.sleep.as_mut().poll(cx));
            match this.activity.next(*this.head, *this.idle, park_after) {
                Ok(left) => this.sleep.as_mut().reset(Instant::now() + left),
                Err(alarm) => {
                    // looked at again on the next poll (the park flag is set
                    // by then, or the spell hushed)
                    if *this.quiet_only && alarm == Alarm::Park {
                        *this.hushed = Some(phases);
                    }
                    this.sleep.as_mut().reset(Instant::now());
                    return Poll::Ready(alarm);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    // real clocks (the activity reads the system's monotonic clock), short
    // limits; only lower bounds are asserted, the rest is a deadline
    use super::*;
    use crate::activity::Expired;

    const PARK: Duration = Duration::from_millis(50);
    const HEAD: Duration = Duration::from_millis(300);
    const IDLE: Duration = Duration::from_millis(600);
    const PATIENCE: Duration = Duration::from_secs(20);

    async fn next(dog: Pin<&mut Watchdog>) -> Alarm {
        tokio::time::timeout(PATIENCE, dog)
            .await
            .expect("an alarm within the deadline")
    }

    #[tokio::test]
    async fn a_quiet_connection_parks_then_expires_idle() {
        let activity = Activity::new();
        drop(activity.begin()); // one request came and went: idle from now
        let start = Instant::now();
        let mut dog = std::pin::pin!(Watchdog::new(activity.clone(), HEAD, IDLE, Some(PARK)));
        assert_eq!(next(dog.as_mut()).await, Alarm::Park);
        assert!(start.elapsed() >= PARK);
        activity.park();
        assert_eq!(next(dog.as_mut()).await, Alarm::Expired(Expired::Idle));
        assert!(start.elapsed() >= IDLE);
    }

    #[tokio::test]
    async fn each_quiet_spell_parks_again_after_a_request() {
        let activity = Activity::new();
        let mut dog = std::pin::pin!(Watchdog::new(activity.clone(), HEAD, IDLE, Some(PARK)));
        for _ in 0..3 {
            let busy = activity.begin();
            // polled while busy, as beside a connection: nothing is due
            assert!(tokio::time::timeout(PARK * 2, dog.as_mut()).await.is_err());
            drop(busy);
            let ended = Instant::now();
            assert_eq!(next(dog.as_mut()).await, Alarm::Park);
            assert!(ended.elapsed() >= PARK);
            activity.park();
            activity.unpark();
        }
    }

    #[tokio::test]
    async fn a_connection_that_never_sends_a_head_expires_at_the_head_limit() {
        let start = Instant::now();
        let mut dog = std::pin::pin!(Watchdog::new(Activity::new(), HEAD, IDLE, Some(PARK)));
        assert_eq!(next(dog.as_mut()).await, Alarm::Expired(Expired::Head));
        assert!(start.elapsed() >= HEAD);
    }

    #[tokio::test]
    async fn nothing_falls_due_while_a_request_is_in_flight() {
        let activity = Activity::new();
        let busy = activity.begin();
        let dog = Watchdog::new(activity, HEAD, IDLE, Some(PARK));
        assert!(tokio::time::timeout(IDLE * 2, dog).await.is_err());
        drop(busy);
    }

    #[tokio::test]
    async fn quiet_only_alarms_each_quiet_spell_once_and_never_parks() {
        let activity = Activity::new();
        let mut dog = std::pin::pin!(Watchdog::new(activity.clone(), HEAD, IDLE, Some(PARK)));
        dog.as_mut().quiet_only();
        for _ in 0..2 {
            drop(activity.begin());
            let ended = Instant::now();
            assert_eq!(next(dog.as_mut()).await, Alarm::Park);
            assert!(ended.elapsed() >= PARK);
            assert!(!activity.parking(), "quiet-only never asks the socket to park");
            // the same spell raises nothing more before the idle limit
            assert!(tokio::time::timeout(PARK * 2, dog.as_mut()).await.is_err());
        }
        assert_eq!(next(dog.as_mut()).await, Alarm::Expired(Expired::Idle));
    }
}
