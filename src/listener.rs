//! [`AlertListener`]: the thread that owns the connection, and its life.

use std::cell::RefCell;
use std::fmt;
use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::alert::View;
use crate::connection::eventsource::{self, EventSourceConnection};
use crate::connection::websocket::{self, WebSocketConnection};
use crate::connection::{self, Interrupter, Received, Settings, Token, Transport};
use crate::handler::{self, Callbacks};
use crate::reconnect::{Backoff, Heartbeat, Reconnect};
use crate::{Alert, ConnectionState, Error, Event, EventHandler, Filters, TlsOptions};

/// Configures and starts an [`AlertListener`]. Made by [`AlertListener::builder`].
///
/// Nothing is checked or opened until [`start`](Builder::start), which returns any problem
/// with the URL or the options as an `Err`, before a thread exists.
#[must_use = "a builder does nothing until start() is called"]
pub struct Builder {
    url: String,
    token: Token,
    token_in_query: bool,
    callbacks: Callbacks,
    handler: Option<(Box<dyn EventHandler>, View)>,
    filters: Filters,
    transport: Transport,
    connect_timeout: Duration,
    handshake_timeout: Duration,
    tls: TlsOptions,
    max_message_size: usize,
    heartbeat: Heartbeat,
    reconnect: Reconnect,
    client_identifier: Option<String>,
    product: String,
    thread_name: String,
}

impl Builder {
    pub(crate) fn new(url: &str) -> Builder {
        Builder {
            url: url.to_owned(),
            token: Token::default(),
            token_in_query: false,
            callbacks: Callbacks::default(),
            handler: None,
            filters: Filters::default(),
            transport: Transport::default(),
            connect_timeout: connection::DEFAULT_CONNECT_TIMEOUT,
            handshake_timeout: connection::DEFAULT_HANDSHAKE_TIMEOUT,
            tls: TlsOptions::default(),
            max_message_size: connection::DEFAULT_MAX_MESSAGE_SIZE,
            heartbeat: Heartbeat::default(),
            reconnect: Reconnect::default(),
            client_identifier: None,
            product: connection::DEFAULT_PRODUCT.to_owned(),
            thread_name: "plex-alerts".to_owned(),
        }
    }

    /// The `X-Plex-Token`. Sent as a request header, where it stays out of URLs, proxies'
    /// logs and error messages.
    pub fn token(mut self, token: impl Into<String>) -> Builder {
        self.token = Token(token.into());
        self
    }

    /// Sends the token as the `X-Plex-Token` query parameter instead of a header, for
    /// proxies that strip headers. It is still never logged or shown in errors by this crate,
    /// but proxies and the server may log URLs.
    pub fn token_in_query(mut self, in_query: bool) -> Builder {
        self.token_in_query = in_query;
        self
    }

    /// Called on the listener's thread for every alert (python-plexapi's `callback`).
    pub fn callback(mut self, f: impl FnMut(Alert) + Send + 'static) -> Builder {
        self.callbacks.alert = Some(Box::new(f));
        self
    }

    /// Called on the listener's thread for every error (python-plexapi's `callback_error`).
    /// Without it, errors are logged with the `log` crate at warn level.
    pub fn callback_error(mut self, f: impl FnMut(Error) + Send + 'static) -> Builder {
        self.callbacks.error = Some(Box::new(f));
        self
    }

    /// Called on the listener's thread when the connection changes state: use
    /// [`ConnectionState::Connected`] after a [`ConnectionState::Disconnected`] to resync
    /// over HTTP what the gap lost.
    pub fn on_state(mut self, f: impl FnMut(ConnectionState) + Send + 'static) -> Builder {
        self.callbacks.state = Some(Box::new(f));
        self
    }

    /// Sends every [`Event`] to a handler instead of the closures: a
    /// [`std::sync::mpsc::Sender<Event>`], a [`crossbeam_channel::Sender<Event>`] or a
    /// closure taking an [`Event`]. Setting both this and a callback is an error from
    /// [`start`](Builder::start).
    pub fn handler<H: EventHandler>(mut self, handler: H) -> Builder {
        self.handler = Some((Box::new(handler), handler::view_for::<H>()));
        self
    }

