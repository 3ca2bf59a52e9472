//! Header names as read off the wire, the common ones without `http`'s
//! general parser: a switch on the length and the first letter, then one
//! case-insensitive compare, gives the standard name. `HeaderName::from_bytes`
//! lowercases into a scratch buffer and matches against every standard
//! name (about 120 instructions a header under callgrind); this is about
//! 80, and `from_bytes` plus the switch for any other name.
//! Anything else goes to `from_bytes`, so the result is always the same.

use http::header::{self, HeaderName, InvalidHeaderName};

/// The header name `bytes` spells (a token, any case).
pub fn header_name(bytes: &[u8]) -> Result<HeaderName, InvalidHeaderName> {
    match common(bytes) {
        Some(name) => Ok(name),
        None => HeaderName::from_bytes(bytes),
    }
}

/// The standard name `bytes` spells when it is one of the usual request
/// and response headers.
fn common(bytes: &[u8]) -> Option<HeaderName> {
    let first = bytes.first()? | 0x20;
    let (spelled, name): (&[u8], &HeaderName) = match (bytes.len(), first) {
        (4, b'd') => (b"date", &header::DATE),
        (4, b'h') => (b"host", &header::HOST),
        (4, b'e') => (b"etag", &header::ETAG),
        (4, b'v') => (b"vary", &header::VARY),
        (6, b's') => (b"server", &header::SERVER),
        (6, b'a') => (b"accept", &header::ACCEPT),
        (6, b'c') => (b"cookie", &header::COOKIE),
        (10, b'c') => (b"connection", &header::CONNECTION),
        (10, b's') => (b"set-cookie", &header::SET_COOKIE),
        (10, b'u') => (b"user-agent", &header::USER_AGENT),
        (12, b'c') => (b"content-type", &header::CONTENT_TYPE),
        (13, b'c') => (b"cache-control", &header::CACHE_CONTROL),
        (13, b'l') => (b"last-modified", &header::LAST_MODIFIED),
        (13, b'a') => (b"accept-ranges", &header::ACCEPT_RANGES),
        (14, b'c') => (b"content-length", &header::CONTENT_LENGTH),
        (15, b'a') => (b"accept-encoding", &header::ACCEPT_ENCODING),
        (16, b'c') => (b"content-encoding", &header::CONTENT_ENCODING),
        (17, b't') => (b"transfer-encoding", &header::TRANSFER_ENCODING),
        _ => return None,
    };
    same(bytes, spelled).then(|| name.clone())
}

/// `bytes` equals `spelled` (lowercase letters and `-`, as long, at least
/// 4 bytes) but for the case of its letters: compared a word at a time,
/// the last word overlapping the one before (`eq_ignore_ascii_case` goes
/// byte by byte and cost more than `from_bytes` whole).
fn same(bytes: &[u8], spelled: &[u8]) -> bool {
    let n = bytes.len();
    if n < 8 {
        let w = |b: &[u8], at: usize| u64::from(u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]));
        return same_word(w(bytes, 0), w(spelled, 0)) && same_word(w(bytes, n - 4), w(spelled, n - 4));
    }
    let w = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
    let mut at = 0;
    loop {
        let from = at.min(n - 8);
        if !same_word(w(bytes, from), w(spelled, from)) {
            return false;
        }
        if from == n - 8 {
            return true;
        }
        at += 8;
    }
}

/// Bytes of `w` equal those of `s` but for bit 5 (0x20, the case bit)
/// where `s` has a letter: a lowercase letter has bit 6 set, `-` has not,
/// so a CR (`-` without bit 5) never passes for `-`.
fn same_word(w: u64, s: u64) -> bool {
    const BIT6: u64 = 0x4040_4040_4040_4040;
    (w ^ s) & !((s & BIT6) >> 1) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every spelling gives what `from_bytes` gives, or the same refusal.
    #[test]
    fn the_result_is_from_bytes_own() {
        let names = [
            "Date",
            "HOST",
            "etag",
            "Vary",
            "Server",
            "accept",
            "Cookie",
            "Connection",
            "set-cookie",
            "User-Agent",
            "Content-Type",
            "cache-control",
            "Last-Modified",
            "accept-ranges",
            "Content-Length",
            "ACCEPT-ENCODING",
            "content-encoding",
            "Transfer-Encoding",
            "x-user",
            "X-Forwarded-For",
            "dat\re",
            "content\rlength",
            "host ",
            "hos",
            "",
            "content_length",
            "Content-Lengt@",
            "keep-alive",
            "daTe",
        ];
        for n in names {
            let ours = header_name(n.as_bytes()).map_err(|e| e.to_string());
            let theirs = HeaderName::from_bytes(n.as_bytes()).map_err(|e| e.to_string());
            assert_eq!(ours, theirs, "{n:?}");
        }
        assert!(common(b"Content-Length").is_some(), "the fast way taken");
        assert!(
            common(b"content\rlength").is_none(),
            "CR is not `-` (`| 0x20` would say it is)"
        );
        assert!(common(b"x-user").is_none());
        for (a, b) in [
            (&b"Content-Type"[..], &b"content-tYpe"[..]),
            (b"Date", b"dAtE"),
            (b"Transfer-Encoding", b"transfer-encodinG"),
        ] {
            assert!(same(a, &b.to_ascii_lowercase()), "{a:?}");
        }
        for (a, b) in [
            (&b"Content_Type"[..], &b"content-type"[..]),
            (b"dat\x05", b"date"),
            (b"Transfer-Encodinh", b"transfer-encoding"),
            (b"transfer\rencoding", b"transfer-encoding"),
        ] {
            assert!(!same(a, b), "{a:?}");
        }
    }
}
