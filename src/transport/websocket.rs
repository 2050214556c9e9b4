//! `GET /:/websockets/notifications`: the upgrade, then one JSON text frame per
//! notification. The heartbeat's Pings and the close handshake live here too.

use std::time::{Duration, Instant};

use tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tungstenite::{Message, WebSocket};

use crate::error::{self, Error, Phase};
use crate::reconnect::Heartbeat;

use super::net::{Stream, is_timeout};
use super::{Frame, Settings, http};

/// The path every working client uses.
pub(crate) const PATH: &str = "/:/websockets/notifications";
/// The spelling in Plex's published API description; tried once if the plural is a 404.
pub(crate) const SINGULAR_PATH: &str = "/:/websocket/notifications";

/// How much bigger than the message limit a frame may be and still be skipped on the same
/// connection: such a frame is read whole before it can be dropped, so the memory a peer
/// can make us hold is bounded by this multiple; a bigger frame drops the connection.
const SKIPPABLE_FACTOR: usize = 4;

/// Bytes asked of the socket per read: a few notifications' worth.
const READ_BUFFER: usize = 8 * 1024;

/// Opens WebSocket connections, remembering which path the server answers on.
#[derive(Debug)]
pub(crate) struct Connector {
    path: &'static str,
}

impl Default for Connector {
    fn default() -> Connector {
        Connector { path: PATH }
    }
}

