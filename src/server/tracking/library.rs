//! The library tracker: its builder, its handle, and the [`Rules`] that feed its
//! [`Machine`] and read what it asks for.

use std::fmt;
use std::time::{Duration, Instant};

use super::{Common, Handle, Rules, Said};
use crate::library::LibraryView;
use crate::library::machine::{Machine, Options, RECENT_LIMIT, Want};
use crate::listener::Builder;
use crate::server::Items;
use crate::stop::{Stop, StopHandle};
use crate::{
    Activity, ActivityNotification, ConnectionState, Error, Event, Handler, LibraryEvent,
    LibraryStats, Metadata, Notification, PlexServer, StatusNotification, TimelineEntry,
};

/// Configures a library tracker: made by [`PlexServer::library_tracker`].
///
/// Give it a [`handler`](Self::handler) (a closure taking a [`LibraryEvent`], or a
/// channel sender of them), then [`start`](Self::start) it on a listener of its own, or
/// [`attach`](Self::attach) it to a listener you configure, beside your raw alerts and
/// the session tracker, on one connection.
///
/// ```
/// # fn main() -> Result<(), plex_alerts::Error> {
/// # let mock = plex_alerts::mock::MockServer::start();
/// # let plex = plex_alerts::PlexServer::connect(mock.url(), mock.token())?;
/// use std::time::Duration;
/// use plex_alerts::LibraryEvent;
///
/// let tracker = plex
///     .library_tracker()
///     .group_within(Duration::from_secs(60)) // a season's episodes as one event
///     .handler(|event: LibraryEvent| println!("{event}"))
///     .start()?;
/// # tracker.stop();
/// # Ok(())
/// # }
/// ```
#[must_use = "a tracker does nothing until it is started or attached"]
pub struct LibraryTrackerBuilder {
    common: Common,
    opts: Options,
    handler: Option<Box<dyn Handler<LibraryEvent>>>,
}

impl fmt::Debug for LibraryTrackerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LibraryTrackerBuilder")
            .field("quiet_period", &self.opts.quiet_period)
            .field("group_within", &self.opts.group_within)
            .field("lookup_timeout", &self.common.lookup_timeout)
            .finish_non_exhaustive()
    }
}

impl LibraryTrackerBuilder {
    pub(crate) fn new(plex: &PlexServer) -> LibraryTrackerBuilder {
        LibraryTrackerBuilder {
            common: Common::new(plex),
            opts: Options::default(),
            handler: None,
        }
    }

    /// Where its [`LibraryEvent`]s go: a closure taking one, a channel sender of them, or
    /// a [`Handler`] of your own. Called on the tracker's own thread.
    pub fn handler(mut self, handler: impl Handler<LibraryEvent>) -> Self {
        self.handler = Some(Box::new(handler));
        self
    }

    /// The tracker's errors (a lookup that failed; a server failing is told once per
    /// episode), on the tracker's thread; on a listener of its own
    /// ([`start`](Self::start)), that listener's errors too. Without it they go to the
    /// log at warn level. An attached tracker's errors never reach the listener's
    /// callbacks, nor take its lock.
    pub fn callback_error(mut self, f: impl FnMut(Error) + Send + 'static) -> Self {
        self.common.on_error = Some(Box::new(f));
        self
    }

    /// On a listener of its own ([`start`](Self::start)): its connection's state
    /// changes, on the tracker's thread.
    pub fn on_state(mut self, f: impl FnMut(ConnectionState) + Send + 'static) -> Self {
        self.common.on_state = Some(Box::new(f));
        self
    }

    /// An item whose processing never ends (a section without a metadata agent stops at
    /// state 1) is added after this much quiet. Default 30 s.
    pub fn quiet_period(mut self, quiet: Duration) -> Self {
        self.opts.quiet_period = quiet;
        self
    }

    /// Episodes of one show, or tracks of one album, added within `within` of each other
    /// come as one [`LibraryEvent::ItemsAdded`] once `within` has passed without another
    /// (a group of one too: with grouping, episodes and tracks always come grouped).
    /// Default: one [`LibraryEvent::ItemAdded`] per item, as soon as it is ready.
    pub fn group_within(mut self, within: Duration) -> Self {
        self.opts.group_within = Some(within);
        self
    }

