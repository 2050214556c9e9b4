//! The session tracker: its builder, its handle, and the [`Rules`] that feed its
//! [`Machine`] and read what it asks for.

use std::fmt;
use std::time::{Duration, Instant};

use super::{Common, Handle, Rules, Said};
use crate::listener::Builder;
use crate::server::Items;
use crate::session::NowPlaying;
use crate::session::machine::{Machine, Options, Out, Want};
use crate::stop::{Stop, StopHandle};
use crate::{
    ConnectionState, Error, Event, Handler, MediaType, Metadata, Notification, PlaySessionState,
    PlexServer, ServerIdentity, Session, SessionEvent, SessionStats, TrackedSession,
};

/// Configures a session tracker: made by [`PlexServer::session_tracker`].
///
/// Give it a [`handler`](Self::handler) (a closure taking a [`SessionEvent`], or a
/// channel sender of them), then [`start`](Self::start) it on a listener of its own, or
/// [`attach`](Self::attach) it to a listener you configure, beside your raw alerts and
/// the library tracker, on one connection.
///
/// ```
/// # fn main() -> Result<(), plex_alerts::Error> {
/// # let mock = plex_alerts::mock::MockServer::start();
/// # let plex = plex_alerts::PlexServer::connect(mock.url(), mock.token())?;
/// use std::time::Duration;
/// use plex_alerts::{MediaType, SessionEvent};
///
/// let tracker = plex
///     .session_tracker()
///     .stale_after(Duration::from_secs(600))
///     .watched_at(MediaType::Episode, 0.9)
///     .handler(|event: SessionEvent| println!("{event}"))
///     .callback_error(|error| eprintln!("{error}"))
///     .start()?;
/// # tracker.stop();
/// # Ok(())
/// # }
/// ```
#[must_use = "a tracker does nothing until it is started or attached"]
pub struct SessionTrackerBuilder {
    common: Common,
    opts: Options,
    handler: Option<Box<dyn Handler<SessionEvent>>>,
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
    pub(crate) fn new(plex: &PlexServer) -> SessionTrackerBuilder {
        SessionTrackerBuilder {
            common: Common::new(plex),
            opts: Options::default(),
            handler: None,
        }
    }

    /// Where its [`SessionEvent`]s go: a closure taking one, a channel sender of them, or
    /// a [`Handler`] of your own. Called on the tracker's own thread. Without one, read
    /// what is playing with [`SessionTracker::now_playing`].
    pub fn handler(mut self, handler: impl Handler<SessionEvent>) -> Self {
        self.handler = Some(Box::new(handler));
        self
    }

    /// The tracker's errors (a lookup that failed, a server failing told once per
    /// episode, sessions that this token may not see, told once as
    /// [`Error::Forbidden`]), on the tracker's thread; on a listener of its own
    /// ([`start`](Self::start)), that listener's errors too. Without it they go to the
    /// log at warn level. An attached tracker's errors never reach the listener's
    /// callbacks, nor take its lock.
    pub fn callback_error(mut self, f: impl FnMut(Error) + Send + 'static) -> Self {
        self.common.on_error = Some(Box::new(f));
        self
    }

    /// On a listener of its own ([`start`](Self::start)): its connection's state
    /// changes, on the tracker's thread. (An attached tracker's listener has its own
    /// `on_state`.)
    pub fn on_state(mut self, f: impl FnMut(ConnectionState) + Send + 'static) -> Self {
        self.common.on_state = Some(Box::new(f));
        self
    }

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

    /// The longest each lookup may take, in all (its wait for the server's request
    /// policy, connect, TLS, the answer). Default 5 s.
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

    /// When the tracker stops, end every session it tracks with
    /// [`StopReason::TrackerStopped`](crate::StopReason::TrackerStopped). Default: no, a
    /// tracker stopping is not the sessions' end (a scrobbler would scrobble each time
    /// the app restarts); read [`SessionTracker::now_playing`] for the final picture.
    pub fn end_sessions_on_stop(mut self, end: bool) -> Self {
        self.opts.end_on_stop = end;
        self
    }

    /// Starts it on a listener of its own (the server's URL, token, TLS and client).
    pub fn start(self) -> Result<SessionTracker, Error> {
        let (rules, now_playing) = self.rules();
        let check = self.check();
        let handle = self.common.start(NEEDS, check, rules, self.handler)?;
        Ok(SessionTracker {
            handle,
            now_playing,
        })
    }

