//! The little HTTP/1.1 the crate needs: one GET, its response head, and a streamed body.
//!
//! Our own rather than an HTTP client's, so that the token never reaches a log line (HTTP
//! clients log request targets at trace level) and every read stays interruptible and
//! under the listener's timeouts.

use std::io::{self, BufRead, Read, Write};
use std::time::{Duration, Instant, SystemTime};

use crate::Error;
use crate::error::Phase;
use crate::error::Violation;

use super::Connector;
use super::net::{self, Stream};

/// Longest response head accepted.
const MAX_HEAD: usize = 16 * 1024;

/// The longest `Retry-After` honoured: a server asking for more is tried again after this,
/// and the error says this.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Sends `method path` (the path may hold a query of its own; `query` is added to it)
/// with `headers` and the `X-Plex-*` ones, and reads the answer's head within the
/// connector's handshake timeout. An answer other than `expected` becomes the error a
/// user can act on (401 and 498: the token). Returns the head and the bytes read past it.
pub(crate) fn request(
    stream: &mut Stream,
    connector: &Connector,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&'static str, String)],
    expected: u16,
) -> Result<(Head, Vec<u8>), Error> {
    let target = request_target(connector, path, query);
    let mut all = headers.to_vec();
    all.extend(plex_headers(connector));
    if method != "GET" {
        // A request without a body says so.
        all.push(("Content-Length", "0".to_owned()));
    }
    let host = connector.endpoint.host_header();
    stream
        .tcp()
        .set_write_timeout(Some(connector.handshake_timeout))
        .and_then(|()| write_request(stream, method, &target, &host, &all))
        .map_err(|e| match net::is_timeout(&e) {
            true => Error::Timeout {
                phase: Phase::Handshake,
                after: connector.handshake_timeout,
            },
            false => Error::lost(Phase::Handshake, e),
        })?;
    let (head, leftover) = read_head(stream, connector.handshake_timeout)?;
    head.expect_status(expected, &target)?;
    Ok((head, leftover))
}

/// The request line's target: path and query, with the token in it only if asked.
fn request_target(connector: &Connector, path: &str, query: &[(&str, &str)]) -> String {
    let mut target = format!("{}{}", connector.endpoint.base_path, path);
    let mut params = query.to_vec();
    if connector.token_in_query && !connector.token.is_empty() {
        params.push(("X-Plex-Token", connector.token.expose()));
    }
    let mut first = !path.contains('?');
    for (key, value) in &params {
        target.push(if first { '?' } else { '&' });
        first = false;
        target.push_str(key);
        target.push('=');
        crate::percent::encode_into(&mut target, value);
    }
    target
}

/// The `X-Plex-*` headers every request carries.
fn plex_headers(connector: &Connector) -> Vec<(&'static str, String)> {
    let mut headers = connector.client.headers().to_vec();
    if !connector.token_in_query && !connector.token.is_empty() {
        headers.push(("X-Plex-Token", connector.token.expose().to_owned()));
    }
    headers
}

/// Writes a request without a body. `headers` must not contain CR or LF (checked when
/// the connector is made).
fn write_request(
    stream: &mut impl Write,
    method: &str,
    target: &str,
    host: &str,
    headers: &[(&str, String)],
) -> io::Result<()> {
    let mut req = String::with_capacity(256);
    req.push_str(method);
    req.push(' ');
    req.push_str(target);
    req.push_str(" HTTP/1.1\r\nHost: ");
    req.push_str(host);
    req.push_str("\r\n");
    for (name, value) in headers {
        req.push_str(name);
        req.push_str(": ");
        req.push_str(value);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes())?;
    stream.flush()
}

