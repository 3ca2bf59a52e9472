//! What a downstream connection is doing, for its two timers: the request
//! head must arrive within `limits.header_read_timeout` (slowloris), and a
//! keep-alive connection with no request in flight closes after
//! `limits.idle_timeout`.
//!
//! hyper's own HTTP/1 header timer also runs while a keep-alive connection
//! waits for its next request, so it would cut idle connections at the
//! header timeout and count them as attacks; fulcrum times both phases here,
//! the same way for HTTP/1 and HTTP/2. The socket wrapper notes the first
//! bytes of a head, the proxy service marks requests in flight (until their
//! response body ends), and one watchdog per connection sleeps until the
//! current phase's deadline.

use crate::h2_guard::FrameGuard;
use crate::head_scan::{HeadScan, Verdict};
use crate::upstream::now_ns;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// One connection's phase, shared by its socket, its service and its watchdog.
#[derive(Debug)]
pub struct Activity {
    in_flight: AtomicU32,
    /// Bytes of a request head have arrived with no request in flight.
    reading: AtomicBool,
    /// When the current phase (idle or reading a head) began.
    since_ns: AtomicU64,
    /// A head just read had both Content-Length and Transfer-Encoding.
    ambiguous: AtomicBool,
    /// Bumped each time the last request in flight ends: a new head may follow.
    generation: AtomicU64,
    /// Bumped at each change of phase (a head begins, the last request
    /// ends): the watchdog's deadline moves.
    phases: AtomicU32,
    /// The connection became a tunnel (101): its bytes are no longer HTTP.
    upgraded: AtomicBool,
    /// Requests handed to the service so far.
    begun: AtomicU64,
    /// The connection asked its socket to end hyper's connection at the
    /// next idle read, so the socket can wait without hyper's buffers.
    park: AtomicBool,
    /// An answer said `Connection: close`: the connection ends, never parks.
    closing: AtomicBool,
    /// The connection speaks HTTP/2: its bytes so far agree with the
    /// preface (cleared when they turn out not to).
    http2: AtomicBool,
}

/// What the watchdog found due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alarm {
    /// A deadline passed: the connection ends.
    Expired(Expired),
    /// Quiet long enough to park (see `server::serve`).
    Park,
}

/// Why the watchdog ends a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// The head did not arrive within `header_read_timeout`.
    Head,
    /// Nothing in flight for `idle_timeout`.
    Idle,
}