    /// Attaches it to a listener you configure, to start with it: its events go to its
    /// handler on its own thread, while the listener's callbacks still get the raw
    /// alerts, errors and states. The listener asks the server for `playing`
    /// notifications if its filters left them out (your callbacks still see only what
    /// the filters admit). The listener never waits for the tracker.
    ///
    /// ```
    /// # fn main() -> Result<(), plex_alerts::Error> {
    /// # let mock = plex_alerts::mock::MockServer::start();
    /// # let plex = plex_alerts::PlexServer::connect(mock.url(), mock.token())?;
    /// use plex_alerts::{Event, SessionEvent};
    ///
    /// let (tx, events) = crossbeam_channel::unbounded();
    /// let mut listener = plex.alert_listener().handler(tx); // raw alerts, errors, states
    /// let sessions = plex
    ///     .session_tracker()
    ///     .handler(|event: SessionEvent| println!("{event}"))
    ///     .attach(&mut listener);
    /// let listener = listener.start()?; // one connection for both
    /// # let _ = events.try_recv();
    /// println!("{} playing", sessions.now_playing().len());
    /// listener.stop(); // the tracker ends with its listener
    /// # Ok(())
    /// # }
    /// ```
    pub fn attach(self, listener: &mut Builder) -> SessionTracker {
        let (rules, now_playing) = self.rules();
        let check = self.check();
        let handle = self
            .common
            .attach(listener, NEEDS, check, rules, self.handler, false);
        SessionTracker {
            handle,
            now_playing,
        }
    }

    fn rules(&self) -> (SessionRules, NowPlaying) {
        let now_playing = NowPlaying::default();
        let rules = SessionRules {
            machine: Machine::new(self.opts.clone(), Instant::now()),
            now_playing: now_playing.clone(),
        };
        (rules, now_playing)
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

/// The notifications a session tracker needs.
const NEEDS: &[&str] = &["playing"];

/// A session tracker, running: what is playing now, its counters, and its end. Made by
/// [`SessionTrackerBuilder::start`] (or [`PlexServer::track_sessions`]) on a listener of
/// its own, or [`SessionTrackerBuilder::attach`] on yours.
///
/// Dropping it stops it (and a listener of its own), as [`stop`](Self::stop) does.
pub struct SessionTracker {
    handle: Handle,
    now_playing: NowPlaying,
}

impl SessionTracker {
    /// What is playing now, as the tracker knows it, without a request: every session
    /// it announced and that has not stopped, oldest first.
    pub fn now_playing(&self) -> Vec<TrackedSession> {
        self.now_playing.sessions()
    }

    /// Its counters: requests it made, notifications it could not use, times it fell
    /// behind.
    pub fn stats(&self) -> SessionStats {
        self.now_playing.stats()
    }

    /// Waits up to `timeout` for its first sync (`/status/sessions` read, or given up
    /// on): what was playing before it started is in `now_playing` then, and what starts
    /// from then on is heard. False if it did not come in time.
    pub fn wait_synced(&self, timeout: Duration) -> bool {
        self.handle.wait_synced(timeout)
    }

    /// Stops it (and a listener of its own), and waits for its thread to end. A lookup
    /// under way is interrupted. Sessions do not end because the tracker does (see
    /// [`SessionTrackerBuilder::end_sessions_on_stop`]).
    pub fn stop(self) {
        self.handle.stop();
    }

    /// A handle that stops it from any thread, including from inside its handler.
    pub fn stop_handle(&self) -> StopHandle {
        self.handle.stop_handle()
    }

    /// Waits for it to end by itself: its listener ended (`Err` with the error it did not
    /// retry, for a listener of its own), or its handler went away.
    pub fn join(self) -> Result<(), Error> {
        self.handle.join()
    }

    /// Whether its thread is running.
    pub fn is_running(&self) -> bool {
        self.handle.is_running()
    }
}

impl fmt::Debug for SessionTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionTracker")
            .field("running", &self.is_running())
            .field("playing", &self.now_playing().len())
            .finish_non_exhaustive()
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
    Sessions(Result<Items<Session>, Error>),
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

    fn overflowed(&mut self) {
        self.machine.stats.overflows += 1;
        self.machine.disconnected();
        self.machine.connected(true, Instant::now());
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
            (_, Answer::Sessions(a)) => {
                let a = a.map(|items| {
                    self.machine.stats.skipped += items.skipped as u64;
                    items.items
                });
                self.machine.sessions(a, now)
            }
            (_, Answer::Identity(a)) => self.machine.identity(a, now),
            (Want::Metadata(key), Answer::Metadata(a)) => self.machine.metadata(&key, *a, now),
            (_, Answer::Metadata(_)) => {}
        }
        self.machine.settle();
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.machine.next_deadline()
    }

    fn synced(&self) -> bool {
        self.machine.synced()
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
