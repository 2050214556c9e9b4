//! [`MockServer`]: a Plex notification server on `127.0.0.1`, for tests, examples and
//! your own tests (feature `mock`).
//!
//! It speaks both notification endpoints as a real Plex Media Server does: the token check
//! (401 without the right `X-Plex-Token`, as header or query parameter), the `filters`
//! parameter, pings on the event stream, and `GET /`, `/identity`, and (empty)
//! `/status/sessions` and `/activities` for resyncing. It lets a test push
//! any notification, or any bytes at all, to the connected listeners, records what they
//! sent, and injects the faults of a real network (resets, silence, status codes,
//! restarts).
//!
//! ```
//! use std::time::Duration;
//! use plex_alerts::{AlertListener, mock::MockServer};
//!
//! let server = MockServer::start();
//! let (tx, rx) = crossbeam_channel::unbounded();
//! let listener = AlertListener::builder(server.url())
//!     .token(server.token())
//!     .callback(move |alert| tx.send(alert).unwrap())
//!     .start()
//!     .unwrap();
//! assert!(server.wait_for_clients(1, Duration::from_secs(10)));
//! server.send(r#"{"NotificationContainer":{"type":"reachability","size":1,"ReachabilityNotification":[{"reachability":true}]}}"#);
//! let alert = rx.recv_timeout(Duration::from_secs(10)).unwrap();
//! assert_eq!(alert.kind(), "reachability");
//! listener.stop();
//! ```

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use native_tls::{Identity, TlsAcceptor};
use serde_json::Value;
use socket2::{Domain, Socket, Type};

use crate::Filters;
use crate::connection::http::{owned_headers, percent_decode};
use crate::connection::lock;

/// The WebSocket endpoint every client uses, and the spelling of Plex's API description.
const WEBSOCKET_PATH: &str = "/:/websockets/notifications";
const WEBSOCKET_PATH_SINGULAR: &str = "/:/websocket/notifications";
const EVENTSOURCE_PATH: &str = "/:/eventsource/notifications";
/// The token of a mock server made with [`MockServer::start`].
pub const DEFAULT_TOKEN: &str = "mock-token-0123456789";

/// Which endpoint a client is connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Endpoint {
    /// `/:/websockets/notifications`.
    WebSocket,
    /// `/:/eventsource/notifications`.
    EventSource,
}

/// A request the server received, as the client sent it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `GET`, usually.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Query parameters, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first query parameter with this name.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A WebSocket frame a client sent, unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientFrame {
    /// Text.
    Text(Vec<u8>),
    /// Binary.
    Binary(Vec<u8>),
    /// Ping, with its payload.
    Ping(Vec<u8>),
    /// Pong, with its payload.
    Pong(Vec<u8>),
    /// Close, with its payload (code and reason).
    Close(Vec<u8>),
    /// A continuation or reserved opcode.
    Other(u8),
}

/// How the server answers new connections, set with [`MockServer::set_fault`].
/// Connections already open are not affected; use the methods on [`MockServer`] for them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Fault {
    /// Behave.
    #[default]
    None,
    /// Answer every notification request with this HTTP status (401, 404, 498, 503, ...).
    Status(u16),
    /// Accept the connection and never read or answer anything: no TLS handshake, no
    /// HTTP response.
    Silent,
    /// Complete the handshake, then send nothing and answer nothing: no Pong to a Ping, no
    /// reply to a Close.
    Unresponsive,
    /// Complete the handshake, then close the connection politely at once: a server that
    /// accepts and drops every client before sending anything.
    CloseAfterHandshake,
}

/// A burst of notifications encoded for both transports: [`MockServer::prepare`].
#[derive(Clone)]
pub struct Prepared {
    kind: String,
    websocket: Arc<[u8]>,
    event_stream: Arc<[u8]>,
}

impl fmt::Debug for Prepared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prepared")
            .field("kind", &self.kind)
            .field("websocket_bytes", &self.websocket.len())
            .field("event_stream_bytes", &self.event_stream.len())
            .finish()
    }
}

/// Something to write to clients, unfiltered: [`MockServer::send_raw`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Raw {
    /// A WebSocket text frame (WebSocket clients only).
    Text(String),
    /// A WebSocket binary frame (WebSocket clients only).
    Binary(Vec<u8>),
    /// A WebSocket text frame carrying any bytes, valid UTF-8 or not (WebSocket clients only).
    TextBytes(Vec<u8>),
    /// A WebSocket Ping frame with this payload (WebSocket clients only): a client
    /// answers it with a Pong.
    Ping(Vec<u8>),
    /// Bytes written as they are into the event-stream body (event-stream clients only;
    /// chunk-framed when the stream is chunked).
    EventStream(Vec<u8>),
}

/// Configures a [`MockServer`]. Made by [`MockServer::builder`].
#[derive(Debug, Clone)]
pub struct MockBuilder {
    token: String,
    tls: Option<(Vec<u8>, Vec<u8>)>,
    ping_interval: Duration,
    chunked: bool,
    singular: bool,
    port: u16,
}

