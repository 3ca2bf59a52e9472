//! hyper answers a request head it cannot parse (400, 431, 414, ...) by
//! itself, before fulcrum sees a request, with an empty body. SPEC §3 wants
//! every answer fulcrum makes to name its cause, so the downstream socket
//! gives such a response (written while no request is in flight) the
//! plain-text body fulcrum's own errors carry.

/// The cause each status hyper sends for a head stands for.
fn cause(status: u16) -> &'static str {
    match status {
        400 => "malformed request head (invalid bytes, an obs-folded header line or a bad request line)",
        414 => "request URI too long",
        431 => "request head too large (over limits.max_header_bytes or limits.max_headers)",
        505 => "HTTP version not supported",
        _ => "the request head was refused",
    }
}

/// Whether `buf` starts an HTTP/1 final (non-1xx) response head.
#[inline]
pub fn is_final_head(buf: &[u8]) -> bool {
    buf.len() > 9 && buf.starts_with(b"HTTP/1.") && buf[9] != b'1'
}

const EMPTY: &[u8] = b"\r\ncontent-length: 0\r\n";

/// hyper's response `head` (all of it: hyper writes an error answer in one
/// go) with a text body naming the cause; None when `head` is not an
/// error response without a body.
pub fn with_cause(head: &[u8]) -> Option<Vec<u8>> {
    let line_end = head.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&head[..line_end]).ok()?;
    let status: u16 = line.strip_prefix("HTTP/1.")?.get(2..5)?.parse().ok()?;
    if !(400..600).contains(&status) || !head.ends_with(b"\r\n\r\n") {
        return None;
    }
    let at = head.windows(EMPTY.len()).position(|w| w.eq_ignore_ascii_case(EMPTY))?;
    let reason = http::StatusCode::from_u16(status)
        .ok()?
        .canonical_reason()
        .unwrap_or("");
    let body = format!("{status} {reason}: {}\n", cause(status));
    let mut out = Vec::with_capacity(head.len() + body.len() + 64);
    out.extend_from_slice(&head[..at]);
    out.extend_from_slice(
        format!(
            "\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&head[at + EMPTY.len()..]);
    out.extend_from_slice(body.as_bytes());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_error_answer_gets_its_cause_as_text() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let out = String::from_utf8(with_cause(head).unwrap()).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.contains("content-type: text/plain; charset=utf-8"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert!(head.contains("connection: close") && head.contains("date: x"));
        assert!(body.starts_with("431 Request Header Fields Too Large: request head too large"));
    }

    #[test]
    fn anything_else_is_left_alone() {
        assert!(with_cause(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(with_cause(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 5\r\n\r\nhello").is_none());
        assert!(with_cause(b"\x00\x00\x12\x04\x00").is_none(), "HTTP/2 frames");
        assert!(with_cause(b"HTTP/1.1 400 Bad").is_none(), "a partial head");
    }
}
