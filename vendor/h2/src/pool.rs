//! fulcrum: a per-thread pool of the buffers idle connections give back.
//!
//! A connection with no stream open and nothing to read or write gives its
//! read, write and Huffman buffers back (see `proto::connection`), and takes
//! them again for its next frame. Kept here, a few per size per thread, a
//! connection that serves one request after another swaps buffers with the
//! pool instead of the allocator, and an idle one holds none of its own.

use bytes::BytesMut;
use std::cell::RefCell;

/// Buffers kept per size, per thread: at most 32 x 28 KiB.
const KEEP: usize = 32;

thread_local! {
    static POOL: RefCell<[Vec<BytesMut>; 3]> = const { RefCell::new([Vec::new(), Vec::new(), Vec::new()]) };
}

/// The pool's sizes: the Huffman scratch, read and write buffers'.
fn class(cap: usize) -> Option<usize> {
    match cap {
        4096 => Some(0),
        8192 => Some(1),
        16384 => Some(2),
        _ => None,
    }
}

/// An empty buffer of `cap` bytes: one given back on this thread, or new.
pub(crate) fn take(cap: usize) -> BytesMut {
    class(cap)
        .and_then(|c| POOL.with(|p| p.borrow_mut()[c].pop()))
        .unwrap_or_else(|| BytesMut::with_capacity(cap))
}

/// Keeps `buf` for a later `take(cap)` when no other handle shares its
/// allocation (read bytes still referenced elsewhere) and the pool has
/// room; else it is freed (when its last handle drops).
pub(crate) fn give(mut buf: BytesMut, cap: usize) {
    let Some(c) = class(cap) else { return };
    buf.clear();
    if !buf.try_reclaim(cap) || buf.capacity() != cap {
        return;
    }
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        if p[c].len() < KEEP {
            p[c].push(buf);
        }
    });
}