impl MockBuilder {
    /// The token the server accepts. Default [`DEFAULT_TOKEN`].
    pub fn token(mut self, token: impl Into<String>) -> MockBuilder {
        self.token = token.into();
        self
    }

    /// Serves `https` with this certificate chain and PKCS#8 key, both PEM.
    pub fn tls(mut self, cert_pem: impl Into<Vec<u8>>, key_pem: impl Into<Vec<u8>>) -> MockBuilder {
        self.tls = Some((cert_pem.into(), key_pem.into()));
        self
    }

    /// How often the event stream sends `event: ping`. Default 10 s, as Plex.
    pub fn ping_interval(mut self, interval: Duration) -> MockBuilder {
        self.ping_interval = interval;
        self
    }

    /// Whether the event stream uses chunked transfer encoding (default) or is delimited
    /// by closing the connection.
    pub fn chunked(mut self, chunked: bool) -> MockBuilder {
        self.chunked = chunked;
        self
    }

    /// Serves WebSocket notifications on the singular `/:/websocket/notifications` of
    /// Plex's API description only, answering 404 on the plural every client uses: a
    /// server of the kind a client's fallback is for. Default false.
    pub fn singular_websocket_path(mut self, singular: bool) -> MockBuilder {
        self.singular = singular;
        self
    }

    /// Listens on this port of 127.0.0.1 (default 0: any free port).
    pub fn port(mut self, port: u16) -> MockBuilder {
        self.port = port;
        self
    }

    /// Starts the server.
    pub fn start(self) -> io::Result<MockServer> {
        let tls = match &self.tls {
            None => None,
            Some((cert, key)) => {
                let identity = Identity::from_pkcs8(cert, key).map_err(io::Error::other)?;
                Some(TlsAcceptor::new(identity).map_err(io::Error::other)?)
            }
        };
        let listener = bind(self.port)?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            addr,
            token: self.token,
            tls,
            ping_interval: self.ping_interval,
            chunked: self.chunked,
            websocket_path: if self.singular {
                WEBSOCKET_PATH_SINGULAR
            } else {
                WEBSOCKET_PATH
            },
            fault: Mutex::new(Fault::None),
            answer_pings: AtomicBool::new(true),
            clients: Mutex::new(Vec::new()),
            silent: Mutex::new(Vec::new()),
            changed: Condvar::new(),
            requests: Mutex::new(Vec::new()),
            received: Mutex::new(Vec::new()),
            handshakes: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
            accepting: AtomicBool::new(false),
        });
        let accept = Inner::serve(&inner, listener)?;
        Ok(MockServer {
            inner,
            accept: Some(accept),
        })
    }
}

fn bind(port: u16) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    // Lets restart() bind the same port while old connections linger in TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], port)).into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// A Plex notification server on `127.0.0.1`. See the [module docs](self).
///
/// Dropping it closes every connection.
pub struct MockServer {
    inner: Arc<Inner>,
    accept: Option<JoinHandle<()>>,
}

struct Inner {
    addr: SocketAddr,
    token: String,
    tls: Option<TlsAcceptor>,
    ping_interval: Duration,
    chunked: bool,
    websocket_path: &'static str,
    fault: Mutex<Fault>,
    answer_pings: AtomicBool,
    clients: Mutex<Vec<Client>>,
    /// Connections held open by `Fault::Silent`, so that a reset or drop ends them too.
    silent: Mutex<Vec<TcpStream>>,
    changed: Condvar,
    requests: Mutex<Vec<RecordedRequest>>,
    received: Mutex<Vec<ClientFrame>>,
    handshakes: AtomicU64,
    accepted: AtomicU64,
    next_id: AtomicU64,
    /// Cleared to end the accept loop (then woken by a connection to itself).
    accepting: AtomicBool,
}

struct Client {
    id: u64,
    endpoint: Endpoint,
    filters: Filters,
    tx: Sender<Command>,
    socket: TcpStream,
}

#[derive(Clone)]
enum Command {
    /// Bytes to write as they are.
    Write(Arc<[u8]>),
    /// Event-stream body bytes (chunk-framed if needed).
    Body(Arc<[u8]>),
    /// Say goodbye (WebSocket close frame, or the end of the chunked stream) and close.
    Close,
    /// Reset the connection once what was queued before is written.
    Reset,
}

impl MockServer {
    /// Starts a plain-HTTP server on a free port of 127.0.0.1 with [`DEFAULT_TOKEN`].
    ///
    /// # Panics
    /// If no port of 127.0.0.1 can be bound (this is a test helper; use
    /// [`builder`](MockServer::builder) to get the error instead).
    pub fn start() -> MockServer {
        MockServer::builder()
            .start()
            .expect("the mock server could not listen on 127.0.0.1")
    }

