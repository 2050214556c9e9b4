//! [`AlertListener`]: the thread that owns the connection, and its life.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::config::Config;
use crate::handler::Callbacks;
use crate::stats::{Counters, Stats};
use crate::stop::{Stop, StopHandle, lock};
use crate::transport::Token;
use crate::worker::{Delivery, Shared, Tap, Worker};
use crate::{
    Alert, Client, ConnectionState, Error, Event, Filters, Handler, Heartbeat, Reconnect,
    TlsOptions, Transport,
};

/// Configures and starts an [`AlertListener`]. Made by [`AlertListener::builder`].
///
/// Nothing is checked or opened until [`start`](Builder::start), which returns any problem
/// with the URL or the options as an `Err`, before a thread exists.
#[must_use = "a builder does nothing until start() is called"]
pub struct Builder {
    url: String,
    config: Config,
    callbacks: Callbacks,
    handler: Option<Box<dyn Handler<Event>>>,
    /// Trackers attached to it (their `attach`).
    pub(crate) taps: Vec<Box<dyn Tap>>,
}

impl Builder {
    pub(crate) fn new(url: &str) -> Builder {
        Builder {
            url: url.to_owned(),
            config: Config::default(),
            callbacks: Callbacks::default(),
            handler: None,
            taps: Vec::new(),
        }
    }

    /// The `X-Plex-Token`. Sent as a request header, where it stays out of URLs, proxies'
    /// logs and error messages.
    ///
    /// [`start`](Builder::start) refuses a token over 1024 bytes, or with spaces, quotes,
    /// backslashes, control or non-ASCII characters (a Plex token has about 20 letters,
    /// digits, `-` and `_`). Errors blank the token out wherever it appears, as
    /// `<redacted>`: a token of a few characters is blanked all the same, inside ordinary
    /// words too, so texts then show `<redacted>` where nothing secret was (see the crate
    /// docs' [Errors](crate#errors)).
    pub fn token(mut self, token: impl Into<String>) -> Builder {
        self.config.token = Token::new(token.into());
        self
    }

    /// Sends the token as the `X-Plex-Token` query parameter instead of a header, for
    /// proxies that strip headers. It is still never logged or shown in errors by this crate,
    /// but proxies and the server may log URLs.
    pub fn token_in_query(mut self, in_query: bool) -> Builder {
        self.config.token_in_query = in_query;
        self
    }

    /// Called on the listener's thread for every alert (python-plexapi's `callback`).
    pub fn callback(mut self, f: impl FnMut(Alert) + Send + 'static) -> Builder {
        self.callbacks.alert = Some(Box::new(f));
        self
    }

    /// Called on the listener's thread for every error (python-plexapi's `callbackError`).
    /// Without it, errors are logged with the `log` crate at warn level, each as a line
    /// that says what happened without quoting what the server sent.
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

    /// Sends every [`Event`] to one handler instead of the closures: a
    /// [`std::sync::mpsc::Sender<Event>`], a [`crossbeam_channel::Sender<Event>`], a
    /// closure taking an [`Event`] (`.handler(|event: Event| ..)`), or a [`Handler`] of
    /// your own. Setting both this and a callback is an error from
    /// [`start`](Builder::start).
    pub fn handler(mut self, handler: impl Handler<Event>) -> Builder {
        self.handler = Some(Box::new(handler));
        self
    }

    /// Which notification types the server sends. Default: all but `log`.
    pub fn filters(mut self, filters: Filters) -> Builder {
        self.config.filters = filters;
        self
    }

    /// WebSocket (the default) or EventSource.
    pub fn transport(mut self, transport: Transport) -> Builder {
        self.config.transport = transport;
        self
    }