    /// How many items may be pending (seen, not yet announced), and how many announced
    /// ones are remembered, at most. Default 10,000 each.
    pub fn max_items(mut self, max: usize) -> Self {
        self.opts.max_pending = max;
        self.opts.max_remembered = max;
        self
    }

    /// The longest each lookup may take, in all (its wait for the server's request
    /// policy, connect, TLS, the answer). Default 5 s.
    pub fn lookup_timeout(mut self, timeout: Duration) -> Self {
        self.common.lookup_timeout = timeout;
        self
    }

    /// Starts it on a listener of its own (the server's URL, token, TLS and client).
    pub fn start(self) -> Result<LibraryTracker, Error> {
        let (rules, view) = self.rules();
        let check = self.check();
        let handle = self.common.start(NEEDS, check, rules, self.handler)?;
        Ok(LibraryTracker { handle, view })
    }

    /// Attaches it to a listener you configure, to start with it: its events go to its
    /// handler on its own thread, while the listener's callbacks still get the raw
    /// alerts, errors and states. The listener asks the server for `timeline`,
    /// `activity` and `status` notifications if its filters left them out (your
    /// callbacks still see only what the filters admit). The listener never waits for
    /// the tracker.
    pub fn attach(self, listener: &mut Builder) -> LibraryTracker {
        let (rules, view) = self.rules();
        let check = self.check();
        let handle = self
            .common
            .attach(listener, NEEDS, check, rules, self.handler, false);
        LibraryTracker { handle, view }
    }

    fn rules(&self) -> (LibraryRules, LibraryView) {
        let view = LibraryView::default();
        let rules = LibraryRules {
            machine: Machine::new(self.opts.clone()),
            view: view.clone(),
        };
        (rules, view)
    }

    fn check(&self) -> Result<(), Error> {
        let mut durations = vec![self.opts.quiet_period, self.common.lookup_timeout];
        durations.extend(self.opts.group_within);
        Common::check_durations("library", &durations)?;
        match self.opts.max_pending {
            0 => Err(Error::config("the library tracker needs room for one item")),
            _ => Ok(()),
        }
    }
}

/// The notifications a library tracker needs.
const NEEDS: &[&str] = &["timeline", "activity", "status"];

/// A library tracker, running: its counters, and its end. Made by
/// [`LibraryTrackerBuilder::start`] (or [`PlexServer::track_library`]) on a listener of
/// its own, or [`LibraryTrackerBuilder::attach`] on yours.
///
/// Dropping it stops it (and a listener of its own), as [`stop`](Self::stop) does.
pub struct LibraryTracker {
    handle: Handle,
    view: LibraryView,
}

impl LibraryTracker {
    /// Its counters: its state now (items pending and remembered, which stay within its
    /// bounds), what it announced, read, dropped, and the times it fell behind.
    pub fn stats(&self) -> LibraryStats {
        self.view.stats()
    }

    /// Waits up to `timeout` for its first sync (`/activities` and what the library held
    /// when it started, read or given up on): from then on, what is added is news. False
    /// if it did not come in time.
    pub fn wait_synced(&self, timeout: Duration) -> bool {
        self.handle.wait_synced(timeout)
    }

    /// Stops it (and a listener of its own), and waits for its thread to end; items held
    /// for grouping are announced first. A lookup under way is interrupted.
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

impl fmt::Debug for LibraryTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LibraryTracker")
            .field("running", &self.is_running())
            .finish_non_exhaustive()
    }
}

/// What the listener's thread hands the library tracker's.
pub(crate) enum Input {
    Timeline(Vec<TimelineEntry>, Instant),
    Activity(Vec<ActivityNotification>, Instant),
    Status(Vec<StatusNotification>, Instant),
    Connected { after_gap: bool },
    Disconnected,
}

/// The answer to a [`Want`].
pub(crate) enum Answer {
    Metadata(Box<Result<Option<Metadata>, Error>>),
    Activities(Result<Items<Activity>, Error>),
    RecentlyAdded(Result<Items<Metadata>, Error>),
    Children(Result<Items<Metadata>, Error>),
}

