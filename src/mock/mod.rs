//! [`MockServer`]: a small Plex on `127.0.0.1`, for tests, examples and your own tests
//! (feature `mock`).
//!
//! It speaks both notification endpoints as a real Plex Media Server does: the token check
//! (401 without a valid `X-Plex-Token`, as header or query parameter), the `filters`
//! parameter, pings on the event stream. And it plays a small, consistent Plex:
//!
//! - a **library** ([`MockServer::library`]: movies, shows, seasons, episodes, artists,
//!   albums, tracks, each with a summary, a thumb path (not served: the mock has no
//!   images), a year and a content rating once processed), **users** with tokens of their own ([`MockServer::add_user`]) and
//!   **players** ([`MockServer::add_player`]; their product, platform and network:
//!   [`MockServer::set_player_product`], [`MockServer::set_player_local`]);
//! - **scripted playback** ([`MockServer::play`], [`Playback`]): a user starts an item on a
//!   player, pauses, seeks, buffers, autoplays the next item, transcodes, stops, each step
//!   sending the `playing` notification a real server sends, repeated at the server's
//!   cadence while offsets advance with the clock;
//! - **scripted scans** ([`MockServer::scan`], [`Scan`]) that announce items through their
//!   timeline states, with the activity running meanwhile: movies, episodes and tracks,
//!   and new shows and seasons;
//! - **REST answers from the model**: `GET /`, `/identity`, `/status/sessions` (the owner's
//!   token only), `/library/metadata/{key}` (with `viewCount` and `lastViewedAt` for the
//!   asking token's account) and its `/children`, `/library/recentlyAdded`,
//!   `/activities`; any other path is 404, as on a real server;
//! - **writes**, as real servers take them: `/:/scrobble` and `/:/unscrobble` (watched
//!   state per account: the token's user's; read it with [`MockServer::view_count`]),
//!   `/status/sessions/terminate` (the owner's token, with Plex Pass:
//!   [`MockBuilder::plex_pass`]; the session stops, and [`Playback::termination_reason`]
//!   says why);
//! - the **quirks of real servers**, each a switch: a stop never sent
//!   ([`Playback::vanish`]), a session that lingers ([`Playback::stop_lingering`]), one not
//!   visible yet ([`PlaybackBuilder::hidden`]), a `stopped` without keys
//!   ([`Playback::stop_with_empty_keys`]), a client without a session key
//!   ([`PlaybackBuilder::without_session_key`]), Live TV ([`MockServer::play_live`]),
//!   prerolls ([`MockServer::play_preroll`]), a timeline flood
//!   ([`MockServer::flood_timeline`]), restarts that reuse session keys
//!   ([`MockServer::restart`], [`MockServer::update_and_restart`]);
//! - the **faults of a real network**: resets, silence, status codes, stalled handshakes,
//!   any bytes at all ([`MockServer::send_raw`]);
//! - **plex.tv** beside it ([`MockPlexTv`]): PINs a test approves or lets expire, the
//!   account's user, and its servers with connections good, dead, hanging and wrong.
//!
//! Notifications can also be sent by hand, built from the typed views with [`frame`];
//! [`MockServer::flush`] waits until the listeners have read what was sent.
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

mod builder;
mod conn;
mod library;
mod model;
mod playback;
mod plex_tv;
mod rest;
mod stalled;
mod wire;

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use native_tls::TlsAcceptor;

use crate::stop::lock;
use crate::{Filters, Transport};

pub use builder::MockBuilder;
use builder::bind;
pub use library::{Library, MockItem, Scan};
pub use playback::{MockPlayer, MockUser, Playback, PlaybackBuilder};
pub use plex_tv::{ACCOUNT_TOKEN, MockPlexTv, SHARED_SERVER};
pub use stalled::StalledListener;
pub use wire::{RecordedRequest, event_stream_text, frame, raw_frame};
use wire::{notification_type, ws_frame};

/// The WebSocket endpoint every client uses, and the spelling of Plex's API description.
const WEBSOCKET_PATH: &str = "/:/websockets/notifications";
const WEBSOCKET_PATH_SINGULAR: &str = "/:/websocket/notifications";
const EVENTSOURCE_PATH: &str = "/:/eventsource/notifications";
/// The token of a mock server made with [`MockServer::start`].
pub const DEFAULT_TOKEN: &str = "mock-token-0123456789";

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
    /// Answer every notification request with this status (429 or 503, say) and this
    /// `Retry-After` header (seconds, or an HTTP date).
    Busy {
        /// The status.
        status: u16,
        /// The `Retry-After` value, as sent.
        retry_after: String,
    },
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
    /// Bytes written as they are on WebSocket connections (WebSocket clients only):
    /// hand-made frames ([`raw_frame`] writes one), fragmented, broken or hostile, for
    /// testing a client.
    WebSocketBytes(Vec<u8>),
    /// Bytes written as they are into the event-stream body (event-stream clients only;
    /// chunk-framed when the stream is chunked).
    EventStream(Vec<u8>),
}

