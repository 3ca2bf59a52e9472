//! A response body compressed as it streams (async-compression's encoders
//! between two small adapters); never buffered whole. Trailers are dropped,
//! as a compressed HTTP/1 body cannot carry them through every client.

use crate::config::Encoding;
use crate::proxy::{BoxError, ProxyBody};
use async_compression::tokio::bufread::{BrotliEncoder, GzipEncoder, ZstdEncoder};
use async_compression::Level;
use bytes::Bytes;
use futures_core::Stream;
use http_body::{Body, Frame};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::AsyncRead;
use tokio_util::io::{ReaderStream, StreamReader};

/// Output frames are at most this large.
const FRAME: usize = 16 * 1024;

/// `body` compressed with `enc`, as a body.
pub fn encode(body: ProxyBody, enc: Encoding) -> ProxyBody {
    let reader = StreamReader::new(Source(body));
    ProxyBody::boxed(match enc {
        // quality 4 is brotli's speed/ratio knee for on-the-fly use (11, its default, is for static files)
        Encoding::Br => frames(BrotliEncoder::with_quality(reader, Level::Precise(4))),
        Encoding::Gzip => frames(GzipEncoder::with_quality(reader, Level::Default)),
        Encoding::Zstd => frames(ZstdEncoder::with_quality(reader, Level::Default)),
    })
}

fn frames<R: AsyncRead + Unpin + Send + 'static>(r: R) -> crate::proxy::Boxed {
    Box::pin(Encoded(ReaderStream::with_capacity(r, FRAME)))
}

/// The source body's data as a byte stream.
struct Source(ProxyBody);

impl Stream for Source {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        let body = &mut self.get_mut().0;
        loop {
            return match Pin::new(&mut *body).poll_frame(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(io::Error::other(e)))),
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => Poll::Ready(Some(Ok(data))),
                    Err(_trailers) => continue,
                },
            };
        }
    }
}

/// The encoder's output as body frames.
struct Encoded<R>(ReaderStream<R>);

impl<R: AsyncRead + Unpin> Body for Encoded<R> {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match Pin::new(&mut self.get_mut().0).poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(Ok(data))) => Poll::Ready(Some(Ok(Frame::data(data)))),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
        }
    }
}
