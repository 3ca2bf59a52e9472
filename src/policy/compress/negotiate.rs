//! Which encoding a client accepts (`Accept-Encoding` with q-values, RFC 9110
//! §12.5.3) and whether a response may be compressed (SPEC §2.3). Pure.

use crate::config::{Compress, Encoding};
use http::{header, HeaderMap, StatusCode};

/// The best of `offered` for this `Accept-Encoding`: the highest q above 0,
/// ties to the earlier one in `offered`; `*` stands for codings not named.
/// None without the header (the client asked for nothing).
pub fn choose(offered: &[Encoding], headers: &HeaderMap) -> Option<Encoding> {
    let mut named: Vec<(String, f32)> = Vec::new();
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(text) = value.to_str() else { continue };
        for item in text.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            if coding.is_empty() {
                continue;
            }
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0)
                .clamp(0.0, 1.0);
            named.push((coding, q));
        }
    }
    let q_of = |token: &str| {
        named
            .iter()
            .find(|(c, _)| c == token || (token == "gzip" && c == "x-gzip"))
            .or_else(|| named.iter().find(|(c, _)| c == "*"))
            .map_or(0.0, |(_, q)| *q)
    };
    let mut best: Option<(Encoding, f32)> = None;
    for &e in offered {
        let q = q_of(e.token());
        if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((e, q));
        }
    }
    best.map(|(e, _)| e)
}

/// Whether a response may be compressed under `cfg`: never one already
/// encoded, marked `no-transform`, 1xx/204/304, partial, of another type,
/// or known to be smaller than `min_bytes`. Event streams are left alone
/// unless `types` names `text/event-stream` itself (a compressor holds
/// small events back until its buffer fills).
pub fn eligible(cfg: &Compress, status: StatusCode, headers: &HeaderMap, size: Option<u64>) -> bool {
    if status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || status == StatusCode::PARTIAL_CONTENT
        || headers.contains_key(header::CONTENT_ENCODING)
        || headers.contains_key(header::CONTENT_RANGE)
    {
        return false;
    }
    if crate::proxy::has_token(headers, header::CACHE_CONTROL, "no-transform") {
        return false;
    }
    let Some(kind) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let kind = kind.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if !type_listed(&cfg.types, &kind) {
        return false;
    }
    size.is_none_or(|n| n >= cfg.min_bytes)
}

fn type_listed(types: &[String], kind: &str) -> bool {
    if kind == "text/event-stream" {
        return types.iter().any(|t| t == kind);
    }
    let main = kind.split('/').next().unwrap_or("");
    types.iter().any(|t| match t.strip_suffix("/*") {
        Some(m) => m == main,
        None => t == kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Encoding::*;

    fn ae(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, v.parse().unwrap());
        h
    }

    #[test]
    fn q_values_decide_and_ties_follow_the_list() {
        let both = [Br, Gzip];
        assert_eq!(choose(&both, &ae("gzip, br")), Some(Br), "tie: list order");
        assert_eq!(choose(&both, &ae("gzip;q=1.0, br;q=0.5")), Some(Gzip));
        assert_eq!(choose(&both, &ae("br;q=0, gzip")), Some(Gzip));
        assert_eq!(choose(&both, &ae("identity")), None);
        assert_eq!(choose(&both, &ae("*")), Some(Br));
        assert_eq!(choose(&both, &ae("*;q=0.1, gzip;q=0.2")), Some(Gzip));
        assert_eq!(choose(&both, &ae("zstd")), None, "zstd only when listed");
        assert_eq!(choose(&[Br, Gzip, Zstd], &ae("zstd, gzip;q=0.9")), Some(Zstd));
        assert_eq!(choose(&both, &HeaderMap::new()), None);
        assert_eq!(choose(&both, &ae("gzip;q=0, br;q=0")), None);
    }

    fn cfg() -> Compress {
        Compress {
            algorithms: vec![Br, Gzip],
            min_bytes: 1024,
            types: Compress::DEFAULT_TYPES.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn with(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_eligible_responses_are_compressed() {
        let c = cfg();
        let json = with(&[("content-type", "application/json; charset=utf-8")]);
        assert!(eligible(&c, StatusCode::OK, &json, Some(5000)));
        assert!(
            eligible(&c, StatusCode::OK, &json, None),
            "unknown length counts as large"
        );
        assert!(!eligible(&c, StatusCode::OK, &json, Some(100)), "under min_bytes");
        assert!(eligible(
            &c,
            StatusCode::OK,
            &with(&[("content-type", "text/html")]),
            None
        ));
        assert!(!eligible(
            &c,
            StatusCode::OK,
            &with(&[("content-type", "image/png")]),
            None
        ));
        assert!(!eligible(
            &c,
            StatusCode::OK,
            &with(&[("content-type", "text/event-stream")]),
            None
        ));
        assert!(!eligible(&c, StatusCode::OK, &HeaderMap::new(), None), "no type");
        for s in [101, 204, 206, 304] {
            assert!(!eligible(&c, StatusCode::from_u16(s).unwrap(), &json, None), "{s}");
        }
        let encoded = with(&[("content-type", "text/html"), ("content-encoding", "gzip")]);
        assert!(!eligible(&c, StatusCode::OK, &encoded, None));
        let nt = with(&[("content-type", "text/html"), ("cache-control", "public, no-transform")]);
        assert!(!eligible(&c, StatusCode::OK, &nt, None));
        let only = Compress {
            types: vec!["application/xml".into()],
            ..cfg()
        };
        assert!(
            !eligible(&only, StatusCode::OK, &json, None),
            "a types list replaces the default"
        );
    }
}
