//! The session tracker: its builder, its place on a listener, and its thread, which
//! feeds the [`Machine`] and makes the lookups it asks for.

use std::fmt;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::{QUEUE, deliver, feed};
use crate::listener::Builder;
use crate::session::NowPlaying;
use crate::session::machine::{Machine, Options, Out, Want};
use crate::stop::StopHandle;
use crate::worker::{Delivery, Tap};
use crate::{
    AlertListener, ConnectionState, Error, Event, Handler, MediaType, Notification,
    PlaySessionState, PlexServer, SessionEvent,
};

type Callback<T> = Box<dyn FnMut(T) + Send>;

/// Configures a session tracker: made by [`PlexServer::session_tracker`].
///
/// [`start`](Self::start) starts it on a listener of its own; or attach it to a listener
/// you configure ([`Builder::track_sessions`]), beside your raw alerts and the library
/// tracker, on one connection.
///
/// ```
/// # fn main() -> Result<(), plex_alerts::Error> {
/// # let mock = plex_alerts::mock::MockServer::start();
/// # let plex = plex_alerts::PlexServer::connect(mock.url(), mock.token())?;
/// use std::time::Duration;
/// use plex_alerts::{MediaType, SessionEvent};
///
/// let listener = plex
///     .session_tracker()
///     .stale_after(Duration::from_secs(600))
///     .watched_at(MediaType::Episode, 0.9)
///     .callback_error(|error| eprintln!("{error}"))
///     .start(|event: SessionEvent| println!("{event}"))?;
/// # listener.stop();
/// # Ok(())
/// # }
/// ```
#[must_use = "a tracker does nothing until it is started"]
pub struct SessionTrackerBuilder {
    plex: PlexServer,
    opts: Options,
    lookup_timeout: Duration,
    on_error: Option<Callback<Error>>,
    on_state: Option<Callback<ConnectionState>>,
}

impl fmt::Debug for SessionTrackerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionTrackerBuilder")
            .field("stale_after", &self.opts.stale_after)
            .field("absence_grace", &self.opts.absence_grace)
            .field("seek_tolerance", &self.opts.seek_tolerance)
            .field("lookup_timeout", &self.lookup_timeout)
            .finish_non_exhaustive()
    }
}

impl SessionTrackerBuilder {
    /// A session that says nothing for this long, or says it plays with an offset that
    /// does not move for this long, is [`Stale`](crate::StopReason::Stale): the stop
    /// never came. A paused session that keeps reporting is not stale. Default 5 min.
    pub fn stale_after(mut self, after: Duration) -> Self {
        self.opts.stale_after = after;
        self
    }

    /// How long a session may be missing from `/status/sessions` at a resync (a live one
    /// can vanish from it briefly) before one confirming read, and then
    /// [`Vanished`](crate::StopReason::Vanished). Default 30 s.
    pub fn absence_grace(mut self, grace: Duration) -> Self {
        self.opts.absence_grace = grace;
        self
    }

    /// How far an offset may move beyond what the clock explains before it is a
    /// [`Seeked`](SessionEvent::Seeked). Default 5 s.
    pub fn seek_tolerance(mut self, tolerance: Duration) -> Self {
        self.opts.seek_tolerance = tolerance;
        self
    }

    /// The fraction of an item of type `media_type` played (0.0 to 1.0) at which it is
    /// [`Watched`](SessionEvent::Watched). Defaults: movies, episodes and clips 0.85,
    /// tracks 0.9, any other type 0.85.
    pub fn watched_at(mut self, media_type: MediaType, fraction: f64) -> Self {
        self.opts.watched.retain(|(t, _)| *t != media_type);
        self.opts.watched.push((media_type, fraction));
        self
    }

    /// The longest each lookup may take (each step: connect, TLS, the answer). Default 5 s.
    pub fn lookup_timeout(mut self, timeout: Duration) -> Self {
        self.lookup_timeout = timeout;
        self
    }