/// A Plex notification server on `127.0.0.1`. See the [module docs](self).
///
/// Dropping it closes every connection.
pub struct MockServer {
    inner: Arc<Inner>,
    accept: Mutex<Option<JoinHandle<()>>>,
}

/// A REST answer that fails on purpose: see [`MockServer::fail_requests`].
pub(super) struct RestFault {
    /// The path, and every path under it.
    path: String,
    status: u16,
    times: usize,
    retry_after: Option<u64>,
}

impl Inner {
    /// The fault the next answer to `path` is, if one is set (counted down).
    pub(super) fn rest_fault(&self, path: &str) -> Option<(u16, Option<u64>)> {
        let mut faults = lock(&self.rest_faults);
        let fault = faults
            .iter_mut()
            .find(|f| f.times > 0 && under(path, &f.path))?;
        fault.times -= 1;
        Some((fault.status, fault.retry_after))
    }

    /// How late an answer to `path` comes.
    pub(super) fn rest_delay(&self, path: &str) -> Duration {
        lock(&self.rest_delays)
            .iter()
            .filter(|(p, _)| under(path, p))
            .map(|(_, d)| *d)
            .max()
            .unwrap_or_default()
    }
}

/// Whether `path` is `parent` or under it.
fn under(path: &str, parent: &str) -> bool {
    path == parent
        || path
            .strip_prefix(parent)
            .is_some_and(|rest| rest.starts_with('/'))
}

struct Inner {
    addr: SocketAddr,
    machine_identifier: String,
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
    /// The Plex it plays: library, users, players, sessions, activities.
    model: Mutex<model::Model>,
    progress_interval: Option<Duration>,
    /// Dropped to end the progress ticker.
    ticker: Mutex<Option<Sender<()>>>,
    forbidden_status: u16,
    plex_pass: bool,
    /// The last flush asked for, and (client id, the last flush it has read) per client.
    flushes: AtomicU64,
    flushed: Mutex<Vec<(u64, u64)>>,
    /// The paths of the REST requests answered, in order.
    answered: Mutex<Vec<String>>,
    /// REST paths answered with a status for a number of requests: `fail_requests`.
    rest_faults: Mutex<Vec<RestFault>>,
    /// REST answers that come late: a path (and those under it), and how late.
    rest_delays: Mutex<Vec<(String, Duration)>>,
}

