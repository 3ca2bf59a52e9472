//! Request framing that hyper accepts but a proxy must not pass on (SPEC §3):
//! both Content-Length and Transfer-Encoding, or a transfer coding other than
//! one `chunked`; and a request body whose framing breaks mid-stream.

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

/// Rejects ambiguous framing before anything is forwarded.
pub fn check(headers: &HeaderMap) -> Result<(), &'static str> {
    let mut codings = headers.get_all(TRANSFER_ENCODING).iter();
    let Some(first) = codings.next() else {
        return Ok(());
    };
    if headers.contains_key(CONTENT_LENGTH) {
        return Err("both Content-Length and Transfer-Encoding");
    }
    if codings.next().is_some() || !first.as_bytes().eq_ignore_ascii_case(b"chunked") {
        return Err("Transfer-Encoding other than a single chunked");
    }
    Ok(())
}

/// The downstream request body, noting when its framing fails mid-stream so
/// the failure is answered as the client's (400), not the upstream's.
#[derive(Debug)]
pub struct Watched {
    inner: super::req_body::ReqBody,
    failed: Arc<AtomicBool>,
}

impl Watched {
    pub fn new(inner: super::req_body::ReqBody) -> (Self, Arc<AtomicBool>) {
        let failed = Arc::new(AtomicBool::new(false));
        (
            Self {
                inner,
                failed: failed.clone(),
            },
            failed,
        )
    }
}

impl Body for Watched {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Err(_))) = &polled {
            self.failed.store(true, Ordering::SeqCst);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_plain_or_single_chunked_framing_passes() {
        assert!(check(&headers(&[("content-length", "5")])).is_ok());
        assert!(check(&headers(&[("transfer-encoding", "Chunked")])).is_ok());
        assert!(check(&headers(&[("transfer-encoding", "chunked"), ("content-length", "5")])).is_err());
        assert!(check(&headers(&[("transfer-encoding", "chunked, chunked")])).is_err());
        assert!(check(&headers(&[
            ("transfer-encoding", "chunked"),
            ("transfer-encoding", "chunked")
        ]))
        .is_err());
        assert!(check(&headers(&[("transfer-encoding", "gzip, chunked")])).is_err());
    }
}
