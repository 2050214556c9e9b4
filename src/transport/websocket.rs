//! `GET /:/websockets/notifications`: the upgrade, then one JSON text frame per
//! notification. The heartbeat's Pings and the close handshake live here too: a close is
//! answered with a code alone (its own, or 1002 or 1007 for a bad one), and then the
//! server is left to close the TCP connection first, as RFC 6455 (7.1.1) asks, for a
//! moment at most.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use crate::error::{self, Error, Phase, Violation};
use crate::reconnect::Heartbeat;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::frames::{Broken, FrameParser, Incoming, Masker, is_valid_close_code, random_u64};
use super::net::{Stream, is_timeout};
use super::{Frame, Settings, http};

/// The path every working client uses.
pub(crate) const PATH: &str = "/:/websockets/notifications";
/// The spelling in Plex's published API description; tried once if the plural is a 404.
pub(crate) const SINGULAR_PATH: &str = "/:/websocket/notifications";

/// Bytes asked of the socket per read: a few notifications' worth.
const READ_BUFFER: usize = 8 * 1024;
/// How long, after the close handshake, the server is given to close the TCP connection
/// before the client does. A stop ends the wait at once (it shuts the socket down).
const SERVER_CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Opens WebSocket connections, remembering which path the server answers on.
#[derive(Debug)]
pub(crate) struct Dialer {
    path: &'static str,
}

impl Default for Dialer {
    fn default() -> Dialer {
        Dialer { path: PATH }
    }
}

impl Dialer {
    /// Upgrades a stream from `open`. A 404 on the plural path is tried once on the
    /// singular one; if that works, it is used from then on.
    pub fn connect(
        &mut self,
        settings: &Settings,
        open: impl Fn() -> Result<Stream, Error>,
    ) -> Result<Connection, Error> {
        match handshake(open()?, settings, self.path) {
            Err(Error::HttpStatus { status: 404, .. }) if self.path == PATH => {
                let conn = handshake(open()?, settings, SINGULAR_PATH).map_err(|e| match e {
                    // Neither spelling exists: name the one every client uses.
                    Error::HttpStatus {
                        status: 404,
                        retry_after,
                        ..
                    } => Error::HttpStatus {
                        status: 404,
                        path: PATH.to_owned(),
                        retry_after,
                    },
                    e => e,
                })?;
                self.path = SINGULAR_PATH;
                Ok(conn)
            }
            result => result,
        }
    }
}

pub(crate) struct Connection {
    stream: Stream,
    parser: FrameParser,
    /// Bytes read and not yet parsed: `buf[start..end]`.
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    masker: Masker,
    heartbeat: Heartbeat,
    max_message_size: usize,
    last_seen: Instant,
    ping_sent: Option<Instant>,
    read_timeout: Duration,
    /// A Close went out (an answer, or ours): none may follow it.
    close_sent: bool,
    /// The stream ended or failed, or the peer is presumed dead: nothing is left to wait
    /// for when closing.
    ended: bool,
}

/// What a server answers to an upgrade when a proxy in front of it does not pass
/// WebSocket upgrades: a plain request's answer, or a refusal.
fn upgrade_refused(status: u16) -> Error {
    Error::Unsupported {
        reason: format!(
            "the server answered HTTP {status} to the WebSocket upgrade, where 101 belongs: \
             a reverse proxy that does not pass WebSocket upgrades answers this way. Pass \
             them (nginx: proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; \
             proxy_set_header Connection \"upgrade\"), or use Transport::EventSource"
        ),
    }
}

/// A new `Sec-WebSocket-Key`: 16 random bytes, in base64 (RFC 6455, 4.1).
fn new_key() -> String {
    let mut bytes = [0; 16];
    for half in bytes.chunks_mut(8) {
        half.copy_from_slice(&random_u64().to_le_bytes());
    }
    BASE64.encode(bytes)
}

/// The `Sec-WebSocket-Accept` that answers `key` (RFC 6455, 4.2.2): the SHA-1 of the key
/// and the protocol's GUID, in base64. The mock server answers with it too.
pub(crate) fn accept_key(key: &str) -> String {
    let mut sha1 = sha1_smol::Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    BASE64.encode(sha1.digest().bytes())
}

