use super::*;

/// Decodes `raw` fed in pieces of `step` bytes: the data, the trailers, and
/// whether the body ended (with what was left over).
fn run(raw: &[u8], step: usize) -> Result<(Vec<u8>, HeaderMap, Option<usize>), &'static str> {
    let mut d = Decoder::default();
    let mut buf = BytesMut::new();
    let (mut data, mut trailers) = (Vec::new(), HeaderMap::new());
    let mut fed = 0;
    loop {
        match d.decode(&mut buf)? {
            Out::Data(b) => data.extend_from_slice(&b),
            Out::Trailers(t) => trailers = t,
            Out::End => return Ok((data, trailers, Some(buf.len()))),
            Out::More if fed == raw.len() => return Ok((data, trailers, None)),
            Out::More => {
                let next = (fed + step).min(raw.len());
                buf.extend_from_slice(&raw[fed..next]);
                fed = next;
            }
        }
    }
}

#[test]
fn decodes_whatever_the_pieces() {
    let raw = b"5\r\nhello\r\nA;name=value\r\n, world!!!\r\n0\r\nx-sum: 15\r\n\r\n";
    for step in 1..raw.len() {
        let (data, trailers, end) = run(raw, step).unwrap();
        assert_eq!(data, b"hello, world!!!", "step {step}");
        assert_eq!(trailers["x-sum"], "15");
        assert_eq!(end, Some(0));
    }
    let (data, trailers, end) = run(b"0\r\n\r\nextra", 64).unwrap();
    assert!(data.is_empty() && trailers.is_empty());
    assert_eq!(end, Some(5), "bytes after the body are left for the caller to refuse");
}

#[test]
fn an_unfinished_body_asks_for_more() {
    for raw in [
        &b"5\r\nhel"[..],
        b"5\r\nhello",
        b"5\r\nhello\r\n",
        b"0\r\n",
        b"0\r\nx: y\r\n",
    ] {
        assert_eq!(run(raw, 64).unwrap().2, None, "{raw:?}");
    }
}

#[test]
fn malformed_chunks_are_errors() {
    for raw in [
        &b"5\nhello\r\n0\r\n\r\n"[..],
        b"5\r\nhelloXX0\r\n\r\n",
        b"+5\r\nhello\r\n0\r\n\r\n",
        b"5 5\r\nhello\r\n0\r\n\r\n",
        b"\r\nhello\r\n",
        b"x\r\n",
        b"11111111111111111\r\n",
        b"5;\x01\r\nhello\r\n0\r\n\r\n",
        b"0\r\nbad trailer\r\n\r\n",
    ] {
        assert!(run(raw, 64).is_err(), "{raw:?} was accepted");
    }
    assert!(run(&[b'1'; MAX_LINE], 64).is_err(), "an endless size line");
}
