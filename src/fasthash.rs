//! A fast hasher for maps whose keys come from the config or from small
//! integers fulcrum makes, never from clients (so no flooding with chosen
//! collisions): std's SipHash cost about 190 instructions per lookup of a
//! server's `ip:port` on the request path; this costs a few per byte.

use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a over the bytes written, with integers mixed in whole.
#[derive(Clone, Copy)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u16(&mut self, n: u16) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0 ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// `HashMap<K, V, FastHash>`.
pub type FastHash = BuildHasherDefault<Fnv>;