    /// Which notification types the server sends. Default: all but `log`.
    pub fn filters(mut self, filters: Filters) -> Builder {
        self.filters = filters;
        self
    }

    /// WebSocket (the default) or EventSource.
    pub fn transport(mut self, transport: Transport) -> Builder {
        self.transport = transport;
        self
    }

    /// Longest wait for the TCP connection to open. Default 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Builder {
        self.connect_timeout = timeout;
        self
    }

    /// Longest wait for the TLS handshake, and then for the server's answer to the
    /// request (each). Default 10 s.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Builder {
        self.handshake_timeout = timeout;
        self
    }

    /// How certificates are checked on `https://`/`wss://` URLs.
    pub fn tls(mut self, tls: TlsOptions) -> Builder {
        self.tls = tls;
        self
    }

    /// Largest notification accepted, in bytes. Default 1 MiB (notifications are usually
    /// under 2 KiB). A larger one is reported as [`Error::MessageTooLarge`] and skipped.
    ///
    /// What a server can make the listener hold: over WebSocket a frame is read whole before
    /// it can be skipped, so frames up to 4 times the limit are held, skipped, and the
    /// connection goes on; a bigger one drops the connection (and it reconnects). An event
    /// stream's event is dropped as soon as it passes the limit, without being held.
    pub fn max_message_size(mut self, bytes: usize) -> Builder {
        self.max_message_size = bytes;
        self
    }

    /// How a silent connection is probed and given up on. Default: a dead peer is noticed
    /// within 30 s.
    pub fn heartbeat(mut self, heartbeat: Heartbeat) -> Builder {
        self.heartbeat = heartbeat;
        self
    }

    /// When to reconnect. Default: forever, with backoff.
    pub fn reconnect(mut self, reconnect: Reconnect) -> Builder {
        self.reconnect = reconnect;
        self
    }

    /// The `X-Plex-Client-Identifier` sent. Default: one derived from this machine's
    /// host name, the same on every run.
    pub fn client_identifier(mut self, id: impl Into<String>) -> Builder {
        self.client_identifier = Some(id.into());
        self
    }

    /// The `X-Plex-Product` sent. Default `plex-alerts`.
    pub fn product(mut self, product: impl Into<String>) -> Builder {
        self.product = product.into();
        self
    }

    /// The listener thread's name. Default `plex-alerts`.
    pub fn thread_name(mut self, name: impl Into<String>) -> Builder {
        self.thread_name = name.into();
        self
    }

    /// Checks the URL and every option, then starts the listener's thread.
    pub fn start(self) -> Result<AlertListener, Error> {
        let (handler, view): (Box<dyn EventHandler>, View) =
            match (self.handler, self.callbacks.is_empty()) {
                (Some(_), false) => {
                    return Err(Error::config(
                        "set either callbacks or a handler (channel), not both",
                    ));
                }
                (Some(handler), true) => handler,
                (None, false) => (Box::new(self.callbacks), View::Now),
                (None, true) => {
                    return Err(Error::config(
                        "nothing would hear the alerts: set a callback or a handler (channel)",
                    ));
                }
            };
        let mut settings = Settings::new(&self.url, self.token, &self.tls)?;
        settings.token_in_query = self.token_in_query;
        if let Some(id) = self.client_identifier {
            settings.client_identifier = id;
        }
        settings.product = self.product;
        settings.filters = self.filters;
        settings.connect_timeout = self.connect_timeout;
        settings.handshake_timeout = self.handshake_timeout;
        settings.max_message_size = self.max_message_size;
        settings.view = view;
        settings.check()?;
        if self.thread_name.contains('\0') {
            return Err(Error::config("the thread name contains a NUL character"));
        }
        if self.reconnect.is_enabled() && self.reconnect.initial().is_zero() {
            return Err(Error::config(
                "a reconnect delay of zero would hammer the server; use Reconnect::never() to not reconnect",
            ));
        }
        if self.heartbeat.enabled
            && (self.heartbeat.interval.is_zero() || self.heartbeat.timeout.is_zero())
        {
            return Err(Error::config("heartbeat durations must not be zero"));
        }
        let (stop_tx, stop_rx) = crossbeam_channel::bounded(0);
        let shared = Arc::new(Shared {
            interrupter: Interrupter::default(),
            stop_tx: Mutex::new(Some(stop_tx)),
            running: AtomicBool::new(true),
            counters: Counters::default(),
            ended_by: Mutex::new(None),
        });
        let worker = Worker {
            settings,
            transport: self.transport,
            heartbeat: self.heartbeat,
            reconnect: self.reconnect,
            handler,
            shared: Arc::clone(&shared),
            stop_rx,
        };
        let thread = thread::Builder::new()
            .name(self.thread_name)
            .spawn(move || worker.run())
            .map_err(|e| Error::config(format!("could not start the listener thread: {e}")))?;
        Ok(AlertListener {
            thread: Some(thread),
            handle: StopHandle { shared },
        })
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a token in its query (start() would reject it): never shown.
        let url = self.url.split(['?', '#']).next().unwrap_or_default();
        f.debug_struct("Builder")
            .field("url", &url)
            .field("token", &self.token)
            .field("token_in_query", &self.token_in_query)
            .field("filters", &self.filters)
            .field("transport", &self.transport)
            .field("tls", &self.tls)
            .field("heartbeat", &self.heartbeat)
            .field("reconnect", &self.reconnect)
            .finish_non_exhaustive()
    }
}

