//! Percent-encoding for query strings: what the request writes, what the mock reads back,
//! and the decoded form of the token that redaction must also blank out.

/// Appends `value` percent-encoded for a query string (unreserved characters and `,` kept).
pub(crate) fn encode_into(out: &mut String, value: &str) {
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b',' => {
                out.push(b as char)
            }
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
    }
}

/// `value` percent-encoded.
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    encode_into(&mut out, value);
    out
}

/// Decodes `%XX` and `+` in a query value (the mock server reads requests with it).
#[cfg_attr(not(feature = "mock"), allow(dead_code))]
pub(crate) fn decode(value: &str) -> String {
    String::from_utf8_lossy(&decode_bytes(value)).into_owned()
}

/// The bytes `value` stands for, `%XX` and `+` decoded: what a server that URL-decodes
/// the token has in hand, which redaction must also blank out.
pub(crate) fn decode_bytes(value: &str) -> Vec<u8> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = |h: u8| (h as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi << 4 | lo) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    out
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
    }
}