struct Client {
    id: u64,
    endpoint: Transport,
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
    /// Everything queued before is written: confirm flush `n` (over WebSocket, by a Ping
    /// whose Pong proves the client read it all).
    Barrier(u64),
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
        MockBuilder::new()
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
        self.inner.send(frame)
    }

    /// Sends a burst encoded beforehand with [`prepare`](MockServer::prepare): one write per
    /// client, so that the server is never what limits a client's throughput. Returns how
    /// many clients it was sent to.
    pub fn send_prepared(&self, burst: &Prepared) -> usize {
        self.inner
            .broadcast(&burst.kind, false, |endpoint| match endpoint {
                Transport::WebSocket => Command::Write(burst.websocket.clone()),
                Transport::EventSource => Command::Body(burst.event_stream.clone()),
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
                Transport::WebSocket,
                Command::Write(ws_frame(0x1, t.as_bytes()).into()),
            ),
            Raw::Binary(b) => (
                Transport::WebSocket,
                Command::Write(ws_frame(0x2, &b).into()),
            ),
            Raw::TextBytes(b) => (
                Transport::WebSocket,
                Command::Write(ws_frame(0x1, &b).into()),
            ),
            Raw::Ping(b) => (
                Transport::WebSocket,
                Command::Write(ws_frame(0x9, &b).into()),
            ),
            Raw::WebSocketBytes(b) => (Transport::WebSocket, Command::Write(b.into())),
            Raw::EventStream(bytes) => (Transport::EventSource, Command::Body(bytes.into())),
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
        self.inner.broadcast(&kind, true, |endpoint| {
            let mut wire = match endpoint {
                Transport::WebSocket => ws_frame(0x1, frame.as_bytes()),
                Transport::EventSource => {
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

    /// How many requests for `path` (a REST path, such as `/status/sessions`) the server
    /// has answered so far: counted once the answer is written, so a client that made
    /// them has its answers. Wait for it with [`wait_until`](Self::wait_until).
    pub fn answered(&self, path: &str) -> usize {
        lock(&self.inner.answered)
            .iter()
            .filter(|p| *p == path)
            .count()
    }

    /// How many requests for `path` the server has received so far: counted as they
    /// arrive, before the answer. A count to wait beyond takes this, not
    /// [`answered`](Self::answered): an answer is counted once written, which may be after
    /// the client has read it and gone on, so `answered` can still be one short.
    pub fn received(&self, path: &str) -> usize {
        lock(&self.inner.requests)
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.inner.requests).clone()
    }

    /// Answers the next `times` REST requests for `path` with `status` (a server that is
    /// busy or failing: 500, 503), then as usual again. The notification endpoints are
    /// not affected ([`set_fault`](Self::set_fault) is for them).
    pub fn fail_requests(&self, path: &str, status: u16, times: usize) {
        self.push_fault(path, status, times, None);
    }

    /// Answers the next `times` REST requests for `path` (or under it: `/library/metadata`
    /// fails every item's) with `status` and `Retry-After: {retry_after}` (in seconds): a
    /// server that asks its clients to wait, as Plex and its proxies do with 429 and 503.
    pub fn fail_requests_asking_to_wait(
        &self,
        path: &str,
        status: u16,
        times: usize,
        retry_after: Duration,
    ) {
        self.push_fault(path, status, times, Some(retry_after.as_secs()));
    }

    /// Answers every later REST request for `path` (or under it) `delay` late: a slow
    /// server, or one busy with a scan.
    pub fn delay_requests(&self, path: &str, delay: Duration) {
        let path = path.trim_end_matches('/').to_owned();
        lock(&self.inner.rest_delays).push((path, delay));
    }

    fn push_fault(&self, path: &str, status: u16, times: usize, retry_after: Option<u64>) {
        lock(&self.inner.rest_faults).push(RestFault {
            path: path.trim_end_matches('/').to_owned(),
            status,
            times,
            retry_after,
        });
    }

    /// How new connections are answered from now on (the notification endpoints; see
    /// [`fail_requests`](Self::fail_requests) for REST).
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

    /// A server restart, as after a crash or a plain restart: it stops listening, resets
    /// every connection, forgets every session (no `stopped` is sent) and running
    /// activity, starts session keys again from 1, and listens again on the same port.
    /// Its identity stays the same; the library, users and players stay.
    pub fn restart(&self) -> io::Result<()> {
        self.stop_listening();
        self.forget_sessions(false);
        self.start_listening()
    }

    /// [`restart`](Self::restart) after an update: the same, and `/identity` (and `GET /`)
    /// report a new version.
    pub fn update_and_restart(&self) -> io::Result<()> {
        self.stop_listening();
        self.forget_sessions(true);
        self.start_listening()
    }

    /// Stops listening (new connections are refused) and resets every connection: a
    /// server that went down. [`start_listening`](MockServer::start_listening) brings it back.
    pub fn stop_listening(&self) {
        if self.inner.accepting.swap(false, Ordering::SeqCst) {
            // Wakes the blocked accept(), which then sees the flag and ends.
            let _ = TcpStream::connect_timeout(&self.inner.addr, Duration::from_secs(1));
        }
        if let Some(accept) = lock(&self.accept).take() {
            let _ = accept.join();
        }
        self.reset_all();
    }

    /// Listens again on the same port after [`stop_listening`](MockServer::stop_listening).
    pub fn start_listening(&self) -> io::Result<()> {
        let mut accept = lock(&self.accept);
        if accept.is_none() {
            let listener = bind(self.inner.addr)?;
            *accept = Some(Inner::serve(&self.inner, listener)?);
        }
        Ok(())
    }

    /// Waits until every connected client has read everything sent so far, as far as the
    /// transport can tell: over WebSocket a Ping sent after it all has come back as a
    /// Pong; over an event stream it has all been written and flushed. False on timeout
    /// (a client that never answers, say).
    pub fn flush(&self, timeout: Duration) -> bool {
        let n = self.inner.flushes.fetch_add(1, Ordering::SeqCst) + 1;
        let ids: Vec<u64> = {
            let clients = lock(&self.inner.clients);
            clients
                .iter()
                .filter(|c| c.tx.send(Command::Barrier(n)).is_ok())
                .map(|c| c.id)
                .collect()
        };
        self.wait(timeout, |inner| {
            let flushed = lock(&inner.flushed);
            let clients = lock(&inner.clients);
            ids.iter().all(|id| {
                flushed.iter().any(|(c, m)| c == id && *m >= n)
                    || !clients.iter().any(|c| c.id == *id)
            })
        })
    }
}

impl Inner {
    /// [`MockServer::send`].
    fn send(&self, frame: &str) -> usize {
        let kind = notification_type(frame);
        // Each encoding is made once, and only if a client needs it.
        let mut ws: Option<Arc<[u8]>> = None;
        let mut sse: Option<Arc<[u8]>> = None;
        self.broadcast(&kind, false, |endpoint| match endpoint {
            Transport::WebSocket => Command::Write(
                ws.get_or_insert_with(|| ws_frame(0x1, frame.as_bytes()).into())
                    .clone(),
            ),
            Transport::EventSource => Command::Body(
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
        mut for_endpoint: impl FnMut(Transport) -> Command,
    ) -> usize {
        let clients = lock(&self.clients);
        let mut sent = 0;
        for client in clients.iter().filter(|c| c.filters.admits(kind)) {
            sent += usize::from(client.tx.send(for_endpoint(client.endpoint)).is_ok());
            if reset_after {
                let _ = client.tx.send(Command::Reset);
            }
        }
        sent
    }
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.stop_listening();
        lock(&self.inner.ticker).take();
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
pub(super) fn reset(socket: &TcpStream) {
    let _ = socket2::SockRef::from(socket).set_linger(Some(Duration::ZERO));
    let _ = socket.shutdown(Shutdown::Both);
}
