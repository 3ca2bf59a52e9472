//! The request-head scanner, hash-key extraction and the PROXY header
//! reader against plain restatements of their rules, on arbitrary input
//! split at arbitrary points.

use fulcrum::config::key_source;
use fulcrum::head_scan::{HeadScan, Verdict};
use fulcrum::upstream::key::{extract, KeyInput};
use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use std::net::{IpAddr, SocketAddr};

/// The first `Ended` verdict of feeding `bytes` cut at `cuts`, and where.
fn scan(bytes: &[u8], cuts: &[prop::sample::Index]) -> Option<(usize, bool)> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
    points.push(0);
    points.push(bytes.len());
    points.sort();
    points.dedup();
    let mut s = HeadScan::default();
    for w in points.windows(2) {
        if let Verdict::Ended { ambiguous } = s.feed(&bytes[w[0]..w[1]]) {
            return Some((w[1], ambiguous));
        }
    }
    None
}

/// The rule restated: lines end at `\n` (`\r` counts for nothing), the head
/// ends at the first empty line, and it is ambiguous when it named both
/// `Content-Length` and `Transfer-Encoding` (any case) before a colon.
fn reference(bytes: &[u8]) -> Option<bool> {
    if bytes.starts_with(b"PRI * HTTP/2.0") {
        return None;
    }
    let (mut cl, mut te) = (false, false);
    let mut rest = bytes;
    while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = rest[..nl].iter().copied().filter(|&b| b != b'\r').collect();
        if line.is_empty() {
            return Some(cl && te);
        }
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let name = line[..colon].to_ascii_lowercase();
            cl |= name == b"content-length";
            te |= name == b"transfer-encoding";
        }
        rest = &rest[nl + 1..];
    }
    None
}

fn header_line() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        prop::sample::select(&["Content-Length", "Transfer-Encoding", "Host", "X-Id", "content-length:"][..])
            .prop_map(str::to_string),
        "[A-Za-z-]{1,24}",
    ];
    let cased = (name, any::<u32>()).prop_map(|(n, bits)| {
        n.chars()
            .enumerate()
            .map(|(i, c)| {
                if bits >> (i % 32) & 1 == 1 {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect::<String>()
    });
    (cased, "[ -~]{0,20}", prop::bool::ANY)
        .prop_map(|(n, v, crlf)| format!("{n}: {v}{}", if crlf { "\r\n" } else { "\n" }))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn the_head_scanner_agrees_with_the_rule_however_the_head_is_cut(
        lines in prop::collection::vec(header_line(), 0..8),
        body in prop::collection::vec(any::<u8>(), 0..64),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut head = b"POST / HTTP/1.1\r\n".to_vec();
        for l in &lines {
            head.extend_from_slice(l.as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        let end = head.len();
        head.extend_from_slice(&body); // body bytes in the same read are never headers
        let (at, ambiguous) = scan(&head, &cuts).expect("the head ended");
        prop_assert_eq!(ambiguous, reference(&head[..end]).unwrap());
        prop_assert!(at >= end, "ended before the blank line");
    }

    #[test]
    fn the_head_scanner_on_any_bytes_is_the_rule(
        h2 in prop::bool::ANY,
        bytes in prop::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), Just(b':'), any::<u8>()], 0..200),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        // half the inputs start as HTTP/2 does, cut anywhere (the fuzzer's find)
        let bytes = if h2 { [&b"PRI * HTTP/2.0"[..], &bytes].concat() } else { bytes };
        prop_assert_eq!(scan(&bytes, &cuts).map(|g| g.1), reference(&bytes));
    }

    #[test]
    fn cookie_and_query_keys_are_the_first_pair_named(
        pairs in prop::collection::vec(("[a-c]{1,2}", "[a-z0-9 ]{0,6}"), 0..6),
        name in "[a-c]{1,2}",
    ) {
        let cookie = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let query = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        let want = pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.trim().to_string()).filter(|v| !v.is_empty());
        let mut headers = HeaderMap::new();
        headers.insert(http::header::COOKIE, HeaderValue::from_str(&cookie).unwrap());
        let input = KeyInput {
            headers: &headers,
            path: "/",
            query: Some(&query),
            host: None,
            client_ip: IpAddr::from([127, 0, 0, 1]),
        };
        for source in [format!("cookie:{name}"), format!("query:{name}")] {
            let got = extract(&key_source(&source).unwrap(), &input).map(|k| String::from_utf8(k.into_owned()).unwrap());
            prop_assert_eq!(&got, &want, "{}", source);
        }
    }

    #[test]
    fn header_keys_are_the_value_and_empty_is_none(value in "[ -~]{0,16}") {
        let mut headers = HeaderMap::new();
        headers.insert("x-user", HeaderValue::from_str(&value).unwrap());
        let input = KeyInput { headers: &headers, path: "/", query: None, host: None, client_ip: IpAddr::from([127, 0, 0, 1]) };
        let got = extract(&key_source("header:x-user").unwrap(), &input);
        prop_assert_eq!(got.map(|k| k.into_owned()), Some(value.into_bytes()).filter(|v| !v.is_empty()));
    }
}

/// Reads a PROXY header off `bytes`: the result and the bytes left unread.
fn proxy(bytes: &[u8]) -> (Result<SocketAddr, String>, Vec<u8>) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut rest = bytes;
    let got = rt.block_on(fulcrum::server::proxy_header::read(
        &mut rest,
        "192.0.2.9:1".parse().unwrap(),
    ));
    (got, rest.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn a_v1_header_names_its_source_and_leaves_what_follows(
        src in any::<[u8; 4]>(), dst in any::<[u8; 4]>(), sport in 1u16.., dport in 1u16..,
        after in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        let (s, d) = (std::net::Ipv4Addr::from(src), std::net::Ipv4Addr::from(dst));
        let mut bytes = format!("PROXY TCP4 {s} {d} {sport} {dport}\r\n").into_bytes();
        bytes.extend_from_slice(&after);
        let (got, rest) = proxy(&bytes);
        prop_assert_eq!(got, Ok(SocketAddr::from((s, sport))));
        prop_assert_eq!(rest, after);
    }

    #[test]
    fn any_bytes_are_a_header_or_refused_and_never_overread(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        v2 in prop::bool::ANY,
    ) {
        let mut bytes = bytes;
        if v2 {
            // the v2 signature, so the declared length and the blocks get exercised
            let mut signed = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
            signed.extend_from_slice(&bytes);
            bytes = signed;
        }
        let (got, rest) = proxy(&bytes);
        if got.is_ok() {
            prop_assert!(rest.len() < bytes.len());
            prop_assert!(bytes.ends_with(&rest));
        }
    }
}