impl Activity {
    /// A new connection: its first head is due within the header timeout.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            in_flight: AtomicU32::new(0),
            reading: AtomicBool::new(true),
            since_ns: AtomicU64::new(now_ns()),
            ambiguous: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            phases: AtomicU32::new(0),
            upgraded: AtomicBool::new(false),
            begun: AtomicU64::new(0),
            park: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            http2: AtomicBool::new(false),
        })
    }

    /// A request arrived: counted until the returned token drops.
    pub fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Relaxed);
        self.begun.fetch_add(1, Relaxed);
        self.reading.store(false, Relaxed);
        Busy(self.clone())
    }

    /// The response switched protocols: stop reading the bytes as HTTP heads.
    pub fn upgraded(&self) {
        self.upgraded.store(true, Relaxed);
    }

    /// An answer closes the connection after it: it must not be parked.
    pub fn closing(&self) {
        self.closing.store(true, Relaxed);
    }

    /// Whether the connection speaks HTTP/2.
    pub fn http2(&self) -> bool {
        self.http2.load(Relaxed)
    }

    /// Whether a park has been asked for and not yet cancelled by bytes.
    pub fn parking(&self) -> bool {
        self.park.load(Relaxed)
    }

    /// Whether hyper's connection may be ended here and the socket kept:
    /// nothing in flight, no head begun, not a tunnel, not closing.
    fn parkable(&self) -> bool {
        self.in_flight.load(Relaxed) == 0
            && !self.reading.load(Relaxed)
            && !self.upgraded.load(Relaxed)
            && !self.closing.load(Relaxed)
    }

    /// Whether the request just begun came with ambiguous framing (see `head_scan`).
    pub fn take_ambiguous(&self) -> bool {
        self.ambiguous.swap(false, Relaxed)
    }

    /// Request bytes arrived while nothing is in flight: a head starts.
    fn head_bytes(&self) {
        if !self.reading.load(Relaxed) {
            self.reading.store(true, Relaxed);
            self.since_ns.store(now_ns(), Relaxed);
            self.phases.fetch_add(1, Relaxed);
        }
    }

    /// When the connection's watchdog must look next, or what is due now:
    /// the head deadline while a head is read, else the idle deadline, and
    /// (with `park_after`) the park after that much quiet. While busy it
    /// looks again after the shortest of them.
    pub fn next(&self, head: Duration, idle: Duration, park_after: Option<Duration>) -> Result<Duration, Alarm> {
        let park_after = park_after.filter(|_| !self.parking());
        if self.in_flight.load(Relaxed) > 0 {
            return Ok(park_after.map_or(head.min(idle), |p| p.min(head).min(idle)));
        }
        let (limit, why) = if self.reading.load(Relaxed) {
            (head, Expired::Head)
        } else {
            (idle, Expired::Idle)
        };
        let elapsed = Duration::from_nanos(now_ns().saturating_sub(self.since_ns.load(Relaxed)));
        let left = |limit: Duration| limit.checked_sub(elapsed).filter(|d| !d.is_zero());
        let Some(expires) = left(limit) else {
            return Err(Alarm::Expired(why));
        };
        match park_after.filter(|_| self.parkable()) {
            Some(park) => left(park).map(|p| p.min(expires)).ok_or(Alarm::Park),
            None => Ok(expires),
        }
    }

    /// When the connection last went idle (or began), on `now_ns`'s clock.
    pub fn idle_since_ns(&self) -> u64 {
        self.since_ns.load(Relaxed)
    }

    /// Changes of phase so far (see `watchdog`).
    pub fn phases(&self) -> u32 {
        self.phases.load(Relaxed)
    }

    /// Asks the socket to end hyper's connection at its next idle read.
    pub fn park(&self) {
        self.park.store(true, Relaxed);
    }

    /// The park is over (or cancelled): the next quiet spell parks again.
    pub fn unpark(&self) {
        self.park.store(false, Relaxed);
    }
}

/// A request in flight on its connection.
#[derive(Debug)]
pub struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Relaxed) == 1 {
            self.0.since_ns.store(now_ns(), Relaxed);
            self.0.generation.fetch_add(1, Relaxed);
            self.0.phases.fetch_add(1, Relaxed);
        }
    }
}

/// The downstream socket, noting when request bytes arrive.
pub struct Noted<T> {
    inner: T,
    activity: Arc<Activity>,
    scan: HeadScan,
    /// The activity generation whose head `scan` judged.
    generation: u64,
    /// hyper's own error answer with its cause added, and how much of it is written.
    rewritten: Option<(Vec<u8>, usize)>,
    /// Final HTTP/1 response heads written: fewer than the requests begun
    /// means the head being written answers one of them.
    heads: u64,
    /// An HTTP/2 connection's flood guard (boxed: HTTP/1 connections carry
    /// only the pointer); decided by the first bytes read.
    h2: Option<Box<FrameGuard>>,
    first_read: bool,
    /// hyper was shown the end of the stream to park the connection.
    parked: bool,
}

impl<T> Noted<T> {
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        Self {
            inner,
            activity,
            scan: HeadScan::default(),
            generation: 0,
            rewritten: None,
            heads: 0,
            h2: None,
            first_read: true,
            parked: false,
        }
    }

    /// The socket, given back.
    pub fn into_inner(self) -> T {
        self.inner
    }

    /// The connection's activity, as the socket notes it.
    pub fn activity(&self) -> &Arc<Activity> {
        &self.activity
    }

    /// Whether hyper's connection ended because this socket parked it.
    pub fn parked(&self) -> bool {
        self.parked
    }
}