    /// Longest wait for the TCP connection to open. Default 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Builder {
        self.config.connect_timeout = timeout;
        self
    }

    /// Longest wait for the TLS handshake, and then for the server's answer to the
    /// request (each). Default 10 s.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Builder {
        self.config.handshake_timeout = timeout;
        self
    }

    /// How certificates are checked on `https://`/`wss://` URLs.
    pub fn tls(mut self, tls: TlsOptions) -> Builder {
        self.config.tls = tls;
        self
    }

    /// Largest notification accepted, in bytes. Default 1 MiB (notifications are usually
    /// under 2 KiB). A larger one is reported as [`Error::MessageTooLarge`] and skipped;
    /// the connection goes on.
    ///
    /// It is skipped as it arrives, whatever its size: the listener never holds more than
    /// this much of one message (over WebSocket, the fragments of one message count
    /// together; an event stream's event is dropped as soon as it passes the limit).
    pub fn max_message_size(mut self, bytes: usize) -> Builder {
        self.config.max_message_size = bytes;
        self
    }

    /// How a silent connection is probed and given up on. Default: a dead peer is noticed
    /// within 30 s.
    pub fn heartbeat(mut self, heartbeat: Heartbeat) -> Builder {
        self.config.heartbeat = heartbeat;
        self
    }

    /// When to reconnect. Default: forever, with backoff.
    pub fn reconnect(mut self, reconnect: Reconnect) -> Builder {
        self.config.reconnect = reconnect;
        self
    }

    /// Who the app is, as the server sees it: the `X-Plex-*` headers (see [`Client`]).
    /// Default: `plex-alerts`, with an identifier derived from this machine's host name.
    pub fn client(mut self, client: Client) -> Builder {
        self.config.client = client;
        self
    }

    /// The `X-Plex-Client-Identifier` sent (see [`client`](Self::client)).
    pub fn client_identifier(mut self, id: impl Into<String>) -> Builder {
        self.config.client.identifier = id.into();
        self
    }

    /// The `X-Plex-Product` sent (see [`client`](Self::client)). Default `plex-alerts`.
    pub fn product(mut self, product: impl Into<String>) -> Builder {
        self.config.client.product = product.into();
        self
    }

    /// The listener thread's name. Default `plex-alerts`.
    pub fn thread_name(mut self, name: impl Into<String>) -> Builder {
        self.config.thread_name = name.into();
        self
    }

    /// Checks the URL and every option, then starts the listener's thread.
    pub fn start(mut self) -> Result<AlertListener, Error> {
        let trackers = !self.taps.is_empty();
        let no_callbacks = self.callbacks.is_empty();
        let handler: Box<dyn Handler<Event>> = match self.handler {
            Some(_) if !no_callbacks => {
                return Err(Error::config(
                    "set either callbacks or a handler (channel), not both",
                ));
            }
            Some(handler) => handler,
            None if no_callbacks && !trackers => {
                return Err(Error::config(
                    "nothing would hear the alerts: set a callback, a handler (channel) or a tracker",
                ));
            }
            // With trackers only, errors still go to the log and states to debug.
            None => Box::new(self.callbacks),
        };
        // The trackers' types are asked for too; the app's handler sees only its own.
        let app_filters = self.config.filters.clone();
        for kind in self.taps.iter().flat_map(|t| t.needs()) {
            self.config.filters = self.config.filters.also_admitting(kind);
        }
        let app_filters = (app_filters != self.config.filters).then_some(app_filters);
        let checked = self.config.check(&self.url)?;
        let shared = Arc::new(Shared {
            stop: StopHandle { stop: Stop::new() },
            counters: Counters::default(),
            ended_by: Mutex::new(None),
        });
        let delivery = Arc::new(Delivery::new(
            handler,
            checked.settings.connector.token.clone(),
            Arc::clone(&shared),
        ));
        for tap in &mut self.taps {
            if let Err(e) = tap.start() {
                shared.stop.stop();
                for tap in &mut self.taps {
                    tap.finish();
                }
                return Err(e);
            }
        }
        let name = checked.thread_name.clone();
        let worker = Worker {
            checked,
            delivery,
            shared: Arc::clone(&shared),
            taps: self.taps,
            app_filters,
        };
        let thread = thread::Builder::new()
            .name(name)
            .spawn(move || worker.run())
            .map_err(|e| Error::config(format!("could not start the listener thread: {e}")))?;
        Ok(AlertListener {
            thread: Some(thread),
            shared,
        })
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a token in its query (start() would reject it): never shown.
        let url = self.url.split(['?', '#']).next().unwrap_or_default();
        f.debug_struct("Builder")
            .field("url", &url)
            .field("config", &self.config)
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
    shared: Arc<Shared>,
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
        self.shared.stop.stop();
        self.join_thread();
    }

    /// Waits for a listener that ends by itself, and says why: `Err` with the error it
    /// did not retry (a wrong token, a missing endpoint), or, with [`Reconnect::never`],
    /// the disconnect that ended it; `Ok` when it was stopped, or its handler went away.
    ///
    /// Called on the listener's own thread (from inside a callback), it returns at once:
    /// the thread cannot wait for itself.
    pub fn join(mut self) -> Result<(), Error> {
        self.join_thread();
        match lock(&self.shared.ended_by).take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// A handle that stops this listener from any thread, including from inside a callback.
    pub fn stop_handle(&self) -> StopHandle {
        self.shared.stop.clone()
    }

    /// Whether the listener's thread is still running.
    pub fn is_running(&self) -> bool {
        self.shared.stop.is_running()
    }

    /// Counters since the listener started.
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
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
        self.shared.stop.stop();
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
