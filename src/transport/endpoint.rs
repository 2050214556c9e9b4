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
    pub fn parse(url: &str) -> Result<Endpoint, Error> {
        let bad = |reason: &str| Error::InvalidUrl {
            reason: reason.to_owned(),
        };
        let uri: tungstenite::http::Uri = url
            .trim()
            .parse()
            .map_err(|_| bad("not a URL; expected something like http://host:32400"))?;
        let tls = match uri.scheme_str() {
            Some("http") | Some("ws") => false,
            Some("https") | Some("wss") => true,
            Some(_) => return Err(bad("the scheme must be http, https, ws or wss")),
            None => return Err(bad("no scheme; expected something like http://host:32400")),
        };
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad(
                "user or password in the URL; give the token with .token()",
            ));
        }
        if uri.query().is_some() {
            return Err(bad(
                "a query string in the URL; give the token with .token() and types with .filters()",
            ));
        }
        let host = authority.host().to_owned();
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
        Ok(Endpoint {
            tls,
            host,
            port,
            base_path: uri.path().trim_end_matches('/').to_owned(),
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
    }

    #[test]
    fn bad_urls_are_rejected_without_echoing_them() {
        for url in [
            "",
            "plex:32400",
            "ftp://host",
            "http://host:32400/?X-Plex-Token=sekrit",
            "http://u:sekrit@host",
        ] {
            let e = Endpoint::parse(url).unwrap_err();
            assert!(matches!(e, Error::InvalidUrl { .. }), "{url}");
            assert!(!e.to_string().contains("sekrit"));
        }
    }
}