    /// A builder, for a token, TLS, or the ping interval.
    pub fn builder() -> MockBuilder {
        MockBuilder {
            token: DEFAULT_TOKEN.to_owned(),
            tls: None,
            ping_interval: Duration::from_secs(10),
            chunked: true,
            singular: false,
            port: 0,
        }
    }

    /// The base URL: `http://127.0.0.1:<port>` (or `https://`).
    pub fn url(&self) -> String {
        let scheme = if self.inner.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.inner.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// The token it accepts.
    pub fn token(&self) -> String {
        self.inner.token.clone()
    }

    /// Sends a notification, given as a WebSocket frame's text
    /// (`{"NotificationContainer":{"type":..,"size":..,"<Child>":[..]}}`), to every client
    /// whose filters admit its type: as is to WebSocket clients, and in the event-stream
    /// shape (`event: <type>` / `data: <inner object>`) to event-stream clients.
    /// Returns how many clients it was sent to.
    ///
    /// # Panics
    /// If `frame` is not a notification in that shape.
    pub fn send(&self, frame: &str) -> usize {
        let kind = notification_type(frame);
        // Each encoding is made once, and only if a client needs it.
        let mut ws: Option<Arc<[u8]>> = None;
        let mut sse: Option<Arc<[u8]>> = None;
        self.broadcast(&kind, false, |endpoint| match endpoint {
            Endpoint::WebSocket => Command::Write(
                ws.get_or_insert_with(|| ws_frame(0x1, frame.as_bytes()).into())
                    .clone(),
            ),
            Endpoint::EventSource => Command::Body(
                sse.get_or_insert_with(|| event_stream_text(frame).into_bytes().into())
                    .clone(),
            ),
        })
    }

    /// Queues, for every client whose filters admit `kind`, the command `for_endpoint` gives
    /// for its endpoint, and a reset after it if asked. Returns how many clients got it.
    fn broadcast(
        &self,
        kind: &str,
        reset_after: bool,
        mut for_endpoint: impl FnMut(Endpoint) -> Command,
    ) -> usize {
        let clients = lock(&self.inner.clients);
        let mut sent = 0;
        for client in clients.iter().filter(|c| c.filters.admits(kind)) {
            sent += usize::from(client.tx.send(for_endpoint(client.endpoint)).is_ok());
            if reset_after {
                let _ = client.tx.send(Command::Reset);
            }
        }
        sent
    }

    /// Sends a burst encoded beforehand with [`prepare`](MockServer::prepare): one write per
    /// client, so that the server is never what limits a client's throughput. Returns how
    /// many clients it was sent to.
    pub fn send_prepared(&self, burst: &Prepared) -> usize {
        self.broadcast(&burst.kind, false, |endpoint| match endpoint {
            Endpoint::WebSocket => Command::Write(burst.websocket.clone()),
            Endpoint::EventSource => Command::Body(burst.event_stream.clone()),
        })
    }

    /// Encodes notifications of one type for both transports, ahead of
    /// [`send_prepared`](MockServer::send_prepared).
    ///
    /// # Panics
    /// If a frame is not a notification, or the frames are not all of one type.
    pub fn prepare<S: AsRef<str>>(frames: &[S]) -> Prepared {
        let mut kind = None;
        let mut websocket = Vec::new();
        let mut event_stream = Vec::new();
        for frame in frames {
            let frame = frame.as_ref();
            let this = notification_type(frame);
            assert!(
                kind.get_or_insert_with(|| this.clone()) == &this,
                "a prepared burst has one type"
            );
            websocket.extend_from_slice(&ws_frame(0x1, frame.as_bytes()));
            event_stream.extend_from_slice(event_stream_text(frame).as_bytes());
        }
        Prepared {
            kind: kind.unwrap_or_default(),
            websocket: websocket.into(),
            event_stream: event_stream.into(),
        }
    }

    /// Sends anything, to every client of the kind it is for, without filtering.
    pub fn send_raw(&self, raw: Raw) -> usize {
        let (endpoint, command) = match raw {
            Raw::Text(t) => (
                Endpoint::WebSocket,
                Command::Write(ws_frame(0x1, t.as_bytes()).into()),
            ),
            Raw::Binary(b) => (
                Endpoint::WebSocket,
                Command::Write(ws_frame(0x2, &b).into()),
            ),
            Raw::TextBytes(b) => (
                Endpoint::WebSocket,
                Command::Write(ws_frame(0x1, &b).into()),
            ),
            Raw::Ping(b) => (
                Endpoint::WebSocket,
                Command::Write(ws_frame(0x9, &b).into()),
            ),
            Raw::EventStream(bytes) => (Endpoint::EventSource, Command::Body(bytes.into())),
        };
        let clients = lock(&self.inner.clients);
        clients
            .iter()
            .filter(|c| c.endpoint == endpoint)
            .filter(|c| c.tx.send(command.clone()).is_ok())
            .count()
    }

    /// Sends a notification like [`send`](MockServer::send), but writes only the first
    /// `keep` bytes of what would go on the wire (WebSocket frame header, or chunk header
    /// and event), then resets the connection: a stream cut mid-frame.
    pub fn send_cut(&self, frame: &str, keep: usize) -> usize {
        let kind = notification_type(frame);
        self.broadcast(&kind, true, |endpoint| {
            let mut wire = match endpoint {
                Endpoint::WebSocket => ws_frame(0x1, frame.as_bytes()),
                Endpoint::EventSource => {
                    let event = event_stream_text(frame);
                    match self.inner.chunked {
                        true => format!("{:x}\r\n{event}\r\n", event.len()).into_bytes(),
                        false => event.into_bytes(),
                    }
                }
            };
            wire.truncate(keep);
            Command::Write(wire.into())
        })
    }

    /// Clients connected now (handshake done, connection not yet closed).
    pub fn clients(&self) -> usize {
        lock(&self.inner.clients).len()
    }

    /// Waits until at least `n` clients are connected; false on timeout.
    pub fn wait_for_clients(&self, n: usize, timeout: Duration) -> bool {
        self.wait(timeout, |inner| lock(&inner.clients).len() >= n)
    }

    /// Waits until no client is connected; false on timeout.
    pub fn wait_for_no_clients(&self, timeout: Duration) -> bool {
        self.wait(timeout, |inner| lock(&inner.clients).is_empty())
    }

    /// Handshakes completed since the server started (reconnections count again).
    pub fn handshakes(&self) -> u64 {
        self.inner.handshakes.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` handshakes have completed in all; false on timeout.
    pub fn wait_for_handshakes(&self, n: u64, timeout: Duration) -> bool {
        self.wait(timeout, |inner| {
            inner.handshakes.load(Ordering::SeqCst) >= n
        })
    }

    /// TCP connections accepted since the server started, whatever happened next.
    pub fn connections(&self) -> u64 {
        self.inner.accepted.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` TCP connections have been accepted in all; false on timeout.
    /// With [`Fault::Silent`], the client is then stuck in its TLS or HTTP handshake.
    pub fn wait_for_connections(&self, n: u64, timeout: Duration) -> bool {
        self.wait(timeout, |inner| inner.accepted.load(Ordering::SeqCst) >= n)
    }

    /// Waits until at least `n` requests have been received in all (any path, any answer).
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        self.wait(timeout, |inner| lock(&inner.requests).len() >= n)
    }

    /// Waits until `done` holds, re-checking whenever the server's state changes (a
    /// client, a request, a handshake, a frame from a client); false on timeout.
    pub fn wait_until(&self, timeout: Duration, done: impl Fn(&MockServer) -> bool) -> bool {
        self.wait(timeout, |_| done(self))
    }

    fn wait(&self, timeout: Duration, done: impl Fn(&Inner) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut guard = lock(&self.inner.clients);
        loop {
            drop(guard);
            if done(&self.inner) {
                return true;
            }
            guard = lock(&self.inner.clients);
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            // Re-checked at least every 50 ms: requests and handshakes notify too, but a
            // notification between the check and the wait must not be missed for long.
            guard = self
                .inner
                .changed
                .wait_timeout(guard, left.min(Duration::from_millis(50)))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Every WebSocket frame clients have sent so far, in order.
    pub fn received_frames(&self) -> Vec<ClientFrame> {
        lock(&self.inner.received).clone()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.inner.requests).clone()
    }

    /// How new connections are answered from now on.
    pub fn set_fault(&self, fault: Fault) {
        *lock(&self.inner.fault) = fault;
    }

    /// Whether WebSocket Pings are answered (default true), on every connection.
    pub fn set_answer_pings(&self, answer: bool) {
        self.inner.answer_pings.store(answer, Ordering::SeqCst);
    }

    /// Closes every connection politely: a WebSocket close frame, or the end of the
    /// event stream.
    pub fn close_all(&self) {
        for client in lock(&self.inner.clients).iter() {
            let _ = client.tx.send(Command::Close);
        }
    }

    /// Resets every connection (TCP RST), as a crashed server or a NAT timeout does.
    pub fn reset_all(&self) {
        for client in lock(&self.inner.clients).iter() {
            reset(&client.socket);
        }
        for socket in lock(&self.inner.silent).drain(..) {
            reset(&socket);
        }
    }

    /// Stops listening and resets every connection, then listens again on the same port:
    /// a server restart.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop_listening();
        self.start_listening()
    }

    /// Stops listening (new connections are refused) and resets every connection: a
    /// server that went down. [`start_listening`](MockServer::start_listening) brings it back.
    pub fn stop_listening(&mut self) {
        self.shut_down();
    }

    /// Listens again on the same port after [`stop_listening`](MockServer::stop_listening).
    pub fn start_listening(&mut self) -> io::Result<()> {
        if self.accept.is_none() {
            let listener = bind(self.inner.addr.port())?;
            self.accept = Some(Inner::serve(&self.inner, listener)?);
        }
        Ok(())
    }

    fn shut_down(&mut self) {
        if self.inner.accepting.swap(false, Ordering::SeqCst) {
            // Wakes the blocked accept(), which then sees the flag and ends.
            let _ = TcpStream::connect_timeout(&self.inner.addr, Duration::from_secs(1));
        }
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        self.reset_all();
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

impl fmt::Debug for MockServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.inner.addr)
            .field("tls", &self.inner.tls.is_some())
            .field("clients", &self.clients())
            .finish_non_exhaustive()
    }
}

