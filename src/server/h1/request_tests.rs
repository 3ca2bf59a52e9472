use super::*;

fn read_all(bytes: &[u8]) -> (Head, BytesMut) {
    let mut buf = BytesMut::from(bytes);
    let head = read(&mut buf, 8192, 100, &mut Vec::new());
    (head, buf)
}

fn ours(bytes: &[u8]) -> (Request<ReqBody>, BytesMut) {
    match read_all(bytes) {
        (Head::Ours(req), rest) => (req, rest),
        _ => panic!("not taken: {:?}", String::from_utf8_lossy(bytes)),
    }
}

fn theirs(bytes: &[u8]) {
    match read_all(bytes) {
        (Head::Theirs, rest) => assert_eq!(&rest[..], bytes, "the bytes go back whole"),
        _ => panic!("taken: {:?}", String::from_utf8_lossy(bytes)),
    }
}

#[test]
fn a_plain_get_is_taken_with_its_headers_and_the_rest_left() {
    let (req, rest) = ours(b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-Two: 1\r\nx-two: 2\r\n\r\nGET /next");
    assert_eq!(req.method(), Method::GET);
    assert_eq!(req.uri().path_and_query().unwrap().as_str(), "/a?b=1");
    assert_eq!(req.version(), Version::HTTP_11);
    assert_eq!(req.headers()["host"], "x");
    let twos: Vec<_> = req.headers().get_all("x-two").iter().collect();
    assert_eq!(twos, ["1", "2"]);
    assert!(http_body::Body::is_end_stream(req.body()));
    assert_eq!(&rest[..], b"GET /next");
}

#[test]
fn a_head_in_pieces_is_partial_until_its_blank_line() {
    let whole = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    for cut in 1..whole.len() {
        assert!(matches!(read_all(&whole[..cut]).0, Head::Partial), "cut at {cut}");
    }
    ours(whole);
}

#[test]
fn keep_alive_is_the_only_connection_header_taken() {
    ours(b"GET / HTTP/1.1\r\nConnection: Keep-Alive\r\n\r\n");
    theirs(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    theirs(b"GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
}

#[test]
fn every_other_kind_of_request_is_hypers() {
    for head in [
        &b"POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx"[..],
        b"HEAD / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.0\r\n\r\n",
        b"GET http://x/ HTTP/1.1\r\n\r\n",
        b"GET * HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
        b"GET / HTTP/1.1\r\nTE: trailers\r\n\r\n",
        b"GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        // malformed: hyper answers them
        b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
        b"GET /\x7f HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\n folded\r\n\r\n",
        b"\x16\x03\x01\x02\x00",
    ] {
        theirs(head);
    }
}

#[test]
fn heads_past_the_limits_are_hypers() {
    let big = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(200));
    let mut buf = BytesMut::from(big.as_bytes());
    assert!(matches!(read(&mut buf, 100, 100, &mut Vec::new()), Head::Theirs));
    // partial and already at the limit: hyper reads on and refuses it
    let mut buf = BytesMut::from(&big.as_bytes()[..150]);
    assert!(matches!(read(&mut buf, 100, 100, &mut Vec::new()), Head::Theirs));
    let many: String = (0..30).map(|i| format!("X-{i}: v\r\n")).collect();
    let many = format!("GET / HTTP/1.1\r\n{many}\r\n");
    let mut buf = BytesMut::from(many.as_bytes());
    assert!(matches!(read(&mut buf, 8192, 29, &mut Vec::new()), Head::Theirs));
    let mut buf = BytesMut::from(many.as_bytes());
    match read(&mut buf, 8192, 30, &mut Vec::new()) {
        Head::Ours(req) => assert_eq!(req.headers().len(), 30),
        _ => panic!("30 headers within a limit of 30 are taken"),
    }
    let mut buf = BytesMut::from(many.as_bytes());
    assert!(matches!(read(&mut buf, 8192, 10, &mut Vec::new()), Head::Theirs));
}