/// A response's status line and headers.
#[derive(Debug)]
pub(crate) struct Head {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of the headers named `name` (a header may come more than once).
    fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.header(name)
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    }

    /// Turns a status that is not `expected` into the error a user can act on.
    pub fn expect_status(&self, expected: u16, path: &str) -> Result<(), Error> {
        match self.status {
            s if s == expected => Ok(()),
            401 | 498 => Err(Error::Unauthorized {
                status: self.status,
            }),
            status => Err(Error::HttpStatus {
                status,
                path: path.split('?').next().unwrap_or(path).to_owned(),
                retry_after: self
                    .header("Retry-After")
                    .and_then(|v| retry_after(v, SystemTime::now()))
                    .map(|after| after.min(MAX_RETRY_AFTER)),
            }),
        }
    }
}

/// Refuses a body sent in a content encoding: asked for identity, a server (or a proxy)
/// that compresses anyway would have its bytes parsed as text.
pub(crate) fn expect_identity_encoding(head: &Head, what: &str, or: &str) -> Result<(), Error> {
    // Any content coding, and any transfer coding but chunked, in any copy of the header.
    let content = head.all("Content-Encoding").flat_map(|v| v.split(','));
    let transfer = head.all("Transfer-Encoding").flat_map(|v| v.split(','));
    let coded = content
        .map(str::trim)
        .find(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"))
        .or_else(|| {
            transfer
                .map(str::trim)
                .find(|c| !c.is_empty() && !c.eq_ignore_ascii_case("chunked"))
        });
    match coded {
        None => Ok(()),
        Some(encoding) => Err(Error::Unsupported {
            reason: format!(
                "the server sent {what} compressed{}, though asked not \
                 to: a reverse proxy that compresses does that. Turn compression off for \
                 this path (nginx: gzip off){or}",
                // Named when known, never quoted from the server.
                crate::error::known(
                    encoding,
                    &["gzip", "x-gzip", "deflate", "br", "zstd", "compress"]
                )
                .map(|name| format!(" ({name})"))
                .unwrap_or_default()
            ),
        }),
    }
}

/// A `Retry-After` value (delay-seconds or an HTTP-date) as a wait from `now`; a date in
/// the past is no wait. `None` if it is neither. The dates are RFC 9110's three forms
/// (5.6.7), read strictly by `httpdate`: a weekday that does not fit the date, or a leap
/// second, is no date.
pub(crate) fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Reads a response head within `limit`; returns it and the bytes read past it.
fn read_head(stream: &mut Stream, limit: Duration) -> Result<(Head, Vec<u8>), Error> {
    let deadline = net::deadline_after(limit);
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let left = deadline
            .checked_duration_since(Instant::now())
            .ok_or(Error::Timeout {
                phase: Phase::Handshake,
                after: limit,
            })?;
        stream
            .set_read_timeout(left)
            .map_err(|e| Error::lost(Phase::Handshake, e))?;
        let n = match stream.read(&mut chunk) {
            Ok(0) => {
                return Err(Error::closed("the connection closed before the response"));
            }
            Ok(n) => n,
            Err(e) if net::is_timeout(&e) => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::lost(Phase::Handshake, e)),
        };
        let scan_from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = head_end(&buf, scan_from) {
            let head = parse_head(&buf[..end])?;
            return Ok((head, buf.split_off(end)));
        }
        if buf.len() > MAX_HEAD {
            return Err(Error::protocol(
                Phase::Handshake,
                Violation::BadResponse,
                "the response head is over 16 KiB",
            ));
        }
    }
}

fn parse_head(bytes: &[u8]) -> Result<Head, Error> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(Error::protocol(
                Phase::Handshake,
                Violation::BadResponse,
                "incomplete response head",
            ));
        }
        Err(e) => {
            return Err(Error::protocol(
                Phase::Handshake,
                Violation::BadResponse,
                format!("not an HTTP response: {e}"),
            ));
        }
    }
    Ok(Head {
        status: response.code.unwrap_or(0),
        headers: owned_headers(response.headers),
    })
}

/// Parsed headers as owned (name, value) pairs, values decoded leniently.
pub(crate) fn owned_headers(headers: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect()
}