/// Makes the kernel answer the peer with RST and wakes our own threads on this socket.
fn reset(socket: &TcpStream) {
    let _ = socket2::SockRef::from(socket).set_linger(Some(Duration::ZERO));
    let _ = socket.shutdown(Shutdown::Both);
}

impl Inner {
    fn serve(inner: &Arc<Inner>, listener: TcpListener) -> io::Result<JoinHandle<()>> {
        inner.accepting.store(true, Ordering::SeqCst);
        let inner = Arc::clone(inner);
        thread::Builder::new()
            .name("mock-accept".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if !inner.accepting.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let inner = Arc::clone(&inner);
                    let _ = thread::Builder::new()
                        .name("mock-conn".into())
                        .spawn(move || inner.connection(stream));
                }
            })
    }

    fn connection(self: Arc<Self>, tcp: TcpStream) {
        let _ = tcp.set_nodelay(true);
        self.accepted.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_all();
        let fault = lock(&self.fault).clone();
        if fault == Fault::Silent {
            // Swallow whatever arrives, answer nothing, until the peer or the server ends it.
            self.track_silent(&tcp);
            let mut buf = [0u8; 1024];
            while let Ok(1..) = (&tcp).read(&mut buf) {}
            return;
        }
        let control = match tcp.try_clone() {
            Ok(c) => c,
            Err(_) => return,
        };
        let stream = match &self.tls {
            None => MockStream::Plain(tcp),
            Some(acceptor) => {
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
                match acceptor.accept(tcp) {
                    Ok(s) => MockStream::Tls(Box::new(s)),
                    Err(_) => return,
                }
            }
        };
        let _ = self.handle(stream, control, fault);
    }

    fn handle(
        self: &Arc<Self>,
        mut stream: MockStream,
        control: TcpStream,
        fault: Fault,
    ) -> io::Result<()> {
        let _ = control.set_read_timeout(Some(Duration::from_secs(10)));
        let (request, leftover) = read_request(&mut stream)?;
        lock(&self.requests).push(request.clone());
        self.changed.notify_all();
        let path = request.path.as_str();
        let endpoint = if path == self.websocket_path {
            Some(Endpoint::WebSocket)
        } else if path == EVENTSOURCE_PATH {
            Some(Endpoint::EventSource)
        } else {
            None
        };
        let authorized = request
            .header("X-Plex-Token")
            .or(request.query("X-Plex-Token"))
            == Some(self.token.as_str());
        match (path, endpoint) {
            ("/identity", _) => {
                let body = format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><MediaContainer size="0" claimed="1" machineIdentifier="{}" version="{}"/>"#,
                    self.machine_identifier(),
                    MOCK_VERSION
                );
                return respond(&mut stream, 200, "text/xml;charset=utf-8", &body);
            }
            ("/", _) if authorized => {
                let json = request.header("Accept").is_some_and(|a| a.contains("json"));
                let (content_type, body) = if json {
                    ("application/json", serde_json::json!({"MediaContainer": {
                        "size": 0, "friendlyName": MOCK_NAME, "machineIdentifier": self.machine_identifier(),
                        "version": MOCK_VERSION, "platform": "Linux", "myPlex": false,
                    }}).to_string())
                } else {
                    (
                        "text/xml;charset=utf-8",
                        format!(
                            r#"<?xml version="1.0" encoding="UTF-8"?><MediaContainer size="0" friendlyName="{MOCK_NAME}" machineIdentifier="{}" version="{MOCK_VERSION}" platform="Linux" platformVersion="6.1" myPlex="0" multiuser="1" transcoderActiveVideoSessions="0" updatedAt="1700000000"></MediaContainer>"#,
                            self.machine_identifier()
                        ),
                    )
                };
                return respond(&mut stream, 200, content_type, &body);
            }
            // What apps resync with after a gap: nothing is playing or running here.
            ("/status/sessions" | "/activities", _) if authorized => {
                let json = request.header("Accept").is_some_and(|a| a.contains("json"));
                let (content_type, body) = if json {
                    ("application/json", r#"{"MediaContainer":{"size":0}}"#)
                } else {
                    (
                        "text/xml;charset=utf-8",
                        r#"<?xml version="1.0" encoding="UTF-8"?><MediaContainer size="0"></MediaContainer>"#,
                    )
                };
                return respond(&mut stream, 200, content_type, body);
            }
            ("/status/sessions" | "/activities", _) => {
                return respond(&mut stream, 401, "text/html", "401 Unauthorized");
            }
            (_, None) if path != "/" => {
                return respond(&mut stream, 404, "text/plain", "404 Not Found");
            }
            _ => {}
        }
        if let Fault::Status(status) = fault {
            return respond(&mut stream, status, "text/plain", "mock fault");
        }
        if !authorized {
            return respond(
                &mut stream,
                401,
                "text/html",
                "<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>",
            );
        }
        let Some(endpoint) = endpoint else {
            return respond(&mut stream, 404, "text/plain", "404 Not Found");
        };
        let head = match endpoint {
            Endpoint::WebSocket => {
                let key = request.header("Sec-WebSocket-Key").unwrap_or_default();
                if !request
                    .header("Upgrade")
                    .is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
                    || key.is_empty()
                {
                    return respond(
                        &mut stream,
                        400,
                        "text/plain",
                        "expected a WebSocket upgrade",
                    );
                }
                let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
                format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                )
            }
            Endpoint::EventSource => {
                let framing = if self.chunked {
                    "Transfer-Encoding: chunked"
                } else {
                    "Connection: close"
                };
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n{framing}\r\n\r\n"
                )
            }
        };
        // Registered before the answer, so that a client that saw it can be sent to.
        let filters = Filters::from_query_value(request.query("filters"));
        let (tx, rx) = crossbeam_channel::unbounded();
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        lock(&self.clients).push(Client {
            id,
            endpoint,
            filters: filters.clone(),
            tx: tx.clone(),
            socket: control.try_clone()?,
        });
        self.handshakes.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_all();
        if stream
            .write_all(head.as_bytes())
            .and_then(|_| stream.flush())
            .is_err()
        {
            lock(&self.clients).retain(|c| c.id != id);
            self.changed.notify_all();
            return Ok(());
        }
        if fault == Fault::CloseAfterHandshake {
            let _ = tx.send(Command::Close);
        }
        let session = Session {
            inner: Arc::clone(self),
            endpoint,
            pings: (endpoint == Endpoint::EventSource
                && filters.admits("ping")
                && fault != Fault::Unresponsive)
                .then_some(self.ping_interval),
            chunked: self.chunked,
            unresponsive: fault == Fault::Unresponsive,
        };
        let _ = control.set_read_timeout(None);
        session.run(stream, control, leftover, tx, rx);
        lock(&self.clients).retain(|c| c.id != id);
        self.changed.notify_all();
        Ok(())
    }

    fn track_silent(&self, tcp: &TcpStream) {
        if let Ok(clone) = tcp.try_clone() {
            lock(&self.silent).push(clone);
        }
    }

    fn machine_identifier(&self) -> String {
        format!("mock-{:05}", self.addr.port())
    }
}

