//! `GET /:/eventsource/notifications`: a `text/event-stream` response, one event per
//! notification, and a `ping` event about every 10 s.

use std::io::BufRead;
use std::time::Instant;

use crate::alert::{self, View};
use crate::error::Error;
use crate::sse::{self, SseError};

use super::http::Body;
use super::{Heartbeat, Received, Settings, Stream, is_timeout};

pub(crate) const PATH: &str = "/:/eventsource/notifications";

pub(crate) struct EventSourceConnection {
    body: Body<Stream>,
    parser: sse::Parser,
    heartbeat: Heartbeat,
    max_message_size: usize,
    last_seen: Instant,
    view: View,
}

/// Sends the request on an open stream and checks the response head.
pub(crate) fn request(
    mut stream: Stream,
    settings: &Settings,
    heartbeat: Heartbeat,
) -> Result<EventSourceConnection, Error> {
    // The watchdog needs the server's pings; a positive filter list might exclude them.
    let filters = settings.filters.also_admitting("ping");
    let headers = [
        ("Accept", "text/event-stream".to_owned()),
        ("Cache-Control", "no-cache".to_owned()),
    ];
    let (head, leftover) = settings.get(&mut stream, PATH, &filters, &headers, 200)?;
    let content_type = head.header("Content-Type").unwrap_or("");
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("text/event-stream")
    {
        return Err(Error::protocol(format!(
            "expected a text/event-stream response, got {:?}",
            crate::error::excerpt(content_type)
        )));
    }
    stream.set_read_timeout(heartbeat.read_timeout())?;
    let limit = settings.max_message_size;
    Ok(EventSourceConnection {
        body: Body::new(stream, &head, leftover)?,
        parser: sse::Parser::new(sse::Limits {
            // A data line carries one notification's JSON after "data: ".
            max_line: limit.saturating_add(64),
            max_event: limit,
        }),
        heartbeat,
        max_message_size: limit,
        last_seen: Instant::now(),
        view: settings.view,
    })
}

impl EventSourceConnection {
    /// The next event already received, or blocks reading until one arrives or the read
    /// times out.
    pub fn next(&mut self) -> Result<Received, Error> {
        loop {
            if let Some(item) = self.parser.next_event() {
                return Ok(match item {
                    Ok(event) if event.event_type == "ping" => Received::Alive,
                    Ok(event) => {
                        match alert::from_event_stream(event.event_type, event.data, self.view) {
                            Ok(decoded) => Received::Alert(decoded),
                            Err(e) => Received::Problem(e),
                        }
                    }
                    Err(SseError::LineTooLong { .. } | SseError::EventTooLarge { .. }) => {
                        Received::Problem(Error::MessageTooLarge {
                            size: None,
                            limit: self.max_message_size,
                        })
                    }
                });
            }
            match self.body.fill_buf() {
                Ok([]) => {
                    return Err(Error::Closed {
                        reason: "the event stream ended".to_owned(),
                    });
                }
                Ok(bytes) => {
                    self.last_seen = Instant::now();
                    self.parser.push(bytes);
                    let n = bytes.len();
                    self.body.consume(n);
                }
                Err(e) if is_timeout(&e) => return self.idle(),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                    return Ok(Received::Idle);
                }
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    return Err(Error::protocol(e.to_string()));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// A read timed out: the server pings every 10 s, so long silence means a dead peer.
    fn idle(&mut self) -> Result<Received, Error> {
        let silent_for = self.last_seen.elapsed();
        match self.heartbeat.dead_after() {
            Some(limit) if silent_for >= limit => Err(Error::HeartbeatTimeout { silent_for }),
            Some(limit) => {
                let _ = self
                    .body
                    .get_ref()
                    .set_read_timeout((limit - silent_for).min(self.heartbeat.read_timeout()));
                Ok(Received::Idle)
            }
            None => Ok(Received::Idle),
        }
    }
}