/// An answer's items, its elements that were no items counted.
fn counted<T>(stats: &mut LibraryStats, answer: Result<Items<T>, Error>) -> Result<Vec<T>, Error> {
    answer.map(|items| {
        stats.skipped += items.skipped as u64;
        items.items
    })
}

/// An answer, its items counted out.
enum Read {
    Metadata(Box<Result<Option<Metadata>, Error>>),
    Activities(Result<Vec<Activity>, Error>),
    RecentlyAdded(Result<Vec<Metadata>, Error>),
    Children(Result<Vec<Metadata>, Error>),
}

pub(crate) struct LibraryRules {
    machine: Machine,
    view: LibraryView,
}

impl Rules for LibraryRules {
    type Input = Input;
    type Event = LibraryEvent;
    type Want = Want;
    type Answer = Answer;

    fn input(event: &Event) -> Option<Input> {
        let now = Instant::now();
        Some(match event {
            Event::Alert(alert) => match alert.notification() {
                Notification::Timeline(t) => Input::Timeline(t.clone(), now),
                Notification::Activity(a) => Input::Activity(a.clone(), now),
                Notification::Status(s) => Input::Status(s.clone(), now),
                _ => return None,
            },
            Event::State(ConnectionState::Connected { outage }) => Input::Connected {
                after_gap: outage.is_some(),
            },
            Event::State(ConnectionState::Disconnected { .. }) => Input::Disconnected,
            _ => return None,
        })
    }

    fn take(&mut self, input: Input) {
        match input {
            Input::Timeline(entries, at) => {
                for e in &entries {
                    self.machine.timeline(e, at);
                }
            }
            Input::Activity(activities, at) => {
                for a in &activities {
                    self.machine.activity(a, at);
                }
            }
            Input::Status(statuses, at) => {
                for s in &statuses {
                    self.machine.status(s, at);
                }
            }
            Input::Connected { after_gap } => self.machine.connected(after_gap),
            Input::Disconnected => self.machine.disconnected(),
        }
    }

    fn overflowed(&mut self) {
        self.machine.stats.overflows += 1;
        self.machine.disconnected();
        self.machine.connected(true);
    }

    fn tick(&mut self, now: Instant) {
        self.machine.tick(now);
    }

    fn want(&self, now: Instant) -> Option<Want> {
        self.machine.want(now)
    }

    fn fetch(plex: &PlexServer, want: &Want, stop: &Stop) -> Answer {
        match want {
            Want::Metadata(key) => Answer::Metadata(Box::new(plex.metadata_until(key, stop))),
            Want::Activities | Want::ScanSections => {
                Answer::Activities(plex.activities_until(stop))
            }
            Want::RecentlyAdded => {
                Answer::RecentlyAdded(plex.recently_added_until(RECENT_LIMIT, stop))
            }
            Want::Children(key) => Answer::Children(plex.children_until(key, stop)),
        }
    }

    fn answer(&mut self, want: Want, answer: Answer, now: Instant) {
        let stats = &mut self.machine.stats;
        let answer = match answer {
            Answer::Activities(a) => Read::Activities(counted(stats, a)),
            Answer::RecentlyAdded(a) => Read::RecentlyAdded(counted(stats, a)),
            Answer::Children(a) => Read::Children(counted(stats, a)),
            Answer::Metadata(a) => Read::Metadata(a),
        };
        match (want, answer) {
            (Want::Metadata(key), Read::Metadata(a)) => self.machine.metadata(&key, *a, now),
            (Want::ScanSections, Read::Activities(a)) => self.machine.scan_sections(a),
            (_, Read::Activities(a)) => self.machine.activities(a, now),
            (_, Read::RecentlyAdded(a)) => self.machine.recently_added(a, now),
            (_, Read::Children(a)) => self.machine.children(a, now),
            (_, Read::Metadata(_)) => {}
        }
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

    fn drain(&mut self) -> Vec<Said<LibraryEvent>> {
        let said = self.machine.drain();
        self.view.set(&self.machine.stats);
        said
    }
}