const MOCK_NAME: &str = "plex-alerts mock";
const MOCK_VERSION: &str = "1.41.0.0000-mock";

/// One client's connection after the handshake.
struct Session {
    inner: Arc<Inner>,
    endpoint: Endpoint,
    pings: Option<Duration>,
    chunked: bool,
    unresponsive: bool,
}

impl Session {
    fn run(
        self,
        stream: MockStream,
        control: TcpStream,
        leftover: Vec<u8>,
        tx: Sender<Command>,
        rx: Receiver<Command>,
    ) {
        match stream {
            MockStream::Plain(tcp) => {
                // Plain TCP splits: a reader thread answers pings, this thread writes.
                let reader = match tcp.try_clone() {
                    Ok(r) => r,
                    Err(_) => return,
                };
                let inner = Arc::clone(&self.inner);
                let endpoint = self.endpoint;
                let unresponsive = self.unresponsive;
                let read = thread::Builder::new()
                    .name("mock-read".into())
                    .spawn(move || {
                        read_client(reader, leftover, endpoint, &inner, unresponsive, &tx);
                        // The writer ends when the reader does.
                        let _ = tx.send(Command::Close);
                    });
                let mut tcp = tcp;
                self.write_loop(&mut tcp, &control, &rx, None);
                let _ = control.shutdown(Shutdown::Both);
                if let Ok(read) = read {
                    let _ = read.join();
                }
            }
            MockStream::Tls(mut tls) => {
                // A TLS stream can't be split: one thread polls both ways.
                let mut parser = ClientFrames::default();
                parser.push(&leftover);
                let _ = control.set_read_timeout(Some(Duration::from_millis(5)));
                let mut poll = |tls: &mut native_tls::TlsStream<TcpStream>| -> io::Result<bool> {
                    let mut buf = [0u8; 4096];
                    match tls.read(&mut buf) {
                        Ok(0) => Ok(false),
                        Ok(n) => {
                            parser.push(&buf[..n]);
                            while let Some(reply) =
                                parser.next_reply(self.endpoint, &self.inner, self.unresponsive)
                            {
                                match reply {
                                    Reply::Pong(p) => tls.write_all(&ws_frame(0xA, &p))?,
                                    Reply::Close => {
                                        let _ = tls.write_all(&ws_frame(0x8, &[0x03, 0xE8]));
                                        return Ok(false);
                                    }
                                }
                            }
                            Ok(true)
                        }
                        Err(e)
                            if e.kind() == io::ErrorKind::WouldBlock
                                || e.kind() == io::ErrorKind::TimedOut =>
                        {
                            Ok(true)
                        }
                        Err(e) => Err(e),
                    }
                };
                self.write_loop(tls.as_mut(), &control, &rx, Some(&mut poll));
                let _ = control.shutdown(Shutdown::Both);
            }
        }
    }

