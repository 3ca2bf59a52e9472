use super::*;
use http::HeaderValue;

fn encode(status: u16, headers: &[(&str, &str)], body: Length, closing: bool) -> (String, Option<(Framing, bool)>) {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    let mut out = Vec::new();
    let framed = head(
        StatusCode::from_u16(status).unwrap(),
        None,
        (None, &map),
        body,
        closing,
        &mut out,
    );
    let text = String::from_utf8(out).unwrap();
    (text, framed)
}

/// The head's lines without the `date` line, which must be there once.
fn lines(text: &str) -> Vec<String> {
    assert!(text.ends_with("\r\n\r\n"), "{text:?}");
    let all: Vec<String> = text.trim_end().split("\r\n").map(str::to_string).collect();
    assert_eq!(all.iter().filter(|l| l.starts_with("date: ")).count(), 1, "{text:?}");
    all.into_iter().filter(|l| !l.starts_with("date: ")).collect()
}

#[test]
fn a_known_length_is_sent_and_frames_the_body() {
    let (text, framed) = encode(200, &[("content-type", "text/plain")], Length::Known(10), false);
    assert_eq!(
        lines(&text),
        ["HTTP/1.1 200 OK", "content-type: text/plain", "content-length: 10"]
    );
    assert_eq!(framed, Some((Framing::Length(10), false)));
    let (text, framed) = encode(200, &[("content-length", "10")], Length::Known(10), false);
    assert_eq!(lines(&text), ["HTTP/1.1 200 OK", "content-length: 10"]);
    assert_eq!(framed, Some((Framing::Length(10), false)));
}

#[test]
fn an_unknown_length_is_chunked_unless_a_length_was_given() {
    let (text, framed) = encode(200, &[], Length::Unknown, false);
    assert_eq!(lines(&text), ["HTTP/1.1 200 OK", "transfer-encoding: chunked"]);
    assert_eq!(framed, Some((Framing::Chunked(None), false)));
    let (text, framed) = encode(200, &[("content-length", "5")], Length::Unknown, false);
    assert_eq!(lines(&text), ["HTTP/1.1 200 OK", "content-length: 5"]);
    assert_eq!(framed, Some((Framing::Length(5), false)));
    for bad in [
        &[("content-length", "x")][..],
        &[("content-length", "5"), ("content-length", "6")],
    ] {
        let mut out = b"kept".to_vec();
        let mut map = HeaderMap::new();
        for (k, v) in bad {
            map.append(*k, HeaderValue::from_static(v));
        }
        assert_eq!(
            head(StatusCode::OK, None, (None, &map), Length::Unknown, false, &mut out),
            None
        );
        assert_eq!(out, b"kept", "nothing of a refused head is written");
    }
}

#[test]
fn an_empty_body_says_length_zero_and_drops_a_stated_length() {
    let (text, framed) = encode(404, &[("content-length", "99")], Length::Empty, false);
    assert_eq!(lines(&text), ["HTTP/1.1 404 Not Found", "content-length: 0"]);
    assert_eq!(framed, Some((Framing::Length(0), false)));
}

#[test]
fn no_body_and_no_length_for_204_and_304() {
    for status in [204, 304] {
        let (text, framed) = encode(status, &[("transfer-encoding", "chunked")], Length::Unknown, false);
        assert_eq!(lines(&text).len(), 1, "{text:?}");
        assert_eq!(framed, Some((Framing::Length(0), false)));
    }
}

#[test]
fn connection_values_join_and_close_ends_the_connection() {
    let (text, framed) = encode(
        200,
        &[("connection", "x-a"), ("connection", "close")],
        Length::Empty,
        false,
    );
    assert!(lines(&text).contains(&"connection: x-a, close".to_string()), "{text:?}");
    assert!(framed.unwrap().1);
    let (text, framed) = encode(200, &[], Length::Empty, true);
    assert!(lines(&text).contains(&"connection: close".to_string()), "{text:?}");
    assert!(framed.unwrap().1);
}

#[test]
fn a_given_date_is_kept_and_reasons_are_written() {
    let (text, _) = encode(200, &[("date", "Sun, 06 Nov 1994 08:49:37 GMT")], Length::Empty, false);
    assert!(text.contains("date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"));
    assert_eq!(text.matches("date: ").count(), 1);
    let (text, _) = encode(599, &[], Length::Empty, false);
    assert!(text.starts_with("HTTP/1.1 599 <none>\r\n"), "{text:?}");
    let mut out = Vec::new();
    head(
        StatusCode::OK,
        Some(b"Fine"),
        (None, &HeaderMap::new()),
        Length::Empty,
        false,
        &mut out,
    );
    assert!(out.starts_with(b"HTTP/1.1 200 Fine\r\n"));
}

#[test]
fn bodies_are_cut_at_their_length_and_chunked_with_allowed_trailers() {
    let mut out = Vec::new();
    let mut framing = Framing::Length(3);
    data(&mut framing, &Bytes::from_static(b"abcdef"), &mut out);
    assert_eq!(out, b"abc");
    assert!(end(&framing, None, &mut out));
    let mut short = Framing::Length(3);
    data(&mut short, &Bytes::from_static(b"ab"), &mut out);
    assert!(!end(&short, None, &mut out), "a body short of its length closes");

    let (_, framed) = encode(200, &[("trailer", "x-sum, content-type")], Length::Unknown, false);
    let (mut framing, _) = framed.unwrap();
    let mut out = Vec::new();
    data(&mut framing, &Bytes::from_static(&[b'z'; 26]), &mut out);
    data(&mut framing, &Bytes::new(), &mut out);
    let mut trailers = HeaderMap::new();
    trailers.insert("x-sum", HeaderValue::from_static("9"));
    trailers.insert("content-type", HeaderValue::from_static("no"));
    trailers.insert("x-other", HeaderValue::from_static("no"));
    assert!(end(&framing, Some(&trailers), &mut out));
    assert_eq!(
        out,
        [&b"1A\r\n"[..], &[b'z'; 26], b"\r\n0\r\nx-sum: 9\r\n\r\n"].concat()
    );
}

#[test]
fn a_1xx_from_the_service_is_a_500_that_closes() {
    let (text, framed) = encode(100, &[], Length::Empty, false);
    assert!(text.starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
    assert_eq!(framed, Some((Framing::Length(0), true)));
}
