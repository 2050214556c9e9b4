//! `GET /:/eventsource/notifications`: a `text/event-stream` response, one event per
//! notification, and a `ping` event about every 10 s.

use std::io::BufRead;
use std::time::Instant;

use crate::error::{self, Error, Phase, Violation};
use crate::reconnect::Heartbeat;

use super::http::{self, Body};
use super::net::{Stream, is_timeout};
use super::sse::{self, SseError};
use super::{Frame, Settings};

pub(crate) const PATH: &str = "/:/eventsource/notifications";

pub(crate) struct Connection {
    body: Body<Stream>,
    parser: sse::Parser,
    heartbeat: Heartbeat,
    max_message_size: usize,
    last_seen: Instant,
}

/// Sends the request on an open stream and checks the response head.
pub(crate) fn connect(mut stream: Stream, settings: &Settings) -> Result<Connection, Error> {
    // The watchdog needs the server's pings; a positive filter list might exclude them.
    let filters = settings.filters.also_admitting("ping");
    let headers = [
        ("Accept", "text/event-stream".to_owned()),
        ("Accept-Encoding", "identity".to_owned()),
        ("Cache-Control", "no-cache".to_owned()),
    ];
    let filters = filters.query_value();
    let query: Vec<(&str, &str)> = filters.iter().map(|f| ("filters", f.as_str())).collect();
    let connector = &settings.connector;
    let (head, leftover) =
        http::request(&mut stream, connector, "GET", PATH, &query, &headers, 200)?;
    let content_type = head.header("Content-Type").unwrap_or("");
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("text/event-stream")
    {
        // Named when common (a login page's text/html), never quoted from the server.
        let media_type = content_type.split(';').next().unwrap_or("");
        let got = match error::known(
            media_type,
            &[
                "text/html",
                "text/plain",
                "application/json",
                "application/xml",
                "text/xml",
            ],
        ) {
            Some(known) => known,
            None if media_type.trim().is_empty() => "no Content-Type",
            None => "another Content-Type",
        };
        return Err(Error::protocol(
            Phase::Handshake,
            Violation::NotAnEventStream,
            format!("expected a text/event-stream response, got {got}"),
        ));
    }
    http::expect_identity_encoding(&head, "the event stream", ", or use Transport::WebSocket")?;
    let heartbeat = settings.heartbeat;
    stream
        .set_read_timeout(heartbeat.read_timeout())
        .map_err(|e| Error::lost(Phase::Handshake, e))?;
    let limit = settings.max_message_size;
    Ok(Connection {
        body: Body::new(stream, &head, leftover)?,
        parser: sse::Parser::new(sse::Limits {
            // A data line carries one notification's JSON after "data: ".
            max_line: limit.saturating_add(64),
            max_event: limit,
        }),
        heartbeat,
        max_message_size: limit,
        last_seen: Instant::now(),
    })
}

impl Connection {
    /// The next event already received, or blocks reading until one arrives or the read
    /// times out.
    pub fn next(&mut self) -> Result<Frame<'_>, Error> {
        loop {
            match self.parser.advance() {
                Some(Ok(())) => {
                    let event = self.parser.event();
                    return Ok(match event.event_type {
                        "ping" => Frame::Alive,
                        event_type => Frame::Event {
                            event_type,
                            data: event.data,
                        },
                    });
                }
                Some(Err(SseError::LineTooLong { .. } | SseError::EventTooLarge { .. })) => {
                    return Ok(Frame::Unreadable(Error::MessageTooLarge {
                        size: None,
                        limit: self.max_message_size,
                    }));
                }
                None => {}
            }
            match self.body.fill_buf() {
                Ok([]) => {
                    return Err(Error::closed("the event stream ended"));
                }
                Ok(bytes) => {
                    self.last_seen = Instant::now();
                    self.parser.push(bytes);
                    let n = bytes.len();
                    self.body.consume(n);
                }
                Err(e) if is_timeout(&e) => return self.idle(),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return Ok(Frame::Idle),
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    let violation = Violation::BadFraming;
                    return Err(Error::protocol(Phase::Read, violation, e.to_string()));
                }
                Err(e) => return Err(Error::lost(Phase::Read, e)),
            }
        }
    }

    /// A read timed out: the server pings every 10 s, so long silence means a dead peer.
    fn idle(&mut self) -> Result<Frame<'_>, Error> {
        let silent_for = self.last_seen.elapsed();
        match self.heartbeat.dead_after() {
            Some(limit) if silent_for >= limit => Err(Error::HeartbeatTimeout { silent_for }),
            Some(limit) => {
                let _ = self
                    .body
                    .get_ref()
                    .set_read_timeout((limit - silent_for).min(self.heartbeat.read_timeout()));
                Ok(Frame::Idle)
            }
            None => Ok(Frame::Idle),
        }
    }
}