impl<T: AsyncWrite + Unpin> Noted<T> {
    /// Writes what is left of a rewritten answer; Ready(Ok) once it is all out.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, done)) = &mut self.rewritten {
            match Pin::new(&mut self.inner).poll_write(cx, &bytes[*done..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    *done += n;
                    if *done == bytes.len() {
                        self.rewritten = None;
                    }
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Whether a write starting with `start` is hyper's own answer to a
    /// bad head: a final response head that answers no request the service
    /// was given (and nothing is in flight or tunnelled).
    fn own_answer(&mut self, start: &[u8]) -> bool {
        if !crate::head_error::is_final_head(start) || self.activity.upgraded.load(Relaxed) {
            return false;
        }
        if self.heads < self.activity.begun.load(Relaxed) {
            self.heads += 1;
            return false;
        }
        self.activity.in_flight.load(Relaxed) == 0
    }

    /// Takes `whole` as written, with its cause added (see `head_error`);
    /// false when it is not an empty error answer.
    fn rewrite(&mut self, whole: &[u8]) -> bool {
        match crate::head_error::with_cause(whole) {
            Some(bytes) => {
                self.rewritten = Some((bytes, 0));
                true
            }
            None => false,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Noted<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.parked {
            return Poll::Ready(Ok(())); // what arrives now is the next connection's
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if self.activity.parking() {
            // nothing waiting at an idle moment: a clean end for hyper (no
            // head begun, so it finishes gracefully); bytes cancel the park
            if polled.is_pending() && self.activity.parkable() {
                self.parked = true;
                return Poll::Ready(Ok(()));
            }
            if buf.filled().len() > before {
                self.activity.unpark();
            }
        }
        // bytes that may begin a request head (over HTTP/2, a HEADERS frame)
        let mut head = buf.filled().len() > before;
        if head && (self.first_read || self.h2.is_some()) {
            let this = &mut *self;
            let read = &buf.filled()[before..];
            if std::mem::take(&mut this.first_read) && FrameGuard::may_be_h2(read) {
                this.h2 = Some(Box::default());
                this.activity.http2.store(true, Relaxed);
            }
            if let Some(guard) = &mut this.h2 {
                head = guard
                    .feed(read)
                    .map_err(|flood| io::Error::new(io::ErrorKind::InvalidData, flood))?;
                if !guard.on() {
                    this.h2 = None;
                    this.activity.http2.store(false, Relaxed);
                }
            }
        }
        if head && self.activity.in_flight.load(Relaxed) == 0 {
            self.activity.head_bytes();
            let this = &mut *self;
            if this.activity.upgraded.load(Relaxed) {
                this.scan.stop();
            }
            let generation = this.activity.generation.load(Relaxed);
            if generation != this.generation {
                this.generation = generation;
                this.scan.next_head();
            }
            if this.scan.feed(&buf.filled()[before..]) == (Verdict::Ended { ambiguous: true }) {
                this.activity.ambiguous.store(true, Relaxed);
            }
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Noted<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        std::task::ready!(self.drain(cx))?;
        if self.own_answer(buf) && self.rewrite(buf) {
            // taken whole; it goes out now or on the next write or flush
            return match self.drain(cx) {
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                _ => Poll::Ready(Ok(buf.len())),
            };
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.drain(cx))?;
        if self.parked {
            // hyper has flushed its buffers; the socket stays open, parked
            return Pin::new(&mut self.inner).poll_flush(cx);
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        std::task::ready!(self.drain(cx))?;
        if bufs.first().is_some_and(|b| self.own_answer(b)) {
            let whole: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            if self.rewrite(&whole) {
                return match self.drain(cx) {
                    Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                    _ => Poll::Ready(Ok(whole.len())),
                };
            }
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
}
