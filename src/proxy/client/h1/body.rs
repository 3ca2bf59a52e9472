//! A response body read from fulcrum's own HTTP/1 connection, frame by
//! frame as the downstream side asks, never buffered whole. When it ends
//! cleanly, with the connection reusable and nothing unread, dropping it
//! hands the connection back to its pool; cut short, failed or dropped
//! early, the connection is closed.

use super::chunked::{Decoder, Out};
use super::head::Framing;
use super::lines::Lines;
use super::{Conn, READ_ROOM};
use crate::proxy::client::{BoxError, Inner};
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

/// The most a read for a `Content-Length` body asks room for.
const BIG_READ: u64 = 64 * 1024;

enum State {
    Length(u64),
    Chunked(Decoder),
    Close,
    Done,
    /// The body failed: the error, returned at the next poll. Held back one
    /// poll so the downstream side flushes what it has first, and the client
    /// sees the head and the bytes that came before the failure.
    Failing(Option<io::Error>),
    /// The body failed; the connection is not reused.
    Failed,
}

/// The body of one response, and the connection it arrives on.
pub struct Body {
    conn: Option<Conn>,
    state: State,
    reuse: bool,
    /// The pool the connection goes back to, and its server's name there.
    home: Option<(Arc<Inner>, Arc<str>)>,
    /// The response's header lines, when passed through (see `lines`).
    lines: Option<Lines>,
}

impl Body {
    pub(in crate::proxy::client) fn new(
        conn: Conn,
        framing: Framing,
        reuse: bool,
        home: (Arc<Inner>, Arc<str>),
    ) -> Self {
        let state = match framing {
            Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Chunked(Decoder::default()),
            Framing::Close => State::Close,
        };
        Self {
            conn: Some(conn),
            state,
            reuse,
            home: Some(home),
            lines: None,
        }
    }

    /// Carries the response's header lines to the server that writes them.
    pub(in crate::proxy::client) fn with_lines(mut self, lines: Option<Lines>) -> Self {
        self.lines = lines;
        self
    }

    /// The response's header lines, when they pass through (taken once).
    pub fn take_lines(&mut self) -> Option<Lines> {
        self.lines.take()
    }

    /// Fails the body: the connection is closed, the error returned at the
    /// next poll (see [`State::Failing`]).
    fn fail(&mut self, e: impl Into<io::Error>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.state = State::Failing(Some(e.into()));
        self.conn = None;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Reads more into the connection's buffer: the count, 0 at end of stream.
fn fill(conn: &mut Conn, cx: &mut Context<'_>, want: u64) -> Poll<io::Result<usize>> {
    let room = usize::try_from(want.clamp(READ_ROOM as u64, BIG_READ)).unwrap_or(READ_ROOM);
    conn.buf.reserve(room);
    tokio_util::io::poll_read_buf(Pin::new(&mut conn.stream), cx, &mut conn.buf)
}

fn cut_short() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "upstream closed the connection mid-body")
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let State::Failing(e) = &mut this.state {
            let e = e.take();
            this.state = State::Failed;
            return Poll::Ready(e.map(|e| Err(e.into())));
        }
        loop {
            let Some(conn) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            match &mut this.state {
                State::Done | State::Failing(_) | State::Failed => return Poll::Ready(None),
                State::Length(left) => {
                    if conn.buf.is_empty() {
                        match ready!(fill(conn, cx, *left)) {
                            Ok(0) => return this.fail(cut_short(), cx),
                            Ok(_) => continue,
                            Err(e) => return this.fail(e, cx),
                        }
                    }
                    let take = usize::try_from(*left).unwrap_or(usize::MAX).min(conn.buf.len());
                    *left -= take as u64;
                    if *left == 0 {
                        this.state = State::Done;
                    }
                    return Poll::Ready(Some(Ok(Frame::data(conn.buf.split_to(take).freeze()))));
                }
                State::Chunked(decoder) => match decoder.decode(&mut conn.buf) {
                    Ok(Out::Data(data)) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                    Ok(Out::Trailers(map)) => {
                        // the last frame: a consumer may stop polling after it
                        this.state = State::Done;
                        return Poll::Ready(Some(Ok(Frame::trailers(map))));
                    }
                    Ok(Out::End) => {
                        this.state = State::Done;
                        return Poll::Ready(None);
                    }
                    Ok(Out::More) => match ready!(fill(conn, cx, 0)) {
                        Ok(0) => return this.fail(cut_short(), cx),
                        Ok(_) => {}
                        Err(e) => return this.fail(e, cx),
                    },
                    Err(e) => return this.fail(super::invalid(e), cx),
                },
                State::Close => {
                    if !conn.buf.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(conn.buf.split().freeze()))));
                    }
                    match ready!(fill(conn, cx, 0)) {
                        Ok(0) => {
                            this.state = State::Done;
                            return Poll::Ready(None);
                        }
                        Ok(_) => {}
                        Err(e) => return this.fail(e, cx),
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.state, State::Done | State::Failed)
    }

    fn size_hint(&self) -> SizeHint {
        match self.state {
            State::Length(n) => SizeHint::with_exact(n),
            State::Done | State::Failed => SizeHint::with_exact(0),
            State::Chunked(_) | State::Close | State::Failing(_) => SizeHint::default(),
        }
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        let (Some(conn), Some((inner, name))) = (self.conn.take(), self.home.take()) else {
            return;
        };
        if self.reuse && matches!(self.state, State::Done) && conn.buf.is_empty() {
            inner.put_back_own(&name, conn.rested());
        }
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("h1::Body")
    }
}