/// Listens to a Plex Media Server's notifications on a thread of its own.
///
/// Start one with [`AlertListener::builder`] (or
/// [`PlexServer::start_alert_listener`](crate::PlexServer::start_alert_listener)). The
/// thread connects, calls your closures (or feeds your channel) for every alert, error and
/// state change, reconnects when the connection drops, and ends when you call
/// [`stop`](AlertListener::stop), when you drop the listener, or when it meets an error
/// it must not retry (a wrong token).
///
/// ```
/// # fn main() -> Result<(), plex_alerts::Error> {
/// # let server = plex_alerts::mock::MockServer::start();
/// # let (url, token) = (server.url(), server.token());
/// use plex_alerts::AlertListener;
///
/// let listener = AlertListener::builder(&url)
///     .token(token)
///     .callback(|alert| println!("{}: {}", alert.kind(), alert.raw_json()))
///     .callback_error(|error| eprintln!("{error}"))
///     .start()?;
/// // ... the app goes on ...
/// listener.stop(); // returns once the thread has ended
/// # Ok(())
/// # }
/// ```
pub struct AlertListener {
    handle: StopHandle,
    thread: Option<JoinHandle<()>>,
}

impl AlertListener {
    /// A builder for a listener to the server at `url`: its base URL, such as
    /// `http://192.168.1.5:32400` or `https://plex.example.com` (`ws://` and `wss://` work
    /// too; a path is kept, for servers behind a reverse proxy).
    pub fn builder(url: impl AsRef<str>) -> Builder {
        Builder::new(url.as_ref())
    }

    /// Stops the listener and waits for its thread to end. Returns promptly whatever the
    /// thread is doing: a blocked read or connect is interrupted by shutting the socket
    /// down, a backoff wait is cut short; only a callback that is running is waited for.
    ///
    /// Called on the listener's own thread (from inside a callback), it only signals.
    pub fn stop(mut self) {
        self.handle.stop();
        self.join_thread();
    }

    /// Waits for a listener that ends by itself, and returns why: the error it did not
    /// retry (a wrong token, a missing endpoint), or, with [`Reconnect::never`], the
    /// disconnect that ended it. `None` when it was stopped, or its handler went away.
    ///
    /// Called on the listener's own thread (from inside a callback), it returns at once:
    /// the thread cannot wait for itself.
    pub fn join(mut self) -> Option<Error> {
        self.join_thread();
        connection::lock(&self.handle.shared.ended_by).take()
    }

