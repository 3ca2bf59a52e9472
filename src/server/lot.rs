//! The parking lot: idle HTTP/1 connections between busy spells, held as
//! bare sockets by one thread.
//!
//! A parked connection used to keep its task, its tokio registration and
//! its timer while it waited for the next request: 3.2-4.6 KiB of heap per
//! idle connection, much of it holes between live allocations that
//! `malloc_trim` could not return. Here it keeps nothing on the heap of its
//! own: its socket leaves tokio (`into_std`), and this thread watches it
//! with its own `epoll` (mio), in one slab, with every idle deadline in one
//! heap. When bytes come (or the client closes), the socket is handed back
//! to `resume`, which serves it on a worker again; at its deadline, or when
//! the lot closes (shutdown), it is dropped, and so closed.
//!
//! The payload `T` travels with the socket: what serving it again needs,
//! and what is given back when it is dropped (its `max_connections` place,
//! its drain watcher).

use crate::upstream::now_ns;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The token of the lot's own waker (new parks, close).
const WAKE: Token = Token(usize::MAX);

/// Socket events taken per `epoll_wait`.
const EVENTS: usize = 1024;

/// Deadlines of resumed sockets kept beyond twice the parked ones before
/// they are swept.
const STALE_SLACK: usize = 1024;

/// What a parked socket is handed back with.
pub type Resume<T> = Box<dyn Fn(std::net::TcpStream, T) + Send>;

/// The handle the workers park sockets with.
pub struct Lot<T> {
    inbox: Arc<Mutex<Inbox<T>>>,
    waker: Waker,
}

struct Inbox<T> {
    parks: Vec<(std::net::TcpStream, u64, T)>,
    closed: bool,
}

/// One parked socket: its payload, and the generation its deadline names.
/// The payload is declared (so dropped) first: its accounting is given
/// back before the client sees the close.
struct Spot<T> {
    payload: T,
    socket: TcpStream,
    generation: u64,
}

impl<T: Send + 'static> Lot<T> {
    /// Starts the lot's thread; woken sockets go to `resume` (on that thread).
    pub fn start(resume: Resume<T>) -> std::io::Result<Self> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKE)?;
        let inbox = Arc::new(Mutex::new(Inbox {
            parks: Vec::new(),
            closed: false,
        }));
        let theirs = inbox.clone();
        std::thread::Builder::new()
            .name("fulcrum-lot".into())
            .spawn(move || run(poll, &theirs, &resume))?;
        Ok(Self { inbox, waker })
    }

    /// Parks `socket` until bytes come or `until_ns` (on `now_ns`'s clock);
    /// after [`Lot::close`] it is dropped at once.
    pub fn park(&self, socket: std::net::TcpStream, until_ns: u64, payload: T) {
        let mut inbox = self.inbox.lock().unwrap_or_else(|e| e.into_inner());
        if inbox.closed {
            return;
        }
        inbox.parks.push((socket, until_ns, payload));
        let first = inbox.parks.len() == 1;
        drop(inbox);
        if first {
            let _ = self.waker.wake();
        }
    }
}

impl<T> Lot<T> {
    /// Drops every parked socket, and every one parked from now on.
    pub fn close(&self) {
        shut(&self.inbox);
        let _ = self.waker.wake();
    }
}

impl<T> Drop for Lot<T> {
    /// The thread ends with the lot (a server dropped without a drain).
    fn drop(&mut self) {
        self.close();
    }
}

/// Marks the inbox closed and drops (closes) what waits in it: later parks
/// are dropped, not queued.
fn shut<T>(inbox: &Mutex<Inbox<T>>) {
    let waiting = {
        let mut inbox = inbox.lock().unwrap_or_else(|e| e.into_inner());
        inbox.closed = true;
        std::mem::take(&mut inbox.parks)
    };
    drop(waiting);
}