    /// How many sessions it tracks at most: more are counted and left out. Default 1000.
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.opts.max_sessions = max;
        self
    }

    /// Errors, the tracker's (a lookup that failed; sessions that this token may not see,
    /// told once as [`Error::Forbidden`]) and the listener's. Without it they go to the
    /// log at warn level.
    pub fn callback_error(mut self, f: impl FnMut(Error) + Send + 'static) -> Self {
        self.on_error = Some(Box::new(f));
        self
    }

    /// The connection's state changes, as [`Builder::on_state`].
    pub fn on_state(mut self, f: impl FnMut(ConnectionState) + Send + 'static) -> Self {
        self.on_state = Some(Box::new(f));
        self
    }

    /// Starts it on a listener of its own (the server's URL, token and TLS options).
    pub fn start(self, handler: impl Handler<SessionEvent>) -> Result<AlertListener, Error> {
        let listener = self.plex.alert_listener();
        listener.track_sessions(self, handler).start()
    }

    fn check(&self) -> Result<(), Error> {
        let o = &self.opts;
        let zero = [o.stale_after, o.absence_grace, self.lookup_timeout]
            .iter()
            .any(Duration::is_zero);
        if zero {
            return Err(Error::config(
                "the session tracker's durations must not be zero",
            ));
        }
        if o.watched.iter().any(|(_, f)| !(0.0..=1.0).contains(f)) {
            return Err(Error::config(
                "a watched threshold is a fraction, 0.0 to 1.0",
            ));
        }
        Ok(())
    }
}

impl PlexServer {
    /// Tracks playback sessions: who plays what, as [`SessionEvent`]s to `handler` (a
    /// closure taking a `SessionEvent`, or a channel sender of them), on a listener of its
    /// own. The listener's [`now_playing`](AlertListener::now_playing) says what is playing
    /// now, without a request; stop it like any listener.
    ///
    /// ```
    /// # fn main() -> Result<(), plex_alerts::Error> {
    /// # let mock = plex_alerts::mock::MockServer::start();
    /// # let plex = plex_alerts::PlexServer::connect(mock.url(), mock.token())?;
    /// use plex_alerts::SessionEvent;
    ///
    /// let tracker = plex.track_sessions(|event: SessionEvent| match event {
    ///     SessionEvent::Started(s) => println!("{s} started"),
    ///     SessionEvent::Watched(s) => println!("scrobble {:?}", s.media.title),
    ///     SessionEvent::Stopped { session, reason } => println!("{session} ended: {reason}"),
    ///     _ => {}
    /// })?;
    /// println!("{} playing", tracker.now_playing().len());
    /// tracker.stop();
    /// # Ok(())
    /// # }
    /// ```
    pub fn track_sessions(
        &self,
        handler: impl Handler<SessionEvent>,
    ) -> Result<AlertListener, Error> {
        self.session_tracker().start(handler)
    }

    /// A session tracker with options: see [`SessionTrackerBuilder`].
    pub fn session_tracker(&self) -> SessionTrackerBuilder {
        SessionTrackerBuilder {
            plex: self.clone(),
            opts: Options::default(),
            lookup_timeout: Duration::from_secs(5),
            on_error: None,
            on_state: None,
        }
    }
}

impl Builder {
    /// Attaches a session tracker ([`PlexServer::session_tracker`]) to this listener:
    /// its [`SessionEvent`]s go to `handler`, on the tracker's own thread, while this
    /// listener's callbacks (or handler) still get the raw alerts, errors and states. A
    /// library tracker can share the connection too. The listener asks the server for
    /// `playing` notifications if its filters left them out (your callbacks still see
    /// only what the filters admit). [`AlertListener::now_playing`] answers from it.
    ///
    /// The tracker's `callback_error` and `on_state`, if set, become this listener's.
    pub fn track_sessions(
        mut self,
        tracker: SessionTrackerBuilder,
        handler: impl Handler<SessionEvent>,
    ) -> Builder {
        let mut tracker = tracker;
        if let Some(f) = tracker.on_error.take() {
            self = self.callback_error(f);
        }
        if let Some(f) = tracker.on_state.take() {
            self = self.on_state(f);
        }
        let now_playing = NowPlaying::default();
        self.now_playing = Some(now_playing.clone());
        self.taps.push(Box::new(SessionTap {
            check: tracker.check(),
            plex: tracker.plex.with_timeout(tracker.lookup_timeout),
            opts: tracker.opts,
            handler: Some(Box::new(handler)),
            now_playing,
            tx: None,
            thread: None,
        }));
        self
    }
}

/// What the listener's thread hands the tracker's.
enum Input {
    Playing(Vec<PlaySessionState>, Instant),
    Connected { after_gap: bool, at: Instant },
    Disconnected,
}

struct SessionTap {
    check: Result<(), Error>,
    plex: PlexServer,
    opts: Options,
    handler: Option<Box<dyn Handler<SessionEvent>>>,
    now_playing: NowPlaying,
    tx: Option<Sender<Input>>,
    thread: Option<JoinHandle<()>>,
}