impl Connector {
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
                    Error::HttpStatus { status: 404, .. } => Error::HttpStatus {
                        status: 404,
                        path: PATH.to_owned(),
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
    ws: WebSocket<Stream>,
    heartbeat: Heartbeat,
    max_message_size: usize,
    last_seen: Instant,
    ping_sent: Option<Instant>,
    read_timeout: Duration,
    /// The text message last read, lent out as a [`Frame::Text`] until the next read.
    text: tungstenite::Utf8Bytes,
}

/// Upgrades an open stream at `path`.
fn handshake(mut stream: Stream, settings: &Settings, path: &str) -> Result<Connection, Error> {
    let key = tungstenite::handshake::client::generate_key();
    let headers = [
        ("Upgrade", "websocket".to_owned()),
        ("Connection", "Upgrade".to_owned()),
        ("Sec-WebSocket-Key", key.clone()),
        ("Sec-WebSocket-Version", "13".to_owned()),
    ];
    let (head, leftover) = http::get(
        &mut stream,
        settings,
        path,
        &settings.filters,
        &headers,
        101,
    )?;
    let refuse = |message: String| Err(Error::protocol(Phase::Handshake, message));
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    if head.header("Sec-WebSocket-Accept") != Some(accept.as_str()) {
        return refuse("the server's WebSocket upgrade did not answer our key".to_owned());
    }
    if !head
        .header("Upgrade")
        .is_some_and(|u| u.trim().eq_ignore_ascii_case("websocket"))
    {
        return refuse("the server's 101 answer is not a WebSocket upgrade".to_owned());
    }
    // We ask for neither: a server that switches one on anyway would make every frame
    // unreadable (tungstenite does not decompress), so say so now.
    for header in ["Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol"] {
        if head.header(header).is_some_and(|v| !v.trim().is_empty()) {
            return refuse(format!(
                "the server's WebSocket upgrade set {header}, which was not asked for"
            ));
        }
    }
    let limit = settings.max_message_size;
    let hard_limit = limit.saturating_mul(SKIPPABLE_FACTOR);
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(64 * 1024)
        .max_message_size(Some(hard_limit))
        .max_frame_size(Some(hard_limit));
    let heartbeat = settings.heartbeat;
    let read_timeout = heartbeat.read_timeout();
    stream
        .set_read_timeout(read_timeout)
        .map_err(|e| Error::lost(Phase::Handshake, e))?;
    Ok(Connection {
        ws: WebSocket::from_partially_read(stream, leftover, Role::Client, Some(config)),
        heartbeat,
        max_message_size: limit,
        last_seen: Instant::now(),
        ping_sent: None,
        read_timeout,
        text: Default::default(),
    })
}

impl Connection {
    /// Blocks until a frame arrives or the read times out.
    pub fn next(&mut self) -> Result<Frame<'_>, Error> {
        use tungstenite::Error as E;
        // Released before reading: held, it would pin tungstenite's read buffer, which
        // then could not be reused for the next message.
        self.text = Default::default();
        let message = match self.ws.read() {
            Ok(message) => message,
            Err(E::Io(e)) if is_timeout(&e) => return self.idle(),
            Err(E::Io(e)) if e.kind() == std::io::ErrorKind::Interrupted => {
                return Ok(Frame::Idle);
            }
            // The whole frame was consumed before these were found: the stream is in sync.
            Err(E::Utf8(lossy)) => {
                self.alive();
                return Ok(Frame::Unreadable(Error::decode(
                    "a text frame that is not valid UTF-8",
                    &lossy,
                )));
            }
            Err(E::Capacity(e)) => {
                return Err(Error::protocol(
                    Phase::Read,
                    format!(
                        "{e}; a frame this large can't be skipped, so the connection is dropped"
                    ),
                ));
            }
            Err(E::ConnectionClosed | E::AlreadyClosed) => {
                return Err(Error::Closed {
                    reason: "the WebSocket closed".to_owned(),
                });
            }
            Err(E::Protocol(tungstenite::error::ProtocolError::ResetWithoutClosingHandshake)) => {
                return Err(Error::Closed {
                    reason: "the connection ended without a WebSocket close".to_owned(),
                });
            }
            Err(E::Io(e)) => return Err(Error::lost(Phase::Read, e)),
            Err(e) => return Err(Error::protocol(Phase::Read, e.to_string())),
        };
        self.alive();
        Ok(match message {
            Message::Text(text) if text.len() > self.max_message_size => {
                Frame::Unreadable(Error::MessageTooLarge {
                    size: Some(text.len()),
                    limit: self.max_message_size,
                })
            }
            Message::Text(text) => {
                self.text = text;
                Frame::Text(self.text.as_str())
            }
            Message::Binary(bytes) => Frame::Unreadable(Error::Decode {
                message: format!(
                    "a binary frame of {} bytes; Plex sends text frames",
                    bytes.len()
                ),
                excerpt: error::excerpt(&String::from_utf8_lossy(&bytes[..bytes.len().min(256)])),
            }),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Frame::Alive,
            Message::Close(frame) => return Err(closed(frame)),
        })
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
                    return Err(Error::HeartbeatTimeout { silent_for });
                }
                self.set_read_timeout(timeout - waited);
            }
            None if silent_for >= interval => {
                // A real Ping frame: Plex drops sockets that send unsolicited Pongs or text.
                match self.ws.send(Message::Ping(Default::default())) {
                    Ok(()) => {}
                    Err(tungstenite::Error::Io(e)) if is_timeout(&e) => {}
                    Err(e) => {
                        return Err(Error::protocol(
                            Phase::Read,
                            format!("could not send a ping: {e}"),
                        ));
                    }
                }
                self.ping_sent = Some(now);
                self.set_read_timeout(timeout);
            }
            None => self.set_read_timeout(interval - silent_for),
        }
        Ok(Frame::Idle)
    }

    fn set_read_timeout(&mut self, timeout: Duration) {
        if timeout != self.read_timeout && self.ws.get_ref().set_read_timeout(timeout).is_ok() {
            self.read_timeout = timeout;
        }
    }

    /// Says goodbye politely, without waiting for the reply.
    pub fn close(mut self) {
        let _ = self
            .ws
            .get_ref()
            .tcp()
            .set_write_timeout(Some(Duration::from_secs(1)));
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
    }
}

fn closed(frame: Option<CloseFrame>) -> Error {
    Error::Closed {
        reason: match frame {
            Some(f) if f.reason.is_empty() => format!("WebSocket close code {}", u16::from(f.code)),
            Some(f) => format!("WebSocket close code {}: {}", u16::from(f.code), f.reason),
            None => "WebSocket close without a code".to_owned(),
        },
    }
}
