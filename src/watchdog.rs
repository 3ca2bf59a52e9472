//! One timer per connection for all its deadlines: the head
//! (`header_read_timeout`), idleness (`idle_timeout`) and, for parked HTTP/1
//! connections, the quiet time before a park. The deadlines come from the
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
            phases: 0,
            sleep: tokio::time::sleep_until(Instant::now()),
        }
    }
}

impl Watchdog {
    /// From now on the connection is never parked (it is not HTTP/1).
    pub fn never_park(self: Pin<&mut Self>) {
        *self.project().park_after = None;
    }
}

impl Future for Watchdog {
    type Output = Alarm;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Alarm> {
        let mut this = self.project();
        let phases = this.activity.phases();
        if phases != *this.phases {
            // polled beside the connection, so right after the change; a
            // later deadline waits for the timer (which then works it out
            // again), so the timer is only moved when the new one is earlier:
            // most requests move nothing
            *this.phases = phases;
            let due = match this.activity.next(*this.head, *this.idle, *this.park_after) {
                Ok(left) => Instant::now() + left,
                Err(_) => Instant::now(),
            };
            if due < this.sleep.deadline() {
                this.sleep.as_mut().reset(due);
            }
        }
        loop {
            std::task::ready!(this.sleep.as_mut().poll(cx));
            match this.activity.next(*this.head, *this.idle, *this.park_after) {
                Ok(left) => this.sleep.as_mut().reset(Instant::now() + left),
                Err(alarm) => {
                    // looked at again on the next poll (the park flag is set by then)
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
}
