//! The server's address, parsed from the URL the user gave.

use crate::Error;

/// Where the server is: scheme, host, port, and a path prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub tls: bool,
    /// Host as it goes into the Host header and TLS (`[::1]` keeps its brackets here).
    pub host: String,
    pub port: u16,
    /// Path prefix for servers behind a reverse proxy, without a trailing `/`.
    pub base_path: String,
}

impl Endpoint {
    /// Reads `scheme://host[:port][/path]` (RFC 3986, 3), where the scheme is http, https,
    /// ws or wss. Errors never quote the URL: it might hold the token.
    pub fn parse(url: &str) -> Result<Endpoint, Error> {
        let bad = |reason: &str| Error::InvalidUrl {
            reason: reason.to_owned(),
        };
        let url = url.trim();
        if url.is_empty() || !url.bytes().all(is_uri_char) {
            return Err(bad("not a URL; expected something like http://host:32400"));
        }
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("no scheme; expected something like http://host:32400"))?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "http" | "ws" => false,
            "https" | "wss" => true,
            _ => return Err(bad("the scheme must be http, https, ws or wss")),
        };
        let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
        if path.contains('?') {
            return Err(bad(
                "a query string in the URL; give the token with .token() and types with .filters()",
            ));
        }
        if path.contains('#') {
            return Err(bad(
                "a fragment (#...) in the URL; give the server's address, like http://host:32400",
            ));
        }
        if authority.contains('@') {
            return Err(bad(
                "user or password in the URL; give the token with .token()",
            ));
        }
        let (host, port) = match authority.strip_prefix('[') {
            // An IPv6 address keeps its brackets (the Host header wants them).
            Some(inner) => {
                let (address, port) = inner
                    .split_once(']')
                    .ok_or_else(|| bad("no ] after an IPv6 address"))?;
                if address.parse::<std::net::Ipv6Addr>().is_err() {
                    return Err(bad("not an IPv6 address between [ and ]"));
                }
                let port = match port {
                    "" => None,
                    p => Some(
                        p.strip_prefix(':')
                            .ok_or_else(|| bad("no : between the IPv6 address and the port"))?,
                    ),
                };
                (&authority[..address.len() + 2], port)
            }
            None => match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        // A registered name (RFC 3986, 3.2.2) or an IPv4 address: no brackets, no colon.
        if host.is_empty() || (!host.starts_with('[') && host.contains(['[', ']'])) {
            return Err(bad("no host"));
        }
        // "host:" means the default port too (RFC 3986, 3.2.3).
        let port = match port.filter(|p| !p.is_empty()) {
            None if tls => 443,
            None => 80,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|n| *n != 0 && p.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| bad("the port must be a number from 1 to 65535"))?,
        };
        Ok(Endpoint {
            tls,
            host: host.to_owned(),
            port,
            base_path: path.trim_end_matches('/').to_owned(),
        })
    }

    /// The host without IPv6 brackets, for DNS and TLS.
    pub fn bare_host(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }

    pub fn host_header(&self) -> String {
        let default = if self.tls { 443 } else { 80 };
        if self.port == default {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `host:port`, as errors name it.
    pub fn target(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Whether a byte may appear in a URI (RFC 3986, 2): unreserved, reserved, or `%`. No
/// space, no control, nothing outside ASCII: the path goes into the request line as it is.
fn is_uri_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_to_endpoints() {
        let e = Endpoint::parse("http://192.168.1.5:32400").unwrap();
        assert_eq!(
            (e.tls, e.host.as_str(), e.port, e.base_path.as_str()),
            (false, "192.168.1.5", 32400, "")
        );
        let e = Endpoint::parse("wss://plex.example.com/plex/").unwrap();
        assert_eq!((e.tls, e.port, e.base_path.as_str()), (true, 443, "/plex"));
        let e = Endpoint::parse("http://[::1]:32400").unwrap();
        assert_eq!(
            (e.bare_host(), e.host_header().as_str()),
            ("::1", "[::1]:32400")
        );
        let e = Endpoint::parse(" HTTPS://[2001:db8::1]/a/b%20c/ ").unwrap();
        assert_eq!(
            (e.tls, e.host.as_str(), e.port, e.base_path.as_str()),
            (true, "[2001:db8::1]", 443, "/a/b%20c")
        );
        let e = Endpoint::parse("ws://plex.local:").unwrap();
        assert_eq!((e.tls, e.host.as_str(), e.port), (false, "plex.local", 80));
        let e = Endpoint::parse("http://10.0.0.2:65535/").unwrap();
        assert_eq!((e.port, e.base_path.as_str()), (65535, ""));
    }

    #[test]
    fn bad_urls_are_rejected_without_echoing_them() {
        for url in [
            "",
            "plex:32400",
            "ftp://host",
            "http://host:32400/?X-Plex-Token=sekrit",
            "http://u:sekrit@host",
            "http://host/#sekrit",
            "http://host/a b?sekrit",
            "http://host/\u{e9}sekrit",
            "not a url sekrit",
            "http://",
            "http://:32400",
            "http:///sekrit",
            "http://host:0",
            "http://host:65536",
            "http://host:+80",
            "http://host:80:80",
            "http://host:sekrit",
            "http://[::1",
            "http://[sekrit]:80",
            "http://[::1]80",
            "http://ho[st",
        ] {
            let e = Endpoint::parse(url).unwrap_err();
            assert!(matches!(e, Error::InvalidUrl { .. }), "{url}");
            assert!(!e.to_string().contains("sekrit"));
        }
    }
}
