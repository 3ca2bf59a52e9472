//! The config loader on any text: it never panics, and every problem it
//! reports says what is wrong.
#![no_main]

use fulcrum::config::{parse, ConfigError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(ConfigError::Invalid(problems)) = parse(text) {
        assert!(!problems.is_empty());
        for p in problems {
            assert!(!p.message.trim().is_empty(), "{p:?}");
        }
    }
});
