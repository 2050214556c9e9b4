//! `GET /:/websockets/notifications`: the upgrade, then one JSON text frame per notification.

use std::time::{Duration, Instant};

use tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tungstenite::{Message, WebSocket};

use crate::alert::{self, View};
use crate::error::Error;

use super::{Heartbeat, Received, Settings, Stream, is_timeout};

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

pub(crate) struct WebSocketConnection {
    ws: WebSocket<Stream>,
    heartbeat: Heartbeat,
    max_message_size: usize,
    last_seen: Instant,
    ping_sent: Option<Instant>,
    read_timeout: Duration,
    view: View,
}

/// Upgrades an open stream at `path`.
pub(crate) fn handshake(
    mut stream: Stream,
    settings: &Settings,
    path: &str,
    heartbeat: Heartbeat,
) -> Result<WebSocketConnection, Error> {
    let key = tungstenite::handshake::client::generate_key();
    let headers = [
        ("Upgrade", "websocket".to_owned()),
        ("Connection", "Upgrade".to_owned()),
        ("Sec-WebSocket-Key", key.clone()),
        ("Sec-WebSocket-Version", "13".to_owned()),
    ];
    let (head, leftover) = settings.get(&mut stream, path, &settings.filters, &headers, 101)?;
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    if head.header("Sec-WebSocket-Accept") != Some(accept.as_str()) {
        return Err(Error::protocol(
            "the server's WebSocket upgrade did not answer our key",
        ));
    }
    if !head
        .header("Upgrade")
        .is_some_and(|u| u.trim().eq_ignore_ascii_case("websocket"))
    {
        return Err(Error::protocol(
            "the server's 101 answer is not a WebSocket upgrade",
        ));
    }
    // We ask for neither: a server that switches one on anyway would make every frame
    // unreadable (tungstenite does not decompress), so say so now.
    for header in ["Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol"] {
        if head.header(header).is_some_and(|v| !v.trim().is_empty()) {
            return Err(Error::protocol(format!(
                "the server's WebSocket upgrade set {header}, which was not asked for"
            )));
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
    let read_timeout = heartbeat.read_timeout();
    stream.set_read_timeout(read_timeout)?;
    Ok(WebSocketConnection {
        ws: WebSocket::from_partially_read(stream, leftover, Role::Client, Some(config)),
        heartbeat,
        max_message_size: limit,
        last_seen: Instant::now(),
        ping_sent: None,
        read_timeout,
        view: settings.view,
    })
}

impl WebSocketConnection {
    /// Blocks until a frame arrives or the read times out.
    pub fn next(&mut self) -> Result<Received, Error> {
        use tungstenite::Error as E;
        let message = match self.ws.read() {
            Ok(message) => message,
            Err(E::Io(e)) if is_timeout(&e) => return self.idle(),
            Err(E::Io(e)) if e.kind() == std::io::ErrorKind::Interrupted => {
                return Ok(Received::Idle);
            }
            // The whole frame was consumed before these were found: the stream is in sync.
            Err(E::Utf8(lossy)) => {
                self.alive();
                return Ok(Received::Problem(Error::decode(
                    "a text frame that is not valid UTF-8",
                    &lossy,
                )));
            }
            Err(E::Capacity(e)) => {
                return Err(Error::protocol(format!(
                    "{e}; a frame this large can't be skipped, so the connection is dropped"
                )));
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
            Err(E::Io(e)) => return Err(e.into()),
            Err(e) => return Err(Error::protocol(e.to_string())),
        };
        self.alive();
        Ok(match message {
            Message::Text(text) if text.len() > self.max_message_size => {
                Received::Problem(Error::MessageTooLarge {
                    size: Some(text.len()),
                    limit: self.max_message_size,
                })
            }
            Message::Text(text) => match alert::from_websocket_text(&text, self.view) {
                Ok(decoded) => Received::Alert(decoded),
                Err(e) => Received::Problem(e),
            },
            Message::Binary(bytes) => Received::Problem(Error::Decode {
                message: format!(
                    "a binary frame of {} bytes; Plex sends text frames",
                    bytes.len()
                ),
                excerpt: alert::binary_excerpt(&bytes),
            }),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Received::Alive,
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
    fn idle(&mut self) -> Result<Received, Error> {
        if !self.heartbeat.enabled {
            return Ok(Received::Idle);
        }
        let now = Instant::now();
        let silent_for = now.duration_since(self.last_seen);
        match self.ping_sent {
            Some(sent) => {
                let waited = now.duration_since(sent);
                if waited >= self.heartbeat.timeout {
                    return Err(Error::HeartbeatTimeout { silent_for });
                }
                self.set_read_timeout(self.heartbeat.timeout - waited);
            }
            None if silent_for >= self.heartbeat.interval => {
                // A real Ping frame: Plex drops sockets that send unsolicited Pongs or text.
                match self.ws.send(Message::Ping(Default::default())) {
                    Ok(()) => {}
                    Err(tungstenite::Error::Io(e)) if is_timeout(&e) => {}
                    Err(e) => return Err(Error::protocol(format!("could not send a ping: {e}"))),
                }
                self.ping_sent = Some(now);
                self.set_read_timeout(self.heartbeat.timeout);
            }
            None => self.set_read_timeout(self.heartbeat.interval - silent_for),
        }
        Ok(Received::Idle)
    }

    fn set_read_timeout(&mut self, timeout: Duration) {
        if timeout != self.read_timeout && self.ws.get_ref().set_read_timeout(timeout).is_ok() {
            self.read_timeout = timeout;
        }
    }

    /// Says goodbye politely, without waiting for the reply.
    pub fn close(&mut self) {
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
