use super::*;

fn parse(buf: &[u8], head_request: bool) -> Result<Parsed, &'static str> {
    parse_for(buf, head_request, false)
}

fn final_head(raw: &[u8], head_request: bool) -> Result<(Head, usize), &'static str> {
    match parse(raw, head_request)? {
        Parsed::Final(h, len) => Ok((h, len)),
        other => panic!("{other:?}"),
    }
}

fn framing(raw: &str) -> Result<Framing, &'static str> {
    final_head(raw.as_bytes(), false).map(|(h, _)| h.framing)
}

#[test]
fn encodes_origin_form_with_host_and_every_header_value() {
    let req = Request::get("http://10.0.0.1:8080/a/b?q=1")
        .header("x-many", "1")
        .header("x-many", "2")
        .body(())
        .unwrap();
    let mut out = Vec::new();
    encode(&mut out, &req);
    assert_eq!(
        String::from_utf8(out.clone()).unwrap(),
        "GET /a/b?q=1 HTTP/1.1\r\nhost: 10.0.0.1:8080\r\nx-many: 1\r\nx-many: 2\r\n\r\n"
    );
    let req = Request::post("http://10.0.0.1/")
        .header("host", "example.com")
        .body(())
        .unwrap();
    encode(&mut out, &req);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "POST / HTTP/1.1\r\ncontent-length: 0\r\nhost: example.com\r\n\r\n",
        "the Host given is kept, and an empty POST says so"
    );
}

#[test]
fn a_head_arrives_in_pieces() {
    let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    for cut in 0..raw.len() - 2 {
        assert!(matches!(parse(&raw[..cut], false), Ok(Parsed::Partial)), "cut at {cut}");
    }
    let (head, len) = final_head(raw, false).unwrap();
    assert_eq!(len, raw.len() - 2);
    assert_eq!((head.status, head.version), (StatusCode::OK, Version::HTTP_11));
    assert_eq!(head.headers["content-length"], "2");
    assert!(head.reuse);
}

#[test]
fn interim_responses_are_skipped_and_101_refused() {
    let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
    assert!(matches!(parse(raw, false), Ok(Parsed::Interim(25))));
    assert!(parse(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", false).is_err());
}

#[test]
fn framing_follows_rfc_9112_section_6_3() {
    assert_eq!(
        framing("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"),
        Ok(Framing::Length(5))
    );
    assert_eq!(
        framing("HTTP/1.1 200 OK\r\ncontent-length: 5, 5\r\nContent-Length: 5\r\n\r\n"),
        Ok(Framing::Length(5))
    );
    assert_eq!(
        framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"),
        Ok(Framing::Chunked)
    );
    assert_eq!(framing("HTTP/1.1 200 OK\r\n\r\n"), Ok(Framing::Close));
    // no body whatever the headers say
    for raw in [
        "HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
    ] {
        assert_eq!(framing(raw), Ok(Framing::Length(0)), "{raw}");
    }
    let (head, _) = final_head(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", true).unwrap();
    assert_eq!(head.framing, Framing::Length(0), "a response to HEAD");
    assert_eq!(head.headers["content-length"], "100", "kept for the client");
}

#[test]
fn ambiguous_framing_is_an_error() {
    for raw in [
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n",
        "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/2 200 OK\r\n\r\n",
    ] {
        assert!(parse(raw.as_bytes(), false).is_err(), "{raw:?} was accepted");
    }
    let many = format!("HTTP/1.1 200 OK\r\n{}\r\n", "x: y\r\n".repeat(101));
    assert!(parse(many.as_bytes(), false).is_err(), "101 headers");
}

#[test]
fn reuse_only_when_the_server_keeps_the_connection() {
    let reuse = |raw: &str| final_head(raw.as_bytes(), false).unwrap().0.reuse;
    assert!(reuse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    assert!(!reuse(
        "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n"
    ));
    assert!(!reuse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
    assert!(!reuse("HTTP/1.1 200 OK\r\n\r\n"), "close-delimited");
}

#[test]
fn up_to_100_headers_whatever_the_first_attempt_holds() {
    for n in [23, 24, 25, 99, 100] {
        let raw = format!(
            "HTTP/1.1 200 OK\r\n{}Content-Length: 0\r\n\r\n",
            "x: y\r\n".repeat(n - 1)
        );
        let (head, _) = final_head(raw.as_bytes(), false).unwrap();
        assert_eq!(head.headers.len(), n, "{n} headers");
    }
}

#[test]
fn framing_and_bare_connection_headers_stay_out_of_the_map() {
    let headers = |raw: &str| final_head(raw.as_bytes(), false).unwrap().0.headers;
    let h = headers(
        "HTTP/1.1 200 OK\r\nServer: s\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n",
    );
    let names: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
    assert_eq!(names, ["server", "x-a"], "said by `framing` and `reuse` instead");
    let h = headers("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    assert!(h.get("connection").is_none());
    // a `Connection` naming other headers stays, so that the proxy removes them too
    let h = headers("HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(h["connection"], "keep-alive, X-Secret");
    assert_eq!(h["x-secret"], "1");
}

#[test]
fn passed_lines_hold_what_the_map_would_in_lowercase_and_frame_alike() {
    let raw = "HTTP/1.1 200 OK\r\nServer: up\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\
               Content-Length: 5\r\nX-A: 1\r\nDate: d\r\nTE: x\r\nSet-Cookie: a\r\n\r\n";
    let Parsed::Final(head, len) = parse_for(raw.as_bytes(), false, true).unwrap() else {
        panic!()
    };
    assert_eq!(len, raw.len());
    let lines = head.lines.expect("passed");
    assert_eq!(
        std::str::from_utf8(&lines.bytes).unwrap(),
        "server: up\r\nx-a: 1\r\ndate: d\r\nset-cookie: a\r\n"
    );
    assert!(lines.date);
    assert!(head.headers.is_empty());
    assert_eq!((head.framing, head.reuse), (Framing::Length(5), true));
    // the same framing either way, and the same refusals
    for raw in [
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        "HTTP/1.0 200 OK\r\nX: y\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
    ] {
        let framed = |pass| match parse_for(raw.as_bytes(), false, pass).unwrap() {
            Parsed::Final(h, _) => (h.framing, h.reuse, h.lines.is_some()),
            other => panic!("{other:?}"),
        };
        assert_eq!(framed(true), (framed(false).0, framed(false).1, true), "{raw}");
    }
    for raw in [
        "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
    ] {
        assert!(parse_for(raw.as_bytes(), false, true).is_err(), "{raw}");
    }
    // a `Connection` naming another header: the map, which removes both
    let raw = "HTTP/1.1 200 OK\r\nConnection: x-secret\r\nX-Secret: 1\r\nContent-Length: 0\r\n\r\n";
    let Parsed::Final(head, _) = parse_for(raw.as_bytes(), false, true).unwrap() else {
        panic!()
    };
    assert!(head.lines.is_none());
    assert_eq!(head.headers["connection"], "x-secret");
}
