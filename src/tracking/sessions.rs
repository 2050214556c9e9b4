//! The session tracker: its builder, its place on a listener, and the [`Rules`] that
//! feed its [`Machine`] and read what it asks for.

use std::fmt;
use std::time::{Duration, Instant};

use super::{Common, Rules, Said};
use crate::listener::Builder;
use crate::session::NowPlaying;
use crate::session::machine::{Machine, Options, Out, Want};
use crate::stop::Stop;
use crate::{
    AlertListener, ConnectionState, Error, Event, Handler, MediaType, Metadata, Notification,
    PlaySessionState, PlexServer, ServerIdentity, Session, SessionEvent,
};

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
    common: Common,
    opts: Options,
}

impl fmt::Debug for SessionTrackerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionTrackerBuilder")
            .field("stale_after", &self.opts.stale_after)
            .field("absence_grace", &self.opts.absence_grace)
            .field("seek_tolerance", &self.opts.seek_tolerance)
            .field("lookup_timeout", &self.common.lookup_timeout)
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
        self.common.lookup_timeout = timeout;
        self
    }

    /// Leaves transient sessions (prerolls, theme music; see
    /// [`TrackedSession::transient`](crate::TrackedSession::transient)) out entirely: no
    /// events, not in `now_playing`. Default: they come, flagged, and are never watched.
    pub fn skip_transient(mut self, skip: bool) -> Self {
        self.opts.skip_transient = skip;
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
        self.common.on_error = Some(Box::new(f));
        self
    }

    /// The connection's state changes, as [`Builder::on_state`].
    pub fn on_state(mut self, f: impl FnMut(ConnectionState) + Send + 'static) -> Self {
        self.common.on_state = Some(Box::new(f));
        self
    }

    /// Starts it on a listener of its own (the server's URL, token and TLS options).
    pub fn start(self, handler: impl Handler<SessionEvent>) -> Result<AlertListener, Error> {
        let listener = self.common.plex.alert_listener();
        listener.track_sessions(self, handler).start()
    }

    fn check(&self) -> Result<(), Error> {
        let o = &self.opts;
        let durations = [o.stale_after, o.absence_grace, self.common.lookup_timeout];
        Common::check_durations("session", &durations)?;
        if o.seek_tolerance > Duration::from_secs(86_400) {
            return Err(Error::config(
                "the session tracker's seek tolerance is at most a day",
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
            common: Common::new(self),
            opts: Options::default(),
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
        self,
        tracker: SessionTrackerBuilder,
        handler: impl Handler<SessionEvent>,
    ) -> Builder {
        let mut listener = self;
        let now_playing = NowPlaying::default();
        listener.now_playing = Some(now_playing.clone());
        let rules = SessionRules {
            machine: Machine::new(tracker.opts.clone(), Instant::now()),
            now_playing,
        };
        let check = tracker.check();
        let handler = Box::new(handler);
        tracker
            .common
            .attach(listener, &["playing"], check, rules, handler)
    }
}

/// What the listener's thread hands the session tracker's.
pub(crate) enum Input {
    Playing(Vec<PlaySessionState>, Instant),
    Connected { after_gap: bool, at: Instant },
    Disconnected,
}

/// The answer to a [`Want`].
pub(crate) enum Answer {
    Sessions(Result<Vec<Session>, Error>),
    Identity(Result<ServerIdentity, Error>),
    Metadata(Box<Result<Option<Metadata>, Error>>),
}

/// The session machine, and what is playing for the listener's handle.
pub(crate) struct SessionRules {
    machine: Machine,
    now_playing: NowPlaying,
}

impl Rules for SessionRules {
    type Input = Input;
    type Event = SessionEvent;
    type Want = Want;
    type Answer = Answer;

    fn input(event: &Event) -> Option<Input> {
        Some(match event {
            Event::Alert(alert) => match alert.notification() {
                Notification::Playing(states) => Input::Playing(states.clone(), Instant::now()),
                _ => return None,
            },
            Event::State(ConnectionState::Connected { outage }) => Input::Connected {
                after_gap: outage.is_some(),
                at: Instant::now(),
            },
            Event::State(ConnectionState::Disconnected { .. }) => Input::Disconnected,
            _ => return None,
        })
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
        self.machine.settle();
    }

    fn tick(&mut self, now: Instant) {
        self.machine.tick(now);
    }

    fn want(&self, now: Instant) -> Option<Want> {
        self.machine.want(now)
    }

    fn fetch(plex: &PlexServer, want: &Want, stop: &Stop) -> Answer {
        match want {
            Want::Sessions => Answer::Sessions(plex.sessions_until(stop)),
            Want::Identity => Answer::Identity(plex.identity_until(stop)),
            Want::Metadata(key) => Answer::Metadata(Box::new(plex.metadata_until(key, stop))),
        }
    }

    fn answer(&mut self, want: Want, answer: Answer, now: Instant) {
        match (want, answer) {
            (_, Answer::Sessions(a)) => self.machine.sessions(a, now),
            (_, Answer::Identity(a)) => self.machine.identity(a, now),
            (Want::Metadata(key), Answer::Metadata(a)) => self.machine.metadata(&key, *a, now),
            (_, Answer::Metadata(_)) => {}
        }
        self.machine.settle();
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.machine.next_deadline()
    }

    fn finish(&mut self) {
        self.machine.finish();
    }

    /// Keeps `now_playing` up to date with what it hands on; its stats first, so that an
    /// app that reads them on an event sees them current.
    fn drain(&mut self) -> Vec<Said<SessionEvent>> {
        self.now_playing.set_stats(&self.machine.stats);
        std::mem::take(&mut self.machine.out)
            .into_iter()
            .map(|out| match out {
                Out::Event { key, event, .. } => {
                    let ended = matches!(event, SessionEvent::Stopped { .. });
                    self.now_playing
                        .set(&key, (!ended).then(|| event.session()));
                    Said::Event(event)
                }
                Out::Error(e) => Said::Error(e),
            })
            .collect()
    }
}