    /// A handle that stops this listener from any thread, including from inside a callback.
    pub fn stop_handle(&self) -> StopHandle {
        self.handle.clone()
    }

    /// Whether the listener's thread is still running.
    pub fn is_running(&self) -> bool {
        self.handle.shared.running.load(Ordering::SeqCst)
    }

    /// Counters since the listener started.
    pub fn stats(&self) -> Stats {
        self.handle.shared.counters.snapshot()
    }

    fn join_thread(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        // On the listener's own thread (stop from inside a callback) there is nothing to wait
        // for: the thread ends when the callback returns.
        if thread.thread().id() != thread::current().id() && thread.join().is_err() {
            log::error!("plex-alerts: the listener thread panicked");
        }
    }
}

/// Dropping a listener stops it and waits for its thread, like [`AlertListener::stop`].
impl Drop for AlertListener {
    fn drop(&mut self) {
        self.handle.stop();
        self.join_thread();
    }
}

impl fmt::Debug for AlertListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlertListener")
            .field("running", &self.is_running())
            .finish_non_exhaustive()
    }
}

/// Stops an [`AlertListener`] from any thread, including from inside its own callbacks.
///
/// `stop` only signals and returns at once; the listener's thread ends as soon as what it
/// is doing can be interrupted. Use [`AlertListener::stop`] to also wait for it.
#[derive(Clone)]
pub struct StopHandle {
    shared: Arc<Shared>,
}

impl StopHandle {
    /// Tells the listener to stop, for good.
    pub fn stop(&self) {
        self.shared.interrupter.interrupt();
        connection::lock(&self.shared.stop_tx).take();
    }

    /// Whether the listener's thread is still running.
    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::SeqCst)
    }
}

impl fmt::Debug for StopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StopHandle")
            .field("running", &self.is_running())
            .finish()
    }
}

/// Counters of a listener's work, read with [`AlertListener::stats`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Alerts delivered.
    pub alerts: u64,
    /// Errors reported (disconnects included).
    pub errors: u64,
    /// Connection attempts after the first.
    pub reconnects: u64,
    /// Bytes read from the server, headers and framing included.
    pub bytes_received: u64,
    /// Time spent connected, the current connection included.
    pub time_connected: Duration,
    /// Whether a connection is up now.
    pub connected: bool,
}

#[derive(Default)]
struct Counters {
    alerts: AtomicU64,
    errors: AtomicU64,
    reconnects: AtomicU64,
    bytes: Arc<AtomicU64>,
    /// Time connected before the current connection, and when that one started.
    connected: Mutex<(Duration, Option<Instant>)>,
}

impl Counters {
    fn snapshot(&self) -> Stats {
        let (past, since) = *connection::lock(&self.connected);
        Stats {
            alerts: self.alerts.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            bytes_received: self.bytes.load(Ordering::Relaxed),
            time_connected: past + since.map_or(Duration::ZERO, |t| t.elapsed()),
            connected: since.is_some(),
        }
    }

    fn set_connected(&self, up: bool) {
        let mut c = connection::lock(&self.connected);
        match (up, c.1) {
            (true, None) => c.1 = Some(Instant::now()),
            (false, Some(since)) => *c = (c.0 + since.elapsed(), None),
            _ => {}
        }
    }
}

struct Shared {
    interrupter: Interrupter,
    /// Dropped on stop: wakes a backoff wait, and a send to a full bounded channel.
    stop_tx: Mutex<Option<Sender<()>>>,
    running: AtomicBool,
    counters: Counters,
    /// Why the listener ended by itself, for [`AlertListener::join`].
    ended_by: Mutex<Option<Error>>,
}

thread_local! {
    static STOP_SIGNAL: RefCell<Option<Receiver<()>>> = const { RefCell::new(None) };
}