    /// Writes commands as they come, and pings on the event stream.
    #[allow(clippy::type_complexity)]
    fn write_loop<W: Write>(
        &self,
        out: &mut W,
        control: &TcpStream,
        rx: &Receiver<Command>,
        mut poll: Option<&mut dyn FnMut(&mut W) -> io::Result<bool>>,
    ) {
        let tick = if poll.is_some() {
            Some(Duration::from_millis(5))
        } else {
            None
        };
        let mut next_ping = self.pings.map(|p| Instant::now() + p);
        loop {
            let wait = match (tick, next_ping) {
                (Some(t), Some(p)) => t.min(p.saturating_duration_since(Instant::now())),
                (Some(t), None) => t,
                (None, Some(p)) => p.saturating_duration_since(Instant::now()),
                (None, None) => Duration::from_secs(3600),
            };
            let result = match rx.recv_timeout(wait) {
                Ok(Command::Write(bytes)) => out.write_all(&bytes).and_then(|_| out.flush()),
                Ok(Command::Body(bytes)) => self.write_body(out, &bytes),
                Ok(Command::Close) | Err(RecvTimeoutError::Disconnected) => {
                    let goodbye: &[u8] = match (self.endpoint, self.chunked) {
                        (Endpoint::WebSocket, _) => &ws_frame(0x8, &[0x03, 0xE9]),
                        (Endpoint::EventSource, true) => b"0\r\n\r\n",
                        (Endpoint::EventSource, false) => b"",
                    };
                    let _ = out.write_all(goodbye);
                    let _ = out.flush();
                    return;
                }
                Ok(Command::Reset) => {
                    reset(control);
                    return;
                }
                Err(RecvTimeoutError::Timeout) => Ok(()),
            };
            if result.is_err() {
                return;
            }
            if next_ping.is_some_and(|at| Instant::now() >= at) {
                if self.write_body(out, b"event: ping\ndata: {}\n\n").is_err() {
                    return;
                }
                next_ping = self.pings.map(|p| Instant::now() + p);
            }
            if let Some(poll) = poll.as_mut() {
                match poll(out) {
                    Ok(true) => {}
                    _ => return,
                }
            }
        }
    }

