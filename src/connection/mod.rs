//! Opening a connection to the server, for either transport: URL, TCP, TLS, the request,
//! and the one thing every blocking step shares: another thread can interrupt it.

pub(crate) mod eventsource;
pub(crate) mod http;
pub(crate) mod websocket;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use native_tls::{TlsConnector, TlsStream};
use socket2::{Domain, Protocol, Socket, Type};

use crate::alert::{Decoded, View};
use crate::error::Phase;
pub(crate) use crate::reconnect::Heartbeat;
use crate::{Error, Filters, TlsOptions};

/// Which of the server's two notification endpoints to use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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

/// The server's address, parsed from the URL the user gave.
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

    pub fn target(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// The token: never printed, never logged.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Token(pub String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "None"
        } else {
            "<redacted>"
        })
    }
}

/// Everything needed to open a connection, fixed when the listener starts.
#[derive(Clone)]
pub(crate) struct Settings {
    pub endpoint: Endpoint,
    pub token: Token,
    pub token_in_query: bool,
    pub client_identifier: String,
    pub product: String,
    pub filters: Filters,
    pub connect_timeout: Duration,
    pub handshake_timeout: Duration,
    pub tls: Option<TlsConnector>,
    pub max_message_size: usize,
    /// When alerts get their typed view: where they will be read decides.
    pub view: View,
}

/// Defaults of the options a builder can change.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub(crate) const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
pub(crate) const DEFAULT_MAX_MESSAGE_SIZE: usize = 1024 * 1024;
pub(crate) const DEFAULT_PRODUCT: &str = "plex-alerts";

impl Settings {
    /// The server, the token and TLS, checked; every other option at its default.
    pub fn new(url: &str, token: Token, tls: &TlsOptions) -> Result<Settings, Error> {
        let endpoint = Endpoint::parse(url)?;
        tls.validate()?;
        // Building a connector loads the system's roots: only for https.
        let connector = if endpoint.tls {
            Some(tls.connector()?)
        } else {
            None
        };
        if token.0.chars().any(|c| c.is_control() || c == ' ') {
            return Err(Error::config(
                "the token contains spaces or control characters (it is not shown here)",
            ));
        }
        Ok(Settings {
            tls: connector,
            endpoint,
            token,
            token_in_query: false,
            client_identifier: default_client_identifier(),
            product: DEFAULT_PRODUCT.to_owned(),
            filters: Filters::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            view: View::Now,
        })
    }

    /// Checks the options a builder may have changed after [`Settings::new`].
    pub fn check(&self) -> Result<(), Error> {
        for (what, value) in [
            ("client identifier", &self.client_identifier),
            ("product", &self.product),
        ] {
            if value.chars().any(char::is_control) {
                return Err(Error::config(format!(
                    "the {what} contains control characters"
                )));
            }
        }
        if self.connect_timeout.is_zero() || self.handshake_timeout.is_zero() {
            return Err(Error::config("timeouts must not be zero"));
        }
        if self.max_message_size < 1024 {
            return Err(Error::config(
                "max_message_size must be at least 1024 bytes",
            ));
        }
        self.filters.validate()
    }

    /// The request line's target: path and query, with the token in it only if asked.
    pub fn request_target(&self, path: &str, filters: &Filters) -> String {
        let mut target = format!("{}{}", self.endpoint.base_path, path);
        let mut params: Vec<(&str, String)> = Vec::new();
        if let Some(value) = filters.query_value() {
            params.push(("filters", value));
        }
        if self.token_in_query && !self.token.0.is_empty() {
            params.push(("X-Plex-Token", self.token.0.clone()));
        }
        for (i, (key, value)) in params.iter().enumerate() {
            target.push(if i == 0 { '?' } else { '&' });
            target.push_str(key);
            target.push('=');
            http::percent_encode_into(&mut target, value);
        }
        target
    }

    /// Sends `GET path` with `headers` and the `X-Plex-*` ones, and reads the answer's head
    /// within the handshake timeout. An answer other than `expected` becomes the error a
    /// user can act on (401 and 498: the token). Returns the head and the bytes read past it.
    pub fn get(
        &self,
        stream: &mut Stream,
        path: &str,
        filters: &Filters,
        headers: &[(&'static str, String)],
        expected: u16,
    ) -> Result<(http::Head, Vec<u8>), Error> {
        let target = self.request_target(path, filters);
        let mut all = headers.to_vec();
        all.extend(self.plex_headers());
        stream
            .tcp()
            .set_write_timeout(Some(self.handshake_timeout))?;
        http::write_get(stream, &target, &self.endpoint.host_header(), &all)?;
        let (head, leftover) = http::read_head(stream, self.handshake_timeout)?;
        head.expect_status(expected, &target)?;
        Ok((head, leftover))
    }

    /// The `X-Plex-*` headers every request carries.
    pub fn plex_headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("X-Plex-Client-Identifier", self.client_identifier.clone()),
            ("X-Plex-Product", self.product.clone()),
            ("X-Plex-Version", env!("CARGO_PKG_VERSION").to_owned()),
        ];
        if !self.token_in_query && !self.token.0.is_empty() {
            headers.push(("X-Plex-Token", self.token.0.clone()));
        }
        headers
    }
}