fn run<T>(mut poll: Poll, inbox: &Mutex<Inbox<T>>, resume: &Resume<T>) {
    let mut spots: Slab<Spot<T>> = Slab::new();
    let mut deadlines: BinaryHeap<Reverse<(u64, usize, u64)>> = BinaryHeap::new();
    let mut events = Events::with_capacity(EVENTS);
    let mut generation = 0u64;
    loop {
        let timeout = deadlines
            .peek()
            .map(|Reverse((until, _, _))| Duration::from_nanos(until.saturating_sub(now_ns())));
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() != std::io::ErrorKind::Interrupted {
                tracing::error!("parking lot: {e}; its connections are closed, and later ones are not parked");
                // else parks would queue for a thread that is gone, holding
                // their max_connections places for ever
                shut(inbox);
                return;
            }
        }
        for event in &events {
            if event.token() == WAKE {
                continue;
            }
            if let Some(mut spot) = spots.try_remove(event.token().0) {
                let _ = poll.registry().deregister(&mut spot.socket);
                resume(spot.socket.into(), spot.payload);
            }
        }
        // new parks (every wake-up: the waker's event may share a batch)
        let (parks, closed) = {
            let mut inbox = inbox.lock().unwrap_or_else(|e| e.into_inner());
            (std::mem::take(&mut inbox.parks), inbox.closed)
        };
        if closed {
            return; // drops every spot and park: closed
        }
        for (socket, until, payload) in parks {
            let entry = spots.vacant_entry();
            let key = entry.key();
            let mut socket = TcpStream::from_std(socket);
            // already readable: epoll reports it at once
            if let Err(e) = poll.registry().register(&mut socket, Token(key), Interest::READABLE) {
                tracing::warn!("parking lot: cannot watch a connection: {e}; it is closed");
                continue;
            }
            generation += 1;
            entry.insert(Spot {
                socket,
                payload,
                generation,
            });
            deadlines.push(Reverse((until, key, generation)));
        }
        let now = now_ns();
        while let Some(&Reverse((until, key, of))) = deadlines.peek() {
            if until > now {
                break;
            }
            deadlines.pop();
            if spots.get(key).is_some_and(|s| s.generation == of) {
                let mut spot = spots.remove(key);
                let _ = poll.registry().deregister(&mut spot.socket);
            }
        }
        // a resumed socket's deadline stays until it falls due: with many
        // short parks, drop them before they outnumber the live ones
        if deadlines.len() > 2 * spots.len() + STALE_SLACK {
            deadlines.retain(|Reverse((_, key, of))| spots.get(*key).is_some_and(|s| s.generation == *of));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::sync::mpsc;

    fn pair(listener: &std::net::TcpListener) -> (std::net::TcpStream, std::net::TcpStream) {
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        (server, client)
    }

    #[test]
    fn bytes_resume_a_socket_its_deadline_or_the_close_drops_it() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let (tx, rx) = mpsc::channel();
        let lot: Lot<u32> = Lot::start(Box::new(move |s, n| tx.send((s, n)).unwrap())).unwrap();
        let far = now_ns() + 60_000_000_000;
        // bytes: handed back with its payload, the bytes unread
        let (server, mut woken) = pair(&listener);
        lot.park(server, far, 7);
        woken.write_all(b"x").unwrap();
        let (mut back, n) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(n, 7);
        back.set_nonblocking(false).unwrap();
        let mut byte = [0u8; 1];
        back.read_exact(&mut byte).unwrap();
        assert_eq!(&byte, b"x");
        // bytes already there when parked: handed back too
        let (server, mut early) = pair(&listener);
        early.write_all(b"y").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        lot.park(server, far, 8);
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap().1, 8);
        // the deadline: closed, never handed back
        let (server, mut expiring) = pair(&listener);
        lot.park(server, now_ns() + 100_000_000, 9);
        assert_eq!(expiring.read(&mut byte).unwrap(), 0, "closed at its deadline");
        // the close: every parked socket closed, later parks too
        let (server, mut parked) = pair(&listener);
        lot.park(server, far, 10);
        lot.close();
        assert_eq!(parked.read(&mut byte).unwrap(), 0, "closed by the close");
        let (server, mut late) = pair(&listener);
        lot.park(server, far, 11);
        assert_eq!(late.read(&mut byte).unwrap(), 0, "parked after the close");
        assert!(rx.try_recv().is_err(), "none of those was handed back");
    }
}