/// Upgrades an open stream at `path`.
fn handshake(mut stream: Stream, settings: &Settings, path: &str) -> Result<Connection, Error> {
    let key = new_key();
    let headers = [
        ("Upgrade", "websocket".to_owned()),
        ("Connection", "Upgrade".to_owned()),
        ("Sec-WebSocket-Key", key.clone()),
        ("Sec-WebSocket-Version", "13".to_owned()),
    ];
    let filters = settings.filters.query_value();
    let query: Vec<(&str, &str)> = filters.iter().map(|f| ("filters", f.as_str())).collect();
    let connector = &settings.connector;
    let (head, leftover) =
        http::request(&mut stream, connector, "GET", path, &query, &headers, 101).map_err(|e| {
            match e {
                Error::HttpStatus {
                    status: status @ (200..=299 | 400 | 426),
                    ..
                } => upgrade_refused(status),
                e => e,
            }
        })?;
    let refuse = |message: String| {
        Err(Error::protocol(
            Phase::Handshake,
            Violation::BadUpgrade,
            message,
        ))
    };
    if head.header("Sec-WebSocket-Accept") != Some(accept_key(&key).as_str()) {
        return refuse("the server's WebSocket upgrade did not answer our key".to_owned());
    }
    if !head
        .header("Upgrade")
        .is_some_and(|u| u.trim().eq_ignore_ascii_case("websocket"))
    {
        return refuse("the server's 101 answer is not a WebSocket upgrade".to_owned());
    }
    // We ask for neither: a server that switches one on anyway would make every frame
    // unreadable (nothing here decompresses), so say so now.
    for header in ["Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol"] {
        if head.header(header).is_some_and(|v| !v.trim().is_empty()) {
            return refuse(format!(
                "the server's WebSocket upgrade set {header}, which was not asked for"
            ));
        }
    }
    let heartbeat = settings.heartbeat;
    let read_timeout = heartbeat.read_timeout();
    stream
        .set_read_timeout(read_timeout)
        .and_then(|()| {
            stream
                .tcp()
                .set_write_timeout(Some(settings.connector.handshake_timeout))
        })
        .map_err(|e| Error::lost(Phase::Handshake, e))?;
    let mut buf = vec![0; READ_BUFFER.max(leftover.len())].into_boxed_slice();
    buf[..leftover.len()].copy_from_slice(&leftover);
    Ok(Connection {
        stream,
        parser: FrameParser::new(settings.max_message_size),
        buf,
        start: 0,
        end: leftover.len(),
        masker: Masker::default(),
        heartbeat,
        max_message_size: settings.max_message_size,
        last_seen: Instant::now(),
        ping_sent: None,
        read_timeout,
        close_sent: false,
        ended: false,
    })
}

impl Connection {
    /// Blocks until a message or control frame arrives, or the read times out.
    pub fn next(&mut self) -> Result<Frame<'_>, Error> {
        loop {
            if self.start < self.end {
                let (used, item) = self.parser.feed(&self.buf[self.start..self.end]);
                self.start += used;
                match item {
                    Some(Ok(Incoming::Text)) => return Ok(Frame::Text(self.parser.text())),
                    Some(Ok(other)) => return self.control(other),
                    Some(Err(broken)) => return Err(self.fail(broken)),
                    None => {}
                }
            }
            (self.start, self.end) = (0, 0);
            self.end = match self.stream.read(&mut self.buf) {
                Ok(0) => {
                    // Nobody is left to say goodbye to.
                    self.close_sent = true;
                    self.ended = true;
                    return Err(Error::closed(
                        "the connection ended without a WebSocket close",
                    ));
                }
                Ok(n) => n,
                Err(e) if is_timeout(&e) => return self.idle(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(Frame::Idle),
                Err(e) => {
                    self.ended = true;
                    return Err(Error::lost(Phase::Read, e));
                }
            };
            self.alive();
        }
    }