/// Lets another thread interrupt every blocking step of a connection: connect, TLS and
/// HTTP handshakes, reads. It shuts the current socket down, which wakes a blocked call at
/// once on Linux and macOS; on Windows it does not, and the read timeout bounds the wait.
#[derive(Default)]
pub(crate) struct Interrupter {
    interrupted: AtomicBool,
    socket: Mutex<Option<Socket>>,
}

impl Interrupter {
    pub fn interrupt(&self) {
        self.interrupted.store(true, Ordering::SeqCst);
        if let Some(socket) = lock(&self.socket).as_ref() {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }

    pub fn is_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    /// Watches `socket` until the next `watch` or `forget`. Fails if already interrupted.
    fn watch(&self, socket: &Socket) -> Result<(), Error> {
        let mut slot = lock(&self.socket);
        if self.is_interrupted() {
            return Err(stopped());
        }
        *slot = Some(socket.try_clone()?);
        Ok(())
    }

    pub fn forget(&self) {
        lock(&self.socket).take();
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn stopped() -> Error {
    Error::Closed {
        reason: "the listener was stopped".to_owned(),
    }
}

/// A connected socket, plain or TLS, counting the bytes it reads.
pub(crate) struct Stream {
    inner: Inner,
    bytes: Arc<AtomicU64>,
}

enum Inner {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    pub fn tcp(&self) -> &TcpStream {
        match &self.inner {
            Inner::Plain(s) => s,
            Inner::Tls(s) => s.get_ref(),
        }
    }

    /// Every read timeout of an open connection is set here. On Windows, where shutting
    /// the socket down does not wake a blocked read, it is capped so that stop() is
    /// noticed within half a second.
    pub fn set_read_timeout(&self, timeout: Duration) -> io::Result<()> {
        let timeout = if cfg!(windows) {
            timeout.min(Duration::from_millis(500))
        } else {
            timeout
        };
        self.tcp()
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &mut self.inner {
            Inner::Plain(s) => s.read(buf),
            Inner::Tls(s) => s.read(buf),
        }?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Plain(s) => s.write(buf),
            Inner::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Plain(s) => s.flush(),
            Inner::Tls(s) => s.flush(),
        }
    }
}

/// `timeout` from now; a timeout too large to represent means practically never.
pub(crate) fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(now)
}

/// Whether an I/O error is a read timeout (Unix says WouldBlock, Windows TimedOut).
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Resolves, connects (interruptibly, within the connect timeout) and does TLS.
pub(crate) fn open(
    settings: &Settings,
    interrupter: &Interrupter,
    bytes: Arc<AtomicU64>,
) -> Result<Stream, Error> {
    let endpoint = &settings.endpoint;
    let connect_error = |e: io::Error| Error::Connect {
        target: endpoint.target(),
        source: Arc::new(e),
    };
    if interrupter.is_interrupted() {
        return Err(stopped());
    }
    // Name resolution blocks and can't be interrupted; it is bounded by the system resolver.
    let addrs: Vec<SocketAddr> = (endpoint.bare_host(), endpoint.port)
        .to_socket_addrs()
        .map_err(connect_error)?
        .collect();
    let deadline = deadline_after(settings.connect_timeout);
    let mut last_error = io::Error::new(io::ErrorKind::NotFound, "the name resolved to no address");
    let mut tcp = None;
    for (i, addr) in addrs.iter().enumerate() {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            break;
        };
        // Each address gets its share of what is left, so that one that never answers
        // (a broken IPv6 route) does not keep the next from being tried.
        let share = left / u32::try_from(addrs.len() - i).unwrap_or(u32::MAX);
        let socket = Socket::new(
            Domain::for_address(*addr),
            Type::STREAM,
            Some(Protocol::TCP),
        )
        .map_err(connect_error)?;
        interrupter.watch(&socket)?;
        let connected =
            socket.connect_timeout(&(*addr).into(), share.max(Duration::from_millis(1)));
        if interrupter.is_interrupted() {
            return Err(stopped());
        }
        match connected {
            Ok(()) => {
                tcp = Some(TcpStream::from(socket));
                break;
            }
            Err(e) => last_error = e,
        }
    }
    let tcp = match tcp {
        Some(tcp) => tcp,
        None if last_error.kind() == io::ErrorKind::TimedOut || Instant::now() >= deadline => {
            return Err(Error::Timeout {
                phase: Phase::Connect,
                after: settings.connect_timeout,
            });
        }
        None => return Err(connect_error(last_error)),
    };
    tcp.set_nodelay(true)?;
    let inner = match &settings.tls {
        None => Inner::Plain(tcp),
        Some(connector) => Inner::Tls(Box::new(crate::tls::handshake(
            connector,
            endpoint.bare_host(),
            tcp,
            deadline_after(settings.handshake_timeout),
            settings.handshake_timeout,
        )?)),
    };
    Ok(Stream { inner, bytes })
}

/// What a connection produced.
#[derive(Debug)]
pub(crate) enum Received {
    /// A notification (and the problem with its typed view, if any).
    Alert(Decoded),
    /// Proof of life that is not an alert: a ping, a pong.
    Alive,
    /// A message that could not be used; the connection goes on.
    Problem(Error),
    /// A read timed out with nothing to report: a chance to check for a stop.
    Idle,
}

/// A stable identifier for this machine, so the server sees one device across runs.
fn default_client_identifier() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_default();
    // FNV-1a: stable across Rust versions, unlike std's hasher.
    let hash = host.trim().bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("plex-alerts-{hash:016x}")
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
