//! The request-head scanner on any bytes, cut into reads of any size: it
//! never panics, and where the head ends and whether it was ambiguous do not
//! depend on how the bytes were cut.
#![no_main]

use fulcrum::head_scan::{HeadScan, Verdict};
use libfuzzer_sys::fuzz_target;

fn scan(bytes: &[u8], chunk: usize) -> Option<(usize, bool)> {
    let mut s = HeadScan::default();
    let mut at = 0;
    for piece in bytes.chunks(chunk) {
        at += piece.len();
        if let Verdict::Ended { ambiguous } = s.feed(piece) {
            return Some((at, ambiguous));
        }
    }
    None
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else { return };
    let whole = scan(bytes, bytes.len().max(1));
    let cut = scan(bytes, first as usize % 17 + 1);
    // the verdict is the same; the end is reported at the end of the read it fell in
    assert_eq!(whole.map(|w| w.1), cut.map(|c| c.1));
    if let (Some(w), Some(c)) = (whole, cut) {
        assert!(c.0 <= w.0);
    }
});
