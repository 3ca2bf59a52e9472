//! `request_id` (top level): every request carries an ID, kept from the
//! client when it is 1..=200 visible ASCII characters, else 128 random bits
//! as 32 lowercase hex characters. It goes upstream and back to the client
//! in the same header, into the access log and `${request_id}`. It wraps
//! every request, routed or not, so it is a step of the request path rather
//! than a route layer.

use http::{HeaderMap, HeaderName, HeaderValue};

/// Whether a client's ID is kept.
pub fn valid(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    (1..=200).contains(&b.len()) && b.iter().all(|c| (0x21..=0x7e).contains(c))
}

/// A fresh ID: 128 random bits, 32 lowercase hex characters.
pub fn generate() -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bits = fastrand::u128(..);
    let mut text = [0u8; 32];
    for (i, c) in text.iter_mut().enumerate() {
        *c = HEX[((bits >> (124 - 4 * i)) & 0xf) as usize];
    }
    HeaderValue::from_bytes(&text).expect("hex is a header value")
}

/// The request's ID: its own when valid (one value), else a new one; the
/// header is left holding exactly that ID.
pub fn take(name: &HeaderName, headers: &mut HeaderMap) -> HeaderValue {
    let mut values = headers.get_all(name).iter();
    let kept = match (values.next(), values.next()) {
        (Some(v), None) if valid(v) => return v.clone(),
        _ => generate(),
    };
    headers.insert(name.clone(), kept.clone());
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_replaced_or_generated() {
        let name = HeaderName::from_static("x-request-id");
        let mut h = HeaderMap::new();
        h.insert(&name, HeaderValue::from_static("abc-123"));
        assert_eq!(take(&name, &mut h), "abc-123");
        h.insert(&name, HeaderValue::from_static("has space"));
        let new = take(&name, &mut h);
        assert_eq!(new.len(), 32);
        assert!(new
            .as_bytes()
            .iter()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(h[&name], new);
        let long = "a".repeat(201);
        h.insert(&name, HeaderValue::from_str(&long).unwrap());
        assert_ne!(take(&name, &mut h), long.as_str());
        let mut two = HeaderMap::new();
        two.append(&name, HeaderValue::from_static("a"));
        two.append(&name, HeaderValue::from_static("b"));
        let id = take(&name, &mut two);
        assert_eq!(two.get_all(&name).iter().count(), 1);
        assert_eq!(two[&name], id);
        assert_eq!(take(&name, &mut HeaderMap::new()).len(), 32);
    }
}
