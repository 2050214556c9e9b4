//! The two ways a server sends notifications. Each transport opens a connection, yields
//! what arrives as [`Frame`]s, and closes; it decodes nothing and decides nothing beyond
//! its own protocol (the WebSocket close handshake, the event stream's pings). The
//! listener's worker turns frames into alerts and decides what happens next.

pub(crate) mod endpoint;
pub(crate) mod eventsource;
pub(crate) mod frames;
pub(crate) mod http;
pub(crate) mod net;
pub(crate) mod sse;
pub(crate) mod websocket;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use native_tls::TlsConnector;

use crate::reconnect::Heartbeat;
use crate::stop::Stop;
use crate::{Error, Filters};

pub(crate) use endpoint::Endpoint;

/// Which of the server's two notification endpoints to use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// `GET /:/websockets/notifications`, one JSON text frame per notification. The default.
    #[default]
    WebSocket,
    /// `GET /:/eventsource/notifications`, a `text/event-stream` response: plain HTTP, for
    /// proxies that do not pass WebSocket upgrades.
    EventSource,
}

/// `websocket` (or `ws`) and `eventsource` (or `sse`), in any case. For command-line flags.
impl std::str::FromStr for Transport {
    type Err = Error;
    fn from_str(s: &str) -> Result<Transport, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "websocket" | "ws" => Ok(Transport::WebSocket),
            "eventsource" | "sse" => Ok(Transport::EventSource),
            _ => Err(Error::config(format!(
                "unknown transport {s:?}: use websocket or eventsource"
            ))),
        }
    }
}

/// The token: never printed, never logged.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Token(String);

impl Token {
    pub fn new(token: String) -> Token {
        Token(token)
    }

    /// The token itself, for the one place it goes: the request.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `error` as it leaves the crate: the token blanked out of every text in it, and the
    /// server's texts cut to their excerpt. Once per error: see [`Error::redact`].
    pub fn redact(&self, error: Error) -> Error {
        error.redact(&self.0)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "None"
        } else {
            "<redacted>"
        })
    }
}

/// The one connector: how the crate reaches a server, for the listener's transports and
/// every REST call alike. The endpoint, TLS, the token, who the app is ([`Client`]), and
/// the timeouts of each step (connect, TLS, the request's head); a caller with a total
/// deadline shortens them to what is left. Checked when it is made
/// ([`Config::check`](crate::config::Config::check)); it knows nothing of notifications.
///
/// [`Client`]: crate::Client
#[derive(Clone)]
pub(crate) struct Connector {
    pub endpoint: Endpoint,
    pub token: Token,
    pub token_in_query: bool,
    pub client: crate::Client,
    pub connect_timeout: Duration,
    pub handshake_timeout: Duration,
    pub tls: Option<TlsConnector>,
}

impl Connector {
    /// A copy whose steps end by `deadline` at the latest.
    pub fn within(&self, deadline: std::time::Instant) -> Connector {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let mut connector = self.clone();
        connector.connect_timeout = connector.connect_timeout.min(left);
        connector.handshake_timeout = connector.handshake_timeout.min(left);
        connector
    }
}

/// Everything a listener's connection needs: the connector, and what only notifications
/// have (the filters, the largest message, the heartbeat).
#[derive(Clone)]
pub(crate) struct Settings {
    pub connector: Connector,
    pub filters: Filters,
    pub max_message_size: usize,
    pub heartbeat: Heartbeat,
}

/// What a connection yields.
#[derive(Debug)]
pub(crate) enum Frame<'a> {
    /// A WebSocket text message: one notification, `{"NotificationContainer": {...}}`.
    Text(&'a str),
    /// An event-stream event: its `event:` type and its data (not a ping).
    Event { event_type: &'a str, data: &'a str },
    /// A message that cannot be a notification (a binary frame, too large): reported, and
    /// the connection goes on. (Text that is not UTF-8 fails the connection instead.)
    Unreadable(Error),
    /// Proof of life that is not a notification: a ping, a pong.
    Alive,
    /// A read timed out with nothing to report: a chance to check for a stop.
    Idle,
}

/// An open connection of either transport.
pub(crate) enum Connection {
    WebSocket(websocket::Connection),
    EventSource(eventsource::Connection),
}

impl Connection {
    /// Blocks until something arrives or the read times out. An `Err` ends the connection.
    pub fn next(&mut self) -> Result<Frame<'_>, Error> {
        match self {
            Connection::WebSocket(c) => c.next(),
            Connection::EventSource(c) => c.next(),
        }
    }

    /// Ends the connection, politely where the protocol has a goodbye.
    pub fn close(self) {
        match self {
            Connection::WebSocket(c) => c.close(),
            Connection::EventSource(_) => {}
        }
    }
}

/// Opens connections of one transport, remembering across reconnects what it learnt
/// about the server (which WebSocket path it serves).
pub(crate) struct Dialer {
    transport: Transport,
    websocket: websocket::Dialer,
}

impl Dialer {
    pub fn new(transport: Transport) -> Dialer {
        Dialer {
            transport,
            websocket: websocket::Dialer::default(),
        }
    }

    /// Opens a connection; every blocking step ends at once on `stop`.
    pub fn connect(
        &mut self,
        settings: &Settings,
        stop: &Stop,
        bytes: &Arc<AtomicU64>,
    ) -> Result<Connection, Error> {
        let open = || net::open(&settings.connector, stop, Arc::clone(bytes));
        match self.transport {
            Transport::WebSocket => self
                .websocket
                .connect(settings, open)
                .map(Connection::WebSocket),
            Transport::EventSource => {
                eventsource::connect(open()?, settings).map(Connection::EventSource)
            }
        }
    }
}
