//! Banned connections held unread until their ban ends (a tarpit).
//!
//! Closing a banned client's connection at once lets it reconnect at once:
//! a single flooding loop then made about 4,000 connections a second, and
//! though each cost fulcrum only an accept and a close, the loop's own churn
//! on a shared 2-core machine kept a good client's p99 at 3-5 ms. Held, the
//! connection answers nothing and reads nothing (its receive buffer shrunk to
//! [`HELD_RCVBUF`], so the kernel holds little of what the client writes),
//! and the client waits on it instead of reconnecting.
//!
//! Held connections are not served, so they do not count toward
//! `max_connections`; at most [`MAX_HELD`] per listener are held, and past
//! that the one whose ban ends first is closed. They close when the
//! listener stops.

use crate::upstream::now_ns;
use std::time::Duration;
use tokio::net::TcpStream;

/// Connections one listener holds at most.
pub const MAX_HELD: usize = 1024;

/// The receive buffer asked for a held socket (the kernel doubles it).
const HELD_RCVBUF: usize = 4096;

/// One listener's held connections and when (on `now_ns`'s clock) each is
/// closed.
pub struct Tarpit {
    held: Vec<(u64, TcpStream)>,
    max: usize,
}

impl Default for Tarpit {
    fn default() -> Self {
        Self::new(MAX_HELD)
    }
}

impl Tarpit {
    /// A tarpit holding at most `max` connections.
    pub fn new(max: usize) -> Self {
        Self { held: Vec::new(), max }
    }

    /// Holds `stream` until `until`, closing the earliest-ending one first
    /// when the tarpit is full.
    pub fn hold(&mut self, stream: TcpStream, until: u64) {
        let _ = socket2::SockRef::from(&stream).set_recv_buffer_size(HELD_RCVBUF);
        if self.held.len() >= self.max {
            if let Some(first) = self.earliest() {
                self.held.swap_remove(first);
            }
        }
        self.held.push((until, stream));
    }

    /// Closes every connection whose time is up at `now`.
    pub fn release(&mut self, now: u64) {
        self.held.retain(|(until, _)| *until > now);
    }

    /// Waits until the earliest-ending held connection is due (forever when
    /// none is held).
    pub async fn due(&self) {
        match self.earliest() {
            Some(i) => tokio::time::sleep(Duration::from_nanos(self.held[i].0.saturating_sub(now_ns()))).await,
            None => std::future::pending().await,
        }
    }

    fn earliest(&self) -> Option<usize> {
        (0..self.held.len()).min_by_key(|&i| self.held[i].0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    /// A connected pair: (the accepted side, the client side).
    async fn pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        (listener.accept().await.unwrap().0, client)
    }

    async fn closed(client: &mut TcpStream) -> bool {
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_millis(500), client.read(&mut byte)).await;
        matches!(read, Ok(Ok(0)) | Ok(Err(_)))
    }

    #[tokio::test]
    async fn held_connections_close_when_due_and_the_earliest_first_when_full() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut pit = Tarpit::new(4);
        let now = now_ns();
        let (held, mut soon) = pair(&listener).await;
        pit.hold(held, now + 1_000_000);
        let (held, mut late) = pair(&listener).await;
        pit.hold(held, now + 60_000_000_000);
        tokio::time::timeout(Duration::from_secs(5), pit.due())
            .await
            .expect("the first is due");
        pit.release(now_ns());
        assert_eq!(pit.held.len(), 1);
        assert!(closed(&mut soon).await, "released: closed");
        assert!(!closed(&mut late).await, "still held: open and silent");
        let mut clients = Vec::new();
        for _ in 1..4 {
            let (held, client) = pair(&listener).await;
            pit.hold(held, now + 120_000_000_000);
            clients.push(client);
        }
        assert_eq!(pit.held.len(), 4);
        pit.hold(pair(&listener).await.0, now + 120_000_000_000);
        assert_eq!(pit.held.len(), 4, "bounded");
        assert!(closed(&mut late).await, "the earliest-ending one made room");
    }
}