/// Where a response head ends, past its empty line, looking from `from` on. Lines may
/// end in bare LF, as httparse (and RFC 9112, 2.2) accepts: CRLF CRLF, LF LF, LF CRLF.
fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    (from..buf.len()).find_map(|i| match &buf[i..] {
        [b'\n', b'\n', ..] => Some(i + 2),
        [b'\n', b'\r', b'\n', ..] => Some(i + 3),
        _ => None,
    })
}

/// A response body, de-chunked, read through a buffer that starts with the bytes read
/// past the head. A `BufRead`, so that a reader can take what arrived without a copy.
pub(crate) struct Body<R> {
    inner: R,
    /// Allocated once; `pos..end` holds what was read and not yet consumed.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    framing: Framing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// Until the peer closes.
    Close,
    /// This many bytes left.
    Length(u64),
    /// Chunked: waiting for a chunk-size line, inside a chunk, or after the last one.
    ChunkSize,
    ChunkData(u64),
    ChunkEnd,
    Done,
}

/// Longest chunk-size line accepted (a hex size and extensions).
const MAX_CHUNK_LINE: usize = 1024;

/// Bytes asked of the stream per read: a few notifications' worth.
const READ_SIZE: usize = 8 * 1024;

impl<R: Read> Body<R> {
    pub fn new(inner: R, head: &Head, leftover: Vec<u8>) -> Result<Body<R>, Error> {
        let framing = if head.has_token("Transfer-Encoding", "chunked") {
            Framing::ChunkSize
        } else if let Some(len) = head.header("Content-Length") {
            Framing::Length(len.trim().parse().map_err(|_| {
                Error::protocol(
                    Phase::Handshake,
                    Violation::BadFraming,
                    "a Content-Length that is not a number",
                )
            })?)
        } else {
            Framing::Close
        };
        let end = leftover.len();
        let mut buf = leftover;
        buf.resize(end.max(READ_SIZE), 0);
        Ok(Body {
            inner,
            buf,
            pos: 0,
            end,
            framing,
        })
    }

    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Reads more after what is buffered; Ok(false) at end of stream.
    fn fill(&mut self) -> io::Result<bool> {
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        let n = self.inner.read(&mut self.buf[self.end..])?;
        self.end += n;
        Ok(n > 0)
    }