/// On a listener's thread: a channel that disconnects when the listener is told to stop.
pub(crate) fn stop_signal() -> Option<Receiver<()>> {
    STOP_SIGNAL.with(|s| s.borrow().clone())
}

/// The listener's thread: the only place that decides what happens next.
struct Worker {
    settings: Settings,
    transport: Transport,
    heartbeat: Heartbeat,
    reconnect: Reconnect,
    handler: Box<dyn EventHandler>,
    shared: Arc<Shared>,
    stop_rx: Receiver<()>,
}

enum Conn {
    WebSocket(WebSocketConnection),
    EventSource(EventSourceConnection),
}

impl Conn {
    fn next(&mut self) -> Result<Received, Error> {
        match self {
            Conn::WebSocket(c) => c.next(),
            Conn::EventSource(c) => c.next(),
        }
    }
}

/// How listening on one connection ended.
enum Ended {
    /// Stop was asked for, or the handler is gone.
    Stop,
    /// The connection failed.
    Lost(Error),
}

impl Worker {
    fn run(mut self) {
        STOP_SIGNAL.with(|s| *s.borrow_mut() = Some(self.stop_rx.clone()));
        // Whatever happens in run_loop, even a bug of ours, the listener ends properly:
        // Stopped is delivered and is_running() turns false.
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| self.run_loop())) {
            let error = Error::Internal {
                message: panic_message(&*panic),
            };
            log::error!("plex-alerts: {error}");
            let _ = self.report(error);
        }
        self.shared.interrupter.forget();
        self.shared.counters.set_connected(false);
        let _ = self.emit(Event::State(ConnectionState::Stopped));
        self.shared.running.store(false, Ordering::SeqCst);
    }

    /// Connects, listens, reconnects, until stopped or told to give up.
    fn run_loop(&mut self) {
        let mut backoff = Backoff::new(self.reconnect);
        let mut attempt = 0;
        let mut ws_path = websocket::PATH;
        loop {
            attempt += 1;
            if self.stopping()
                || self
                    .emit(Event::State(ConnectionState::Connecting { attempt }))
                    .is_break()
            {
                break;
            }
            let error = match self.connect(&mut ws_path) {
                Ok(mut conn) => {
                    self.shared.counters.set_connected(true);
                    let ended = if self
                        .emit(Event::State(ConnectionState::Connected))
                        .is_break()
                    {
                        Ended::Stop
                    } else {
                        self.listen(&mut conn, &mut backoff, &mut attempt)
                    };
                    self.shared.counters.set_connected(false);
                    if let Conn::WebSocket(ws) = &mut conn {
                        ws.close();
                    }
                    match ended {
                        Ended::Stop => break,
                        Ended::Lost(error) => error,
                    }
                }
                Err(error) => error,
            };
            self.shared.interrupter.forget();
            if self.stopping() {
                break;
            }
            let retry_in = if error.is_retryable() {
                backoff.next_delay()
            } else {
                None
            };
            if self.report(error.clone()).is_break()
                || self
                    .emit(Event::State(ConnectionState::Disconnected {
                        error: error.clone(),
                        retry_in,
                    }))
                    .is_break()
            {
                break;
            }
            let Some(delay) = retry_in else {
                // join() is the one way out for an error besides emit(): redact here too.
                *connection::lock(&self.shared.ended_by) =
                    Some(error.redact(&self.settings.token.0));
                break;
            };
            // Wakes at once when stop drops the sender.
            if self.stop_rx.recv_timeout(delay) != Err(crossbeam_channel::RecvTimeoutError::Timeout)
            {
                break;
            }
            self.shared
                .counters
                .reconnects
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    fn stopping(&self) -> bool {
        self.shared.interrupter.is_interrupted()
    }

    fn connect(&self, ws_path: &mut &'static str) -> Result<Conn, Error> {
        // A stop during the Connecting callback: do not even resolve the name.
        if self.stopping() {
            return Err(connection::stopped());
        }
        let bytes = Arc::clone(&self.shared.counters.bytes);
        let open =
            || connection::open(&self.settings, &self.shared.interrupter, Arc::clone(&bytes));
        match self.transport {
            Transport::EventSource => Ok(Conn::EventSource(eventsource::request(
                open()?,
                &self.settings,
                self.heartbeat,
            )?)),
            Transport::WebSocket => {
                match websocket::handshake(open()?, &self.settings, ws_path, self.heartbeat) {
                    // The singular path of Plex's API description, tried once.
                    Err(Error::HttpStatus { status: 404, .. }) if *ws_path == websocket::PATH => {
                        let conn = websocket::handshake(
                            open()?,
                            &self.settings,
                            websocket::SINGULAR_PATH,
                            self.heartbeat,
                        )
                        .map_err(|e| match e {
                            Error::HttpStatus { status: 404, .. } => Error::HttpStatus {
                                status: 404,
                                path: websocket::PATH.to_owned(),
                            },
                            e => e,
                        })?;
                        *ws_path = websocket::SINGULAR_PATH;
                        Ok(Conn::WebSocket(conn))
                    }
                    result => Ok(Conn::WebSocket(result?)),
                }
            }
        }
    }

    fn listen(&mut self, conn: &mut Conn, backoff: &mut Backoff, attempt: &mut u32) -> Ended {
        let mut proven = false;
        loop {
            if self.stopping() {
                return Ended::Stop;
            }
            let received = match conn.next() {
                Ok(received) => received,
                Err(error) => return Ended::Lost(error),
            };
            if !proven && !matches!(received, Received::Idle) {
                // Backoff restarts only once the connection delivered something.
                proven = true;
                backoff.reset();
                *attempt = 0;
            }
            let flow = match received {
                Received::Alert(decoded) => {
                    self.shared.counters.alerts.fetch_add(1, Ordering::Relaxed);
                    let flow = self.emit(Event::Alert(decoded.alert));
                    match decoded.problem {
                        Some(problem) if flow.is_continue() => self.report(problem),
                        _ => flow,
                    }
                }
                Received::Problem(error) => self.report(error),
                Received::Alive | Received::Idle => ControlFlow::Continue(()),
            };
            if flow.is_break() {
                return Ended::Stop;
            }
        }
    }

    fn report(&mut self, error: Error) -> ControlFlow<()> {
        self.shared.counters.errors.fetch_add(1, Ordering::Relaxed);
        self.emit(Event::Error(error))
    }

    /// Hands an event to the user's code; a panic there is caught and reported. Every
    /// error leaves through here, so the token is blanked out here, once for all.
    fn emit(&mut self, event: Event) -> ControlFlow<()> {
        let token = &self.settings.token.0;
        let event = match event {
            Event::Error(e) => Event::Error(e.redact(token)),
            Event::State(ConnectionState::Disconnected { error, retry_in }) => {
                Event::State(ConnectionState::Disconnected {
                    error: error.redact(token),
                    retry_in,
                })
            }
            other => other,
        };
        let was_error = matches!(event, Event::Error(_));
        let panic = match catch_unwind(AssertUnwindSafe(|| self.handler.handle_event(event))) {
            Ok(flow) => return flow,
            Err(panic) => panic,
        };
        let error = Error::CallbackPanicked {
            message: panic_message(&*panic),
        }
        .redact(&self.settings.token.0);
        if was_error {
            log::error!("plex-alerts: callback_error panicked: {error}");
            return ControlFlow::Continue(());
        }
        self.shared.counters.errors.fetch_add(1, Ordering::Relaxed);
        let error_for_log = error.to_string();
        match catch_unwind(AssertUnwindSafe(|| {
            self.handler.handle_event(Event::Error(error))
        })) {
            Ok(flow) => flow,
            Err(_) => {
                log::error!("plex-alerts: {error_for_log}, and so did callback_error");
                ControlFlow::Continue(())
            }
        }
    }
}

/// The message a panic carried, if it was text.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}