impl Tap for SessionTap {
    fn needs(&self) -> &'static [&'static str] {
        &["playing"]
    }

    fn start(&mut self, delivery: Arc<Delivery>) -> Result<(), Error> {
        self.check.clone()?;
        let (tx, rx) = crossbeam_channel::bounded(QUEUE);
        let worker = TrackerThread {
            machine: Machine::new(self.opts.clone(), Instant::now()),
            plex: self.plex.clone(),
            handler: self.handler.take().expect("started once"),
            now_playing: self.now_playing.clone(),
            delivery,
        };
        let thread = thread::Builder::new()
            .name("plex-alerts-sessions".into())
            .spawn(move || worker.run(rx))
            .map_err(|e| Error::config(format!("could not start the session tracker: {e}")))?;
        self.tx = Some(tx);
        self.thread = Some(thread);
        Ok(())
    }

    fn see(&mut self, event: &Event, stop: &StopHandle) {
        let Some(tx) = &self.tx else {
            return;
        };
        let input = match event {
            Event::Alert(alert) => match alert.notification() {
                Notification::Playing(states) => Input::Playing(states.clone(), Instant::now()),
                _ => return,
            },
            Event::State(ConnectionState::Connected { outage }) => Input::Connected {
                after_gap: outage.is_some(),
                at: Instant::now(),
            },
            Event::State(ConnectionState::Disconnected { .. }) => Input::Disconnected,
            _ => return,
        };
        feed(tx, input, stop);
    }

    fn finish(&mut self) {
        self.tx.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The tracker's thread.
struct TrackerThread {
    machine: Machine,
    plex: PlexServer,
    handler: Box<dyn Handler<SessionEvent>>,
    now_playing: NowPlaying,
    delivery: Arc<Delivery>,
}

/// Lookups one input may lead to, at most (a bound, not a budget: each answers a want).
const LOOKUPS_PER_STEP: usize = 64;

impl TrackerThread {
    fn run(mut self, rx: Receiver<Input>) {
        loop {
            self.lookups();
            self.flush();
            let now = Instant::now();
            let wait = self
                .machine
                .next_deadline()
                .map_or(Duration::from_secs(3600), |at| {
                    at.saturating_duration_since(now)
                });
            match rx.recv_timeout(wait) {
                Ok(input) => {
                    self.take(input);
                    // What else has come meanwhile, before any lookup.
                    for input in rx.try_iter().take(QUEUE) {
                        self.take(input);
                    }
                }
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    self.machine.tick(Instant::now())
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
            }
            self.machine.settle();
        }
        self.machine.finish();
        self.flush();
    }

    fn take(&mut self, input: Input) {
        match input {
            Input::Playing(states, at) => {
                for n in &states {
                    self.machine.playing(n, at);
                }
            }
            Input::Connected { after_gap, at } => self.machine.connected(after_gap, at),
            Input::Disconnected => self.machine.disconnected(),
        }
    }

    /// Makes the lookups the machine wants now, and feeds it their answers.
    fn lookups(&mut self) {
        let stop = self.delivery.stop().stop.clone();
        for _ in 0..LOOKUPS_PER_STEP {
            if stop.is_stopped() {
                return;
            }
            let now = Instant::now();
            let Some(want) = self.machine.want(now) else {
                return;
            };
            match want {
                Want::Sessions => {
                    let answer = self.plex.sessions_until(&stop);
                    self.machine.sessions(answer, Instant::now());
                }
                Want::Identity => {
                    let answer = self.plex.identity_until(&stop);
                    self.machine.identity(answer, Instant::now());
                }
                Want::Metadata(key) => {
                    let answer = self.plex.metadata_until(&key, &stop);
                    self.machine.metadata(&key, answer);
                }
            }
            self.machine.settle();
        }
    }

    /// Hands what happened to the app, and keeps `now_playing` up to date.
    fn flush(&mut self) {
        // Published first: an app that reads them on an event sees them up to date.
        self.now_playing.set_stats(&self.machine.stats);
        let stopping = self.delivery.stop().is_stopped();
        for out in std::mem::take(&mut self.machine.out) {
            match out {
                Out::Event { key, event } => {
                    let ended = matches!(event, SessionEvent::Stopped { .. });
                    self.now_playing
                        .set(&key, (!ended).then(|| event.session()));
                    deliver(self.handler.as_mut(), event, &self.delivery);
                }
                // A lookup a stop interrupted is no news.
                Out::Error(_) if stopping => {}
                Out::Error(e) => {
                    let _ = self.delivery.report(e);
                }
            }
        }
    }
}
