//! The library tracker: its builder, its place on a listener, and the [`Rules`] that feed
//! its [`Machine`] and read what it asks for.

use std::fmt;
use std::time::{Duration, Instant};

use super::{Common, Rules, Said};
use crate::library::LibraryView;
use crate::library::machine::{Machine, Options, RECENT_LIMIT, Want};
use crate::listener::Builder;
use crate::stop::Stop;
use crate::{
    Activity, ActivityNotification, AlertListener, ConnectionState, Error, Event, Handler,
    LibraryEvent, Metadata, Notification, PlexServer, StatusNotification, TimelineEntry,
};

/// Configures a library tracker: made by [`PlexServer::library_tracker`].
///
/// [`start`](Self::start) starts it on a listener of its own; or attach it to a listener
/// you configure ([`Builder::track_library`]), beside your raw alerts and the session
/// tracker, on one connection.
///
/// ```
/// # fn main() -> Result<(), plex_alerts::Error> {
/// # let mock = plex_alerts::mock::MockServer::start();
/// # let plex = plex_alerts::PlexServer::connect(mock.url(), mock.token())?;
/// use std::time::Duration;
/// use plex_alerts::LibraryEvent;
///
/// let listener = plex
///     .library_tracker()
///     .group_within(Duration::from_secs(60)) // a season's episodes as one event
///     .start(|event: LibraryEvent| println!("{event}"))?;
/// # listener.stop();
/// # Ok(())
/// # }
/// ```
#[must_use = "a tracker does nothing until it is started"]
pub struct LibraryTrackerBuilder {
    common: Common,
    opts: Options,
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
    /// An item whose processing never ends (a section without a metadata agent stops at
    /// state 1) is added after this much quiet. Default 30 s.
    pub fn quiet_period(mut self, quiet: Duration) -> Self {
        self.opts.quiet_period = quiet;
        self
    }

    /// Episodes of one show, or tracks of one album, added within `within` of each other
    /// come as one [`LibraryEvent::ItemsAdded`] once `within` has passed without another.
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

    /// The longest each lookup may take (each step: connect, TLS, the answer). Default 5 s.
    pub fn lookup_timeout(mut self, timeout: Duration) -> Self {
        self.common.lookup_timeout = timeout;
        self
    }

    /// Errors, the tracker's (a lookup that failed) and the listener's. Without it they
    /// go to the log at warn level.
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
    pub fn start(self, handler: impl Handler<LibraryEvent>) -> Result<AlertListener, Error> {
        let listener = self.common.plex.alert_listener();
        listener.track_library(self, handler).start()
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

impl PlexServer {
    /// Tracks the library: each item added, updated or deleted, once, and the activities
    /// (scans, refreshes), as [`LibraryEvent`]s to `handler` (a closure taking a
    /// `LibraryEvent`, or a channel sender of them), on a listener of its own.
    ///
    /// ```
    /// # fn main() -> Result<(), plex_alerts::Error> {
    /// # let mock = plex_alerts::mock::MockServer::start();
    /// # let plex = plex_alerts::PlexServer::connect(mock.url(), mock.token())?;
    /// use plex_alerts::{LibraryEvent, MediaType};
    ///
    /// let tracker = plex.track_library(|event: LibraryEvent| match event {
    ///     LibraryEvent::ItemAdded(item) if item.media_type == Some(MediaType::Episode) => {
    ///         println!("new episode: {item}");
    ///     }
    ///     LibraryEvent::ItemDeleted(item) => println!("gone: {item}"),
    ///     _ => {}
    /// })?;
    /// tracker.stop();
    /// # Ok(())
    /// # }
    /// ```
    pub fn track_library(
        &self,
        handler: impl Handler<LibraryEvent>,
    ) -> Result<AlertListener, Error> {
        self.library_tracker().start(handler)
    }

    /// A library tracker with options: see [`LibraryTrackerBuilder`].
    pub fn library_tracker(&self) -> LibraryTrackerBuilder {
        LibraryTrackerBuilder {
            common: Common::new(self),
            opts: Options::default(),
        }
    }
}

impl Builder {
    /// Attaches a library tracker ([`PlexServer::library_tracker`]) to this listener: its
    /// [`LibraryEvent`]s go to `handler`, on the tracker's own thread, while this
    /// listener's callbacks (or handler) still get the raw alerts, errors and states. A
    /// session tracker can share the connection too. The listener asks the server for
    /// `timeline`, `activity` and `status` notifications if its filters left them out
    /// (your callbacks still see only what the filters admit).
    /// [`AlertListener::library_stats`] reads its counters.
    ///
    /// The tracker's `callback_error` and `on_state`, if set, become this listener's.
    pub fn track_library(
        self,
        tracker: LibraryTrackerBuilder,
        handler: impl Handler<LibraryEvent>,
    ) -> Builder {
        let mut listener = self;
        let view = LibraryView::default();
        listener.library = Some(view.clone());
        let rules = LibraryRules {
            machine: Machine::new(tracker.opts.clone()),
            view,
        };
        let needs = &["timeline", "activity", "status"];
        let check = tracker.check();
        let handler = Box::new(handler);
        tracker
            .common
            .attach(listener, needs, check, rules, handler)
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
        match (want, answer) {
            (Want::Metadata(key), Answer::Metadata(a)) => self.machine.metadata(&key, *a, now),
            (Want::ScanSections, Answer::Activities(a)) => self.machine.scan_sections(a),
            (_, Answer::Activities(a)) => self.machine.activities(a, now),
            (_, Answer::RecentlyAdded(a)) => self.machine.recently_added(a, now),
            (_, Answer::Children(a)) => self.machine.children(a, now),
            (_, Answer::Metadata(_)) => {}
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.machine.next_deadline()
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
