//! A pool's shared protection state, kept across reloads while the pool
//! stays: the FIFO queue of requests waiting for a free server slot, and the
//! count of retries in flight for the retry budget.
//!
//! Only the queue's head tries to take a slot; a freed slot wakes the head,
//! and a head that leaves (served, timed out or cancelled) wakes the next
//! one, so a wake-up is never lost and order holds.

use std::collections::VecDeque;
use std::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Protection state of one pool.
#[derive(Debug, Default)]
pub struct Shared {
    waiting: Mutex<VecDeque<Arc<Notify>>>,
    depth: AtomicUsize,
    /// Retry attempts in flight (for `retries.budget`).
    pub retries: AtomicU64,
}

impl Shared {
    /// Requests waiting now.
    pub fn depth(&self) -> usize {
        self.depth.load(Ordering::SeqCst)
    }

    /// Called once a server slot is free: wakes the queue's head, if any.
    pub fn released(&self) {
        // pairs with the fence in `join`: either the releaser sees the new
        // waiter, or the waiter's next try sees the freed slot
        fence(Ordering::SeqCst);
        if self.depth.load(Ordering::Relaxed) == 0 {
            return;
        }
        if let Some(head) = self.lock().front() {
            head.notify_one();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Arc<Notify>>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Joins the end of the queue; None when `max` are waiting already.
    pub fn join(&self, max: usize) -> Option<Ticket<'_>> {
        let me = Arc::new(Notify::new());
        {
            let mut q = self.lock();
            if q.len() >= max {
                return None;
            }
            q.push_back(me.clone());
            self.depth.store(q.len(), Ordering::SeqCst);
        }
        fence(Ordering::SeqCst);
        Some(Ticket { shared: self, me })
    }
}

/// A place in the queue; dropping it leaves the queue.
pub struct Ticket<'a> {
    shared: &'a Shared,
    me: Arc<Notify>,
}

impl Ticket<'_> {
    /// Whether this request is first in line (only the head takes slots).
    pub fn is_head(&self) -> bool {
        self.shared.lock().front().is_some_and(|h| Arc::ptr_eq(h, &self.me))
    }

    /// Waits until this request should try again: a slot freed while it was
    /// the head, or it became the head.
    pub async fn turn(&self) {
        self.me.notified().await;
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut q = self.shared.lock();
        let was_head = q.front().is_some_and(|h| Arc::ptr_eq(h, &self.me));
        q.retain(|w| !Arc::ptr_eq(w, &self.me));
        self.shared.depth.store(q.len(), Ordering::SeqCst);
        if was_head {
            // the next in line may have a free slot waiting for it
            if let Some(next) = q.front() {
                next.notify_one();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_is_bounded_and_first_in_first_out() {
        let s = Shared::default();
        let a = s.join(2).unwrap();
        let b = s.join(2).unwrap();
        assert!(s.join(2).is_none(), "full at max");
        assert_eq!(s.depth(), 2);
        assert!(a.is_head() && !b.is_head());
        drop(a);
        assert!(b.is_head());
        drop(b);
        assert_eq!(s.depth(), 0);
        assert!(s.join(0).is_none(), "max 0 queues nobody");
    }

    #[tokio::test]
    async fn a_freed_slot_wakes_the_head_and_a_leaving_head_wakes_the_next() {
        let s = Shared::default();
        let a = s.join(10).unwrap();
        let b = s.join(10).unwrap();
        s.released();
        tokio::time::timeout(std::time::Duration::from_secs(5), a.turn())
            .await
            .expect("the head is woken");
        drop(a);
        tokio::time::timeout(std::time::Duration::from_secs(5), b.turn())
            .await
            .expect("the next becomes head and is woken");
    }

    #[tokio::test]
    async fn a_cancelled_middle_waiter_leaves_without_a_trace() {
        let s = Shared::default();
        let a = s.join(10).unwrap();
        let b = s.join(10).unwrap();
        let c = s.join(10).unwrap();
        drop(b);
        assert_eq!(s.depth(), 2);
        drop(a);
        assert!(c.is_head());
    }
}