    /// What completed, if it was not a text message.
    fn control(&mut self, incoming: Incoming) -> Result<Frame<'_>, Error> {
        Ok(match incoming {
            Incoming::Text => unreachable!("handled by next()"),
            Incoming::Binary { size } => Frame::Unreadable(Error::decode_bytes(
                format!("a binary message of {size} bytes; Plex sends text"),
                self.parser.payload(),
            )),
            Incoming::TooLarge { size } => Frame::Unreadable(Error::MessageTooLarge {
                size: usize::try_from(size).ok(),
                limit: self.max_message_size,
            }),
            Incoming::Ping => {
                let pong = self.masker.frame(0xA, self.parser.payload());
                self.send(&pong)?;
                Frame::Alive
            }
            Incoming::Pong => Frame::Alive,
            Incoming::Close {
                code,
                reason,
                reason_is_utf8,
            } => {
                // The code is echoed (1002 for one that may not be sent, 1007 for a reason
                // that is not UTF-8), never the reason: it might carry what a proxy echoed,
                // the token included.
                let reply = match code {
                    None => Vec::new(),
                    Some(c) if !is_valid_close_code(c) => 1002u16.to_be_bytes().to_vec(),
                    Some(_) if !reason_is_utf8 => 1007u16.to_be_bytes().to_vec(),
                    Some(c) => c.to_be_bytes().to_vec(),
                };
                let close = self.masker.frame(0x8, &reply);
                self.close_sent = true;
                let _ = self.send(&close);
                return Err(Error::Closed {
                    code,
                    reason: error::foreign(&reason),
                });
            }
        })
    }

    /// The server broke the protocol: say so with a close frame (1002, or 1007 for text
    /// that is not UTF-8), then end the connection.
    fn fail(&mut self, broken: Broken) -> Error {
        let close = self.masker.frame(0x8, &broken.code.to_be_bytes());
        self.close_sent = true;
        let _ = self.send(&close);
        let violation = match broken.code {
            1007 => Violation::InvalidUtf8,
            _ => Violation::BadFrame,
        };
        Error::protocol(Phase::Read, violation, broken.reason)
    }

    fn send(&mut self, frame: &[u8]) -> Result<(), Error> {
        let sent = self
            .stream
            .write_all(frame)
            .and_then(|()| self.stream.flush());
        self.ended |= sent.is_err();
        sent.map_err(|e| Error::lost(Phase::Read, e))
    }

    fn alive(&mut self) {
        self.last_seen = Instant::now();
        if self.ping_sent.take().is_some() {
            self.set_read_timeout(self.heartbeat.read_timeout());
        }
    }

    /// A read timed out: probe the peer, or give up on it.
    fn idle(&mut self) -> Result<Frame<'_>, Error> {
        if !self.heartbeat.is_enabled() {
            return Ok(Frame::Idle);
        }
        let now = Instant::now();
        let silent_for = now.duration_since(self.last_seen);
        let (interval, timeout) = (self.heartbeat.interval(), self.heartbeat.timeout());
        match self.ping_sent {
            Some(sent) => {
                let waited = now.duration_since(sent);
                if waited >= timeout {
                    self.ended = true;
                    return Err(Error::HeartbeatTimeout { silent_for });
                }
                self.set_read_timeout(timeout - waited);
            }
            None if silent_for >= interval => {
                // A real Ping frame: Plex drops sockets that send unsolicited Pongs or text.
                let ping = self.masker.frame(0x9, &[]);
                self.send(&ping)?;
                self.ping_sent = Some(now);
                self.set_read_timeout(timeout);
            }
            None => self.set_read_timeout(interval - silent_for),
        }
        Ok(Frame::Idle)
    }

    fn set_read_timeout(&mut self, timeout: Duration) {
        if timeout != self.read_timeout && self.stream.set_read_timeout(timeout).is_ok() {
            self.read_timeout = timeout;
        }
    }

    /// Says goodbye politely (close code 1000), unless a Close already went out, then
    /// gives the server a moment to close the TCP connection first.
    pub fn close(mut self) {
        if !self.close_sent {
            let _ = self
                .stream
                .tcp()
                .set_write_timeout(Some(Duration::from_secs(1)));
            let close = self.masker.frame(0x8, &1000u16.to_be_bytes());
            self.close_sent = true;
            let _ = self.send(&close);
        }
        self.wait_for_server_close();
    }

    /// RFC 6455, 7.1.1: once the close handshake is done, the server closes the TCP
    /// connection first, so that it, not the client, holds the TIME_WAIT. Reads (and
    /// drops) whatever still comes until the stream ends, at most [`SERVER_CLOSE_WAIT`].
    fn wait_for_server_close(&mut self) {
        if self.ended {
            return;
        }
        let deadline = Instant::now() + SERVER_CLOSE_WAIT;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if left.is_zero() || self.stream.set_read_timeout(left).is_err() {
                return;
            }
            match self.stream.read(&mut self.buf) {
                // Ended, failed, shut down by a stop, or timed out.
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_key_is_rfc_6455s() {
        // RFC 6455, 1.3.
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn each_key_is_16_new_bytes() {
        let keys: Vec<String> = (0..100).map(|_| new_key()).collect();
        for key in &keys {
            assert_eq!(BASE64.decode(key).map(|k| k.len()), Ok(16), "{key}");
        }
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), keys.len());
    }
}