    fn write_body(&self, out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        if self.chunked {
            write!(out, "{:x}\r\n", bytes.len())?;
            out.write_all(bytes)?;
            out.write_all(b"\r\n")?;
        } else {
            out.write_all(bytes)?;
        }
        out.flush()
    }
}

/// Reads what a client sends on a plain connection until it closes: answers WebSocket
/// Pings and Close frames.
fn read_client(
    mut reader: TcpStream,
    leftover: Vec<u8>,
    endpoint: Endpoint,
    inner: &Inner,
    unresponsive: bool,
    tx: &Sender<Command>,
) {
    let mut parser = ClientFrames::default();
    parser.push(&leftover);
    let mut buf = [0u8; 4096];
    loop {
        while let Some(reply) = parser.next_reply(endpoint, inner, unresponsive) {
            let bytes = match reply {
                Reply::Pong(p) => ws_frame(0xA, &p),
                Reply::Close => {
                    let _ = tx.send(Command::Close);
                    return;
                }
            };
            let _ = tx.send(Command::Write(bytes.into()));
        }
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => parser.push(&buf[..n]),
        }
    }
}

enum Reply {
    Pong(Vec<u8>),
    Close,
}

/// Parses the (masked) frames a WebSocket client sends.
#[derive(Default)]
struct ClientFrames {
    buf: Vec<u8>,
}

impl ClientFrames {
    fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    fn next_reply(
        &mut self,
        endpoint: Endpoint,
        inner: &Inner,
        unresponsive: bool,
    ) -> Option<Reply> {
        if endpoint == Endpoint::EventSource {
            self.buf.clear();
            return None;
        }
        loop {
            let (opcode, payload, used) = parse_client_frame(&self.buf)?;
            self.buf.drain(..used);
            lock(&inner.received).push(match opcode {
                0x1 => ClientFrame::Text(payload.clone()),
                0x2 => ClientFrame::Binary(payload.clone()),
                0x8 => ClientFrame::Close(payload.clone()),
                0x9 => ClientFrame::Ping(payload.clone()),
                0xA => ClientFrame::Pong(payload.clone()),
                other => ClientFrame::Other(other),
            });
            inner.changed.notify_all();
            match opcode {
                0x9 if inner.answer_pings.load(Ordering::SeqCst) && !unresponsive => {
                    return Some(Reply::Pong(payload));
                }
                0x8 if !unresponsive => return Some(Reply::Close),
                _ => continue,
            }
        }
    }
}

