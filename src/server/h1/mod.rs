//! fulcrum's own HTTP/1 server for the plain case, in front of hyper's.
//!
//! A plain HTTP/1 connection's busy spell starts here, and so does a TLS
//! connection whose ALPN did not choose HTTP/2. While its requests
//! are bodiless `GET`s (see `request` for exactly which), this loop reads
//! each head, calls the proxy service and writes the answer itself, framed
//! by hyper's rules (see `response`): one buffer for reads and one for
//! writes per spell, no dispatcher, no per-request task or timer. The first
//! request that is not of that kind, or any head it cannot read, ends the
//! loop with the bytes read so far, and hyper serves the rest of the spell
//! from them (`Prefixed`), exactly as it served every request before
//! (hyper-util's auto connection over TLS, which also takes HTTP/2 without
//! ALPN).
//!
//! It keeps hyper's behaviour where a client can see it: pipelined requests
//! are answered in order; a client that closes while its request is in
//! flight ends the request (hyper does not half-close either); a response's
//! body goes out as its frames come, held only until the next frame is not
//! ready; a body that fails or falls short of its length closes the
//! connection after the bytes before the cut. The connection's watchdog
//! (head and idle timeouts, the park) and the drain are polled only while
//! it waits for a head: a request in flight is timed by its route.

mod request;
mod response;

use crate::activity::{Alarm, Expired, Noted};
use crate::config::Limits;
use crate::proxy::ProxyService;
use crate::watchdog::Watchdog;
use bytes::BytesMut;
use http_body::Body;
use http_body_util::BodyExt;
use request::Head;
use response::Length;
use std::pin::Pin;
use std::task::Poll;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::drain::Watcher;

/// The read buffer's size, as hyper's.
const READ_BUF: usize = 8192;

/// Response bytes held back at most before they are written.
const WRITE_AT: usize = 16 * 1024;

/// How the loop ended.
#[derive(Debug)]
pub enum End {
    /// The connection is done (closed, or to be dropped).
    Closed,
    /// Quiet with nothing read: the connection can be parked.
    Park,
    /// A deadline passed with no request in flight.
    Expired(Expired),
    /// A request this loop does not take: hyper goes on from these bytes.
    Handoff(BytesMut),
}

/// Serves the connection's requests until it ends, parks, or a request is
/// hyper's. A connection that is not `parkable` (TLS) gives back its buffers
/// at the quiet alarm instead and waits on.
pub async fn serve<I: AsyncRead + AsyncWrite + Unpin>(
    io: &mut Noted<I>,
    service: &mut ProxyService,
    limits: &Limits,
    mut dog: Pin<&mut Watchdog>,
    drain: &mut Watcher,
    parkable: bool,
) -> End {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut spans = Vec::new();
    // buffers given back at a quiet alarm (TLS): the next read takes only
    // what tokio reserves for an empty buffer (64 bytes) until bytes come
    let mut quiet = false;
    let told = drain.told_later();
    tokio::pin!(told);
    loop {
        let req = loop {
            if !buf.is_empty() {
                match request::read(&mut buf, limits.max_header_bytes, limits.max_headers, &mut spans) {
                    Head::Ours(req) => break req,
                    Head::Theirs => return End::Handoff(buf),
                    Head::Partial => {}
                }
            } else if drain.draining() {
                return End::Closed;
            }
            if !quiet {
                room(&mut buf);
            }
            tokio::select! {
                biased;
                read = io.read_buf(&mut buf) => match read {
                    Ok(0) | Err(_) => return End::Closed,
                    Ok(_) => quiet = false,
                },
                alarm = dog.as_mut() => match alarm {
                    // a head begun is never parked (`Activity::next`)
                    Alarm::Park if parkable => return End::Park,
                    Alarm::Park => {
                        if buf.is_empty() {
                            (buf, out, spans) = Default::default();
                            quiet = true;
                            super::trim::freed();
                        }
                    }
                    Alarm::Expired(why) => return End::Expired(why),
                },
                // a head already begun is read and answered, then the connection closes
                () = &mut told, if buf.is_empty() => return End::Closed,
            }
        };
        let mut call = service.serve(req);
        let resp = tokio::select! {
            biased;
            resp = &mut call => match resp {
                Ok(resp) => resp,
                Err(never) => match never {},
            },
            () = closed(io, &mut buf) => return End::Closed,
        };
        let kept = answer(io, &mut buf, &mut out, resp, drain.draining()).await;
        out.clear();
        if !kept || drain.draining() {
            let _ = io.shutdown().await;
            return End::Closed;
        }
    }
}

/// Writes one response; false when the connection must close after it.
async fn answer<I: AsyncRead + AsyncWrite + Unpin>(
    io: &mut Noted<I>,
    buf: &mut BytesMut,
    out: &mut Vec<u8>,
    resp: http::Response<crate::proxy::ProxyBody>,
    closing: bool,
) -> bool {
    let (parts, mut body) = resp.into_parts();
    let lines = body.take_lines();
    let length = if body.is_end_stream() {
        Length::Empty
    } else {
        body.size_hint().exact().map_or(Length::Unknown, Length::Known)
    };
    let reason = response::reason(&parts.extensions);
    let Some((mut framing, close)) = response::head(
        parts.status,
        reason,
        (lines.as_ref(), &parts.headers),
        length,
        closing,
        out,
    ) else {
        return false;
    };
    drop(parts);
    let mut whole = true;
    if length != Length::Empty && framing != response::Framing::Length(0) {
        whole = loop {
            // a frame ready now joins what is held; else what is held goes first
            let frame = match std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut body).poll_frame(cx))).await {
                Poll::Ready(frame) => frame,
                Poll::Pending => {
                    if !out.is_empty() && write(io, out).await.is_err() {
                        return false;
                    }
                    tokio::select! {
                        biased;
                        frame = body.frame() => frame,
                        () = closed(io, buf) => return false,
                    }
                }
            };
            match frame.map(|f| f.map(|f| f.into_data())) {
                None => break response::end(&framing, None, out),
                Some(Ok(Ok(data))) => {
                    response::data(&mut framing, &data, out);
                    if body.is_end_stream() || framing == response::Framing::Length(0) {
                        break response::end(&framing, None, out);
                    }
                    if out.len() >= WRITE_AT && write(io, out).await.is_err() {
                        return false;
                    }
                }
                Some(Ok(Err(frame))) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        break response::end(&framing, Some(&trailers), out);
                    }
                }
                // what came before the failure still goes out
                Some(Err(_)) => break false,
            }
        };
    }
    // the body ends (and its upstream connection goes back) before the write
    drop(body);
    (out.is_empty() || write(io, out).await.is_ok()) && whole && !close
}

/// Writes and empties `out`.
async fn write<I: AsyncWrite + Unpin>(io: &mut Noted<I>, out: &mut Vec<u8>) -> std::io::Result<()> {
    io.write_all(out).await?;
    out.clear();
    Ok(())
}

/// Resolves when the client closes while a request is in flight (hyper's
/// rule: the request ends). Bytes that arrive instead are kept, as the next
/// request; nothing more is read until it is served.
async fn closed<I: AsyncRead + Unpin>(io: &mut Noted<I>, buf: &mut BytesMut) {
    if buf.is_empty() {
        room(buf);
        if !matches!(io.read_buf(buf).await, Ok(1..)) {
            return;
        }
    }
    std::future::pending().await
}

/// Room to read into, in hyper's buffer size.
fn room(buf: &mut BytesMut) {
    if buf.capacity() - buf.len() < 1024 {
        buf.reserve(READ_BUF);
    }
}
