//! Percent-encoding for query strings: what the request writes, what the mock reads back,
//! and the decoded form of the token that redaction must also blank out. The
//! `percent-encoding` crate does the work; the set of characters kept is ours.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// What a query value keeps as it is: the unreserved characters (RFC 3986, 2.3), and `,`,
/// which separates the server's `filters`.
const KEPT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b',');

/// Appends `value` percent-encoded for a query string.
pub(crate) fn encode_into(out: &mut String, value: &str) {
    out.extend(utf8_percent_encode(value, KEPT));
}

/// `value` percent-encoded.
pub(crate) fn encode(value: &str) -> String {
    utf8_percent_encode(value, KEPT).to_string()
}

/// Decodes `%XX` and `+` in a query value (the mock server reads requests with it).
#[cfg_attr(not(feature = "mock"), allow(dead_code))]
pub(crate) fn decode(value: &str) -> String {
    String::from_utf8_lossy(&decode_bytes(value)).into_owned()
}

/// The bytes `value` stands for, `%XX` and `+` decoded: what a server that URL-decodes
/// the token has in hand, which redaction must also blank out. A `%` without two hex
/// digits after it stays as it is.
pub(crate) fn decode_bytes(value: &str) -> Vec<u8> {
    // `+` is a space in a query, and `%2B` a `+`: spaces first, then the escapes.
    percent_decode_str(&value.replace('+', " ")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn percent_encoding_round_trips() {
        let s = super::encode("a b&c=d/é,-");
        assert_eq!(s, "a%20b%26c%3Dd%2F%C3%A9,-");
        assert_eq!(super::decode(&s), "a b&c=d/é,-");
        assert_eq!(super::decode("100%"), "100%");
        assert_eq!(super::decode("%+1%2f%2F+"), "% 1// ");
        assert_eq!(super::decode("%2B+%2b%4"), "+ +%4");
        assert_eq!(super::decode_bytes("%ff%FE"), [0xff, 0xfe]);
        let all: String = (0..=127u8).map(char::from).collect();
        let encoded = super::encode(&all);
        assert!(
            encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~,%".contains(&b)),
            "{encoded}"
        );
        assert_eq!(super::decode(&encoded), all);
    }
}