/// One complete masked frame: (opcode, unmasked payload, bytes used).
fn parse_client_frame(buf: &[u8]) -> Option<(u8, Vec<u8>, usize)> {
    if buf.len() < 2 {
        return None;
    }
    let opcode = buf[0] & 0x0F;
    let masked = buf[1] & 0x80 != 0;
    let (len, mut at) = match buf[1] & 0x7F {
        126 => (
            u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?) as usize,
            4,
        ),
        127 => (
            u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?) as usize,
            10,
        ),
        n => (n as usize, 2),
    };
    let mask: [u8; 4] = if masked {
        let m = buf.get(at..at + 4)?.try_into().ok()?;
        at += 4;
        m
    } else {
        [0; 4]
    };
    let payload = buf.get(at..at.checked_add(len)?)?;
    let payload = payload
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ mask[i % 4])
        .collect();
    Some((opcode, payload, at + len))
}

/// An unmasked (server) frame.
fn ws_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + 10);
    frame.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => frame.push(n as u8),
        n if n <= u16::MAX as usize => {
            frame.push(126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(payload);
    frame
}

/// The `type` of a NotificationContainer frame, read as the listener reads it.
///
/// # Panics
/// If `frame` is not a notification: the mock's callers pass their own frames.
fn notification_type(frame: &str) -> String {
    crate::decode::container_of(frame)
        .ok()
        .flatten()
        .and_then(|container| crate::decode::kind_of(container).ok().flatten())
        .unwrap_or_else(|| panic!("not a NotificationContainer frame: {frame}"))
}

/// A WebSocket frame's notification in the event-stream shape: `event: <type>` and the
/// inner object as `data:`, a single child unwrapped from its array, no type or size.
pub fn event_stream_text(frame: &str) -> String {
    let value: Value = serde_json::from_str(frame).unwrap_or(Value::Null);
    let container = value
        .get("NotificationContainer")
        .and_then(Value::as_object);
    let kind = container
        .and_then(|c| c.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("message");
    let mut data = serde_json::Map::new();
    for (key, child) in container.into_iter().flatten() {
        if key == "type" || key == "size" {
            continue;
        }
        let child = match child {
            Value::Array(items) if items.len() == 1 => items[0].clone(),
            other => other.clone(),
        };
        data.insert(key.clone(), child);
    }
    format!("event: {kind}\ndata: {}\n\n", Value::Object(data))
}

enum MockStream {
    Plain(TcpStream),
    Tls(Box<native_tls::TlsStream<TcpStream>>),
}

impl Read for MockStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            MockStream::Plain(s) => s.read(buf),
            MockStream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for MockStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            MockStream::Plain(s) => s.write(buf),
            MockStream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            MockStream::Plain(s) => s.flush(),
            MockStream::Tls(s) => s.flush(),
        }
    }
}

fn read_request(stream: &mut MockStream) -> io::Result<(RecordedRequest, Vec<u8>)> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(used)) => {
                let target = req.path.unwrap_or("/");
                let (path, query) = target.split_once('?').unwrap_or((target, ""));
                let query = query
                    .split('&')
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let (k, v) = p.split_once('=').unwrap_or((p, ""));
                        (percent_decode(k), percent_decode(v))
                    })
                    .collect();
                let request = RecordedRequest {
                    method: req.method.unwrap_or("").to_owned(),
                    path: percent_decode(path),
                    query,
                    headers: owned_headers(req.headers),
                };
                return Ok((request, buf.split_off(used)));
            }
            Ok(httparse::Status::Partial) if buf.len() < 64 * 1024 => continue,
            _ => return Err(io::ErrorKind::InvalidData.into()),
        }
    }
}

fn respond(stream: &mut MockStream, status: u16, content_type: &str, body: &str) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        498 => "Token Expired",
        503 => "Service Unavailable",
        _ => "Mock",
    };
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

/// An address whose TCP connects hang: a listener that never accepts, its backlog
/// filled, so the kernel drops new SYNs (Linux behaviour; other systems may refuse them
/// instead). For testing what a client does while it connects.
pub struct StalledListener {
    addr: SocketAddr,
    _listener: Socket,
    _fillers: Vec<Socket>,
}

impl StalledListener {
    /// Binds 127.0.0.1 and fills the backlog.
    pub fn start() -> io::Result<StalledListener> {
        let listener = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        listener.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
        listener.listen(0)?;
        let addr = listener
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("not an IP socket"))?;
        let mut fillers = Vec::new();
        for _ in 0..4 {
            let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
            s.set_nonblocking(true)?;
            let _ = s.connect(&addr.into());
            fillers.push(s);
        }
        Ok(StalledListener {
            addr,
            _listener: listener,
            _fillers: fillers,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl fmt::Debug for StalledListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StalledListener")
            .field("addr", &self.addr)
            .finish()
    }
}