    /// A CRLF- (or LF-) terminated line from the buffer, without its end.
    fn line(&mut self) -> io::Result<Option<std::ops::Range<usize>>> {
        loop {
            if let Some(i) = self.buf[self.pos..self.end]
                .iter()
                .position(|&b| b == b'\n')
            {
                let start = self.pos;
                let mut end = start + i;
                self.pos = end + 1;
                if end > start && self.buf[end - 1] == b'\r' {
                    end -= 1;
                }
                return Ok(Some(start..end));
            }
            if self.end - self.pos > MAX_CHUNK_LINE {
                return Err(invalid("a chunk-size line is too long"));
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Makes sure some bytes are buffered; false at end of stream.
    fn buffered(&mut self) -> io::Result<bool> {
        Ok(self.pos < self.end || self.fill()?)
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

fn ended(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, message.to_owned())
}

impl<R: Read> BufRead for Body<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let available = loop {
            match self.framing {
                Framing::Done => break 0,
                Framing::Close => {
                    break if self.buffered()? {
                        self.end - self.pos
                    } else {
                        0
                    };
                }
                Framing::Length(0) => self.framing = Framing::Done,
                Framing::Length(left) | Framing::ChunkData(left) => {
                    if !self.buffered()? {
                        return Err(ended("the stream ended inside the body"));
                    }
                    break (self.end - self.pos).min(usize::try_from(left).unwrap_or(usize::MAX));
                }
                Framing::ChunkSize => {
                    let Some(range) = self.line()? else {
                        return Err(ended("the stream ended between chunks"));
                    };
                    let line = &self.buf[range];
                    let hex = line.split(|&b| b == b';').next().unwrap_or(b"");
                    // Hex digits only (RFC 9112, 7.1): from_str_radix alone takes a sign.
                    let hex = hex.trim_ascii();
                    if hex.is_empty() || !hex.iter().all(u8::is_ascii_hexdigit) {
                        return Err(invalid("a bad chunk size"));
                    }
                    let size = std::str::from_utf8(hex)
                        .ok()
                        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
                        .ok_or_else(|| invalid("a chunk size over 64 bits"))?;
                    self.framing = if size == 0 {
                        Framing::Done
                    } else {
                        Framing::ChunkData(size)
                    };
                }
                Framing::ChunkEnd => match self.line()? {
                    Some(range) if range.is_empty() => self.framing = Framing::ChunkSize,
                    Some(_) => return Err(invalid("a chunk longer than its size")),
                    None => return Err(ended("the stream ended inside a chunk")),
                },
            }
        };
        Ok(&self.buf[self.pos..self.pos + available])
    }

    fn consume(&mut self, n: usize) {
        self.pos += n;
        let n = n as u64;
        self.framing = match self.framing {
            Framing::Length(left) => Framing::Length(left - n),
            Framing::ChunkData(left) if left == n => Framing::ChunkEnd,
            Framing::ChunkData(left) => Framing::ChunkData(left - n),
            other => other,
        };
    }
}

impl<R: Read> Read for Body<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn body(head: &str, wire: &[u8], split: usize) -> io::Result<Vec<u8>> {
        let head = parse_head(format!("HTTP/1.1 200 OK\r\n{head}\r\n").as_bytes()).unwrap();
        let (first, rest) = wire.split_at(split.min(wire.len()));
        let mut b = Body::new(io::Cursor::new(rest.to_vec()), &head, first.to_vec()).unwrap();
        let mut out = Vec::new();
        let mut chunk = [0u8; 7];
        loop {
            match b.read(&mut chunk)? {
                0 => return Ok(out),
                n => out.extend_from_slice(&chunk[..n]),
            }
        }
    }

    #[test]
    fn chunked_bodies_decode_at_any_split() {
        let wire = b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n";
        for split in 0..wire.len() {
            assert_eq!(
                body("Transfer-Encoding: chunked\r\n", wire, split).unwrap(),
                b"hello, world"
            );
        }
    }

    #[test]
    fn length_and_close_delimited_bodies() {
        assert_eq!(
            body("Content-Length: 5\r\n", b"helloEXTRA", 2).unwrap(),
            b"hello"
        );
        assert_eq!(body("", b"until close", 3).unwrap(), b"until close");
    }

    #[test]
    fn broken_chunking_is_an_error() {
        assert!(body("Transfer-Encoding: chunked\r\n", b"zz\r\nhello\r\n", 0).is_err());
        assert!(body("Transfer-Encoding: chunked\r\n", b"5\r\nhello!!\r\n", 0).is_err());
        assert!(body("Transfer-Encoding: chunked\r\n", b"5\r\nhel", 0).is_err());
    }

    #[test]
    fn a_head_ends_at_its_empty_line_whatever_its_line_ends() {
        for head in [
            "HTTP/1.1 101 OK\r\nA: b\r\n\r\n",
            "HTTP/1.1 101 OK\nA: b\n\n",
            "HTTP/1.1 101 OK\nA: b\r\n\n",
            "HTTP/1.1 101 OK\r\nA: b\n\r\n",
        ] {
            let wire = format!("{head}\x01\x00");
            for from in 0..head.len() - 3 {
                assert_eq!(
                    head_end(wire.as_bytes(), from),
                    Some(head.len()),
                    "{head:?}"
                );
            }
            let parsed = parse_head(head.as_bytes()).unwrap();
            assert_eq!((parsed.status, parsed.header("a")), (101, Some("b")));
        }
        assert_eq!(head_end(b"HTTP/1.1 101 OK\r\nA: b\r\n", 0), None);
    }

    #[test]
    fn a_chunk_size_is_hex_digits_only() {
        for size in ["+5", "-5", "0x5", "5 5", "", " ", "5_", "\u{666}"] {
            let wire = format!("{size}\r\nhello\r\n0\r\n\r\n");
            assert!(
                body("Transfer-Encoding: chunked\r\n", wire.as_bytes(), 0).is_err(),
                "{size:?}"
            );
        }
        // Whitespace before an extension is allowed (BWS), and so are both cases.
        let wire = b"5 ;x=1\r\nhello\r\nA\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n";
        assert_eq!(
            body("Transfer-Encoding: chunked\r\n", wire, 0).unwrap(),
            b"hello01234567890123456789"
        );
    }

    #[test]
    fn statuses_map_to_errors() {
        let head = |s: u16| Head {
            status: s,
            headers: vec![],
        };
        assert!(head(101).expect_status(101, "/x").is_ok());
        assert!(matches!(
            head(401).expect_status(101, "/x"),
            Err(Error::Unauthorized { status: 401 })
        ));
        assert!(matches!(
            head(498).expect_status(101, "/x"),
            Err(Error::Unauthorized { status: 498 })
        ));
        assert!(
            matches!(head(404).expect_status(101, "/x?X-Plex-Token=s"), Err(Error::HttpStatus { status: 404, ref path, .. }) if path == "/x")
        );
        let busy = Head {
            status: 503,
            headers: vec![("retry-after".into(), " 120 ".into())],
        };
        assert!(matches!(
            busy.expect_status(101, "/x"),
            Err(Error::HttpStatus { retry_after: Some(d), .. }) if d == Duration::from_secs(120)
        ));
        // What the listener waits at most, also in the error (it said u64::MAX seconds).
        for asked in [
            "99999999999999999999999",
            "3601",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            let busy = Head {
                status: 503,
                headers: vec![("Retry-After".into(), asked.into())],
            };
            let e = busy.expect_status(101, "/x").unwrap_err();
            assert!(
                matches!(e, Error::HttpStatus { retry_after: Some(d), .. } if d == MAX_RETRY_AFTER),
                "{asked}: {e:?}"
            );
            assert!(e.to_string().ends_with("retry in 3600s"), "{e}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_every_http_date_form() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        let later = Duration::from_secs(60);
        assert_eq!(retry_after("60", now), Some(later));
        for date in [
            "Sun, 06 Nov 1994 08:50:37 GMT",
            "Sunday, 06-Nov-94 08:50:37 GMT",
            "Sun Nov  6 08:50:37 1994",
        ] {
            assert_eq!(retry_after(date, now), Some(later), "{date}");
        }
        assert_eq!(
            retry_after("Sat, 29 Feb 2020 00:00:00 GMT", UNIX_EPOCH),
            Some(Duration::from_secs(1_582_934_400))
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        for bad in [
            "",
            "soon",
            "-5",
            "1.5",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Mon, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:60 GMT",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 999999999999 08:49:37 GMT",
        ] {
            assert_eq!(retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn any_coding_but_chunked_transfer_is_refused_in_any_copy_of_the_header() {
        let head = |headers: &[(&str, &str)]| Head {
            status: 200,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        };
        let ok = [
            vec![],
            vec![("Transfer-Encoding", "chunked")],
            vec![("Content-Encoding", "identity")],
        ];
        for h in ok {
            assert!(
                expect_identity_encoding(&head(&h), "x", "").is_ok(),
                "{h:?}"
            );
        }
        let refused = [
            vec![("Content-Encoding", "gzip")],
            vec![("Transfer-Encoding", "gzip, chunked")],
            vec![("Content-Encoding", "identity"), ("content-encoding", "br")],
        ];
        for h in refused {
            assert!(
                matches!(
                    expect_identity_encoding(&head(&h), "x", ""),
                    Err(Error::Unsupported { .. })
                ),
                "{h:?}"
            );
        }
    }
}
