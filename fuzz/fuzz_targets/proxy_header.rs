//! The PROXY protocol header reader on any bytes: it never panics, and a
//! header it accepts never takes bytes past its own end.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::future::Future;
use std::task::{Context, Poll, Waker};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    let peer = "192.0.2.9:1".parse().unwrap();
    let mut read = Box::pin(fulcrum::server::proxy_header::read(&mut rest, peer));
    // a byte slice never makes a read wait: one poll finishes it
    let Poll::Ready(result) = read.as_mut().poll(&mut Context::from_waker(Waker::noop())) else {
        panic!("reading from a slice waited");
    };
    drop(read);
    if result.is_ok() {
        assert!(rest.len() < data.len());
        assert!(data.ends_with(rest));
    }
});
