//! Trackers: each runs on a thread of its own, fed by a listener's thread, which never
//! waits for it. The listener hands a tracker what it needs through a queue of bounded
//! length; when the tracker falls that far behind, the listener drops what it would add
//! and tells the tracker once, which resyncs from REST as after a disconnect. Connection
//! states are never dropped. Each tracker's rules are a state machine with no I/O
//! ([`Rules`]); this module is what runs one, and the handle an app holds.

pub(crate) mod library;
pub(crate) mod sessions;

use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::stop::{Stop, StopHandle, lock};
use crate::worker::Tap;
use crate::{AlertListener, ConnectionState, Error, Event, Handler, PlexServer};

pub use library::{LibraryTracker, LibraryTrackerBuilder};
pub use sessions::{SessionTracker, SessionTrackerBuilder};

/// Alerts (and errors) waiting for a tracker's thread, at most: past this, the listener
/// drops what it would add, and the tracker resyncs.
pub(crate) const QUEUE: usize = 8192;

/// Lookups one input may lead to, at most (a bound, not a budget: each answers a want).
const LOOKUPS_PER_STEP: usize = 64;

/// How long a round of lookups goes on before what has come meanwhile is taken.
const ROUND: Duration = Duration::from_millis(250);

pub(crate) use crate::handler::Said;

/// A tracker's rules: fed inputs, the time and the answers of the lookups it wants; it
/// says what happened. No I/O, no clock of its own.
pub(crate) trait Rules: Send + 'static {
    type Input: Send + 'static;
    type Event: Send + 'static;
    type Want: Send;
    type Answer;

    /// The input, if any, an event of the listener's carries for these rules.
    fn input(event: &Event) -> Option<Self::Input>;
    fn take(&mut self, input: Self::Input);
    /// It fell behind the listener and inputs were dropped: a gap, to resync.
    fn overflowed(&mut self);
    fn tick(&mut self, now: Instant);
    /// What it wants read now, if anything.
    fn want(&self, now: Instant) -> Option<Self::Want>;
    /// Reads it (on the tracker's thread; every step ends at once on `stop`).
    fn fetch(plex: &PlexServer, want: &Self::Want, stop: &Stop) -> Self::Answer;
    fn answer(&mut self, want: Self::Want, answer: Self::Answer, now: Instant);
    /// When it next has something to do without new input.
    fn next_deadline(&self) -> Option<Instant>;
    /// Whether its first sync is done (read, or given up on).
    fn synced(&self) -> bool;
    /// The tracker stops: what it owes.
    fn finish(&mut self);
    /// What it said since the last call.
    fn drain(&mut self) -> Vec<Said<Self::Event>>;
}

/// What a tracker's thread is fed.
enum Feed<I> {
    /// An input; true if it counts against the queue's bound (an alert's, not a state's).
    Input(I, bool),
    /// Inputs were dropped: the tracker fell behind.
    Overflowed,
    /// The listener's own error or state, for a tracker on a listener of its own.
    Error(Error),
    State(ConnectionState),
}

type Callback<T> = Box<dyn FnMut(T) + Send>;

/// What a tracker's handle, its thread and its place on the listener share.
pub(crate) struct Core {
    stop: Stop,
    synced: Mutex<bool>,
    synced_changed: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// A tracker started on a listener of its own owns it.
    listener: Mutex<Option<AlertListener>>,
    /// Why it ended by itself (a bug in its rules), for `join`.
    ended_by: Mutex<Option<Error>>,
}

impl Core {
    fn new() -> Arc<Core> {
        Arc::new(Core {
            stop: Stop::new(),
            synced: Mutex::new(false),
            synced_changed: Condvar::new(),
            thread: Mutex::new(None),
            listener: Mutex::new(None),
            ended_by: Mutex::new(None),
        })
    }

    fn set_synced(&self) {
        let mut synced = lock(&self.synced);
        if !*synced {
            *synced = true;
            self.synced_changed.notify_all();
        }
    }

    /// Ends the tracker (and a listener of its own) and waits for its thread.
    fn stop(&self) {
        self.stop.stop();
        self.synced_changed.notify_all();
        if let Some(listener) = lock(&self.listener).take() {
            listener.stop();
        }
        self.join_thread();
    }

    fn join_thread(&self) {
        let thread = lock(&self.thread).take();
        if let Some(thread) = thread {
            if thread.thread().id() != thread::current().id() && thread.join().is_err() {
                *lock(&self.ended_by) = Some(Error::Internal {
                    message: "a tracker's thread panicked".into(),
                });
            }
        }
    }
}

/// What both tracker handles do: wait for the first sync, stop, join.
pub(crate) struct Handle {
    core: Arc<Core>,
}

impl Handle {
    pub fn wait_synced(&self, timeout: Duration) -> bool {
        let synced = lock(&self.core.synced);
        let (synced, _) = self
            .core
            .synced_changed
            .wait_timeout_while(synced, timeout, |synced| {
                !*synced && !self.core.stop.is_stopped()
            })
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *synced
    }

    pub fn stop(&self) {
        self.core.stop();
    }

    pub fn join(&self) -> Result<(), Error> {
        let listener = lock(&self.core.listener).take();
        let ended = listener.map_or(Ok(()), AlertListener::join);
        self.core.join_thread();
        match lock(&self.core.ended_by).take() {
            Some(error) => Err(error),
            None => ended,
        }
    }

    pub fn is_running(&self) -> bool {
        lock(&self.core.thread)
            .as_ref()
            .is_some_and(|t| !t.is_finished())
    }

    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            stop: self.core.stop.clone(),
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.core.stop();
    }
}

/// What every tracker builder has beside its rules' options: the server, the lookups'
/// timeout, where its errors (and, on a listener of its own, its states) go.
pub(crate) struct Common {
    pub plex: PlexServer,
    pub lookup_timeout: Duration,
    pub on_error: Option<Callback<Error>>,
    pub on_state: Option<Callback<ConnectionState>>,
}

impl Common {
    pub fn new(plex: &PlexServer) -> Common {
        Common {
            plex: plex.clone(),
            lookup_timeout: Duration::from_secs(5),
            on_error: None,
            on_state: None,
        }
    }

    /// Every duration a tracker is given: more than zero, at most a day (longer would
    /// overflow the clock, and means "never" better said otherwise).
    pub fn check_durations(what: &str, durations: &[Duration]) -> Result<(), Error> {
        let day = Duration::from_secs(86_400);
        match durations.iter().all(|d| !d.is_zero() && *d <= day) {
            true => Ok(()),
            false => Err(Error::config(format!(
                "the {what} tracker's durations must be more than zero and at most a day"
            ))),
        }
    }

    /// Puts a tracker with these `rules` on `listener`, fed the notifications it `needs`,
    /// its events to `handler` (none: they are dropped); its thread starts with the
    /// listener. `own`: the listener is the tracker's own, whose errors and states go to
    /// the tracker's callbacks.
    pub fn attach<R: Rules>(
        self,
        listener: &mut crate::Builder,
        needs: &'static [&'static str],
        check: Result<(), Error>,
        rules: R,
        handler: Option<Box<dyn Handler<R::Event>>>,
        own: bool,
    ) -> Handle {
        let core = Core::new();
        let runner = Runner {
            rules,
            plex: self.plex.for_lookups(self.lookup_timeout),
            handler: handler.unwrap_or_else(|| Box::new(|_: R::Event| {})),
            on_error: self.on_error,
            on_state: self.on_state,
            core: Arc::clone(&core),
            queued: Arc::new(AtomicUsize::new(0)),
            said: Vec::new(),
        };
        listener.taps.push(Box::new(Feeder {
            needs,
            check,
            queued: Arc::clone(&runner.queued),
            runner: Some(runner),
            tx: None,
            overflowed: false,
            own,
            core: Arc::clone(&core),
        }));
        Handle { core }
    }

    /// Starts a tracker on a listener of its own: the server's, with no handler of its
    /// own (its errors and states reach the tracker's callbacks, on the tracker's thread).
    pub fn start<R: Rules>(
        self,
        needs: &'static [&'static str],
        check: Result<(), Error>,
        rules: R,
        handler: Option<Box<dyn Handler<R::Event>>>,
    ) -> Result<Handle, Error> {
        check.clone()?;
        let mut listener = self.plex.alert_listener().handler(|_: Event| {});
        let handle = self.attach(&mut listener, needs, check, rules, handler, true);
        let listener = listener.start()?;
        *lock(&handle.core.listener) = Some(listener);
        Ok(handle)
    }
}

/// A tracker, as its listener sees it: a [`Tap`] that feeds its thread and never waits.
struct Feeder<R: Rules> {
    needs: &'static [&'static str],
    /// Problems with the options, reported by the listener's start().
    check: Result<(), Error>,
    runner: Option<Runner<R>>,
    tx: Option<Sender<Feed<R::Input>>>,
    /// Alerts and errors sent and not yet taken by the tracker's thread.
    queued: Arc<AtomicUsize>,
    /// It fell behind, and was told: nothing more is said until it has caught up to half.
    overflowed: bool,
    own: bool,
    core: Arc<Core>,
}

impl<R: Rules> Tap for Feeder<R> {
    fn needs(&self) -> &'static [&'static str] {
        self.needs
    }

    fn start(&mut self) -> Result<(), Error> {
        self.check.clone()?;
        let runner = self.runner.take().expect("started once");
        let (tx, rx) = crossbeam_channel::unbounded();
        let thread = thread::Builder::new()
            .name("plex-alerts-tracker".into())
            .spawn(move || runner.run(rx))
            .map_err(|e| Error::config(format!("could not start a tracker's thread: {e}")))?;
        *lock(&self.core.thread) = Some(thread);
        self.tx = Some(tx);
        Ok(())
    }

    fn see(&mut self, event: &Event) {
        if self.core.stop.is_stopped() {
            self.tx = None;
        }
        let Some(tx) = &self.tx else {
            return;
        };
        if let Event::State(state) = event {
            // Never dropped: few, and what a resync hangs on.
            if self.own {
                let _ = tx.send(Feed::State(state.clone()));
            }
            if let Some(input) = R::input(event) {
                let _ = tx.send(Feed::Input(input, false));
            }
            return;
        }
        let feed = match event {
            Event::Error(e) if self.own => Feed::Error(e.clone()),
            _ => match R::input(event) {
                Some(input) => Feed::Input(input, true),
                None => return,
            },
        };
        let queued = self.queued.load(Ordering::Acquire);
        if queued >= QUEUE {
            if !std::mem::replace(&mut self.overflowed, true) {
                let _ = tx.send(Feed::Overflowed);
            }
            return;
        }
        if queued < QUEUE / 2 {
            self.overflowed = false;
        }
        self.queued.fetch_add(1, Ordering::AcqRel);
        let _ = tx.send(feed);
    }

    fn finish(&mut self) {
        self.tx = None;
        // What is queued is taken, what it owes said; no lookup is made any more.
        self.core.stop.stop();
        self.core.synced_changed.notify_all();
        self.core.join_thread();
    }
}

/// A tracker's thread.
struct Runner<R: Rules> {
    rules: R,
    plex: PlexServer,
    handler: Box<dyn Handler<R::Event>>,
    on_error: Option<Callback<Error>>,
    on_state: Option<Callback<ConnectionState>>,
    core: Arc<Core>,
    queued: Arc<AtomicUsize>,
    /// What the rules said, not yet handed on; each error marked told or not.
    said: Vec<(Said<R::Event>, bool)>,
}

impl<R: Rules> Runner<R> {
    fn run(mut self, rx: Receiver<Feed<R::Input>>) {
        let stop = self.core.stop.clone();
        // A bug in the rules ends the tracker, said; the listener goes on.
        let ran = catch_unwind(AssertUnwindSafe(|| self.work(&rx, &stop)));
        if let Err(panic) = ran {
            let message = crate::worker::panic_message(&*panic);
            let error = Error::Internal {
                message: format!("a tracker's thread panicked ({message}); it ended"),
            };
            *lock(&self.core.ended_by) = Some(error.clone());
            self.report(error);
            stop.stop();
        }
        self.core.synced_changed.notify_all();
    }

    fn work(&mut self, rx: &Receiver<Feed<R::Input>>, stop: &Stop) {
        while !stop.is_stopped() {
            let more = self.lookups(stop);
            self.flush();
            let now = Instant::now();
            let wait = match (more, self.rules.next_deadline()) {
                // Lookups left over from the bound: new input first, then those.
                (true, _) => Duration::ZERO,
                (false, Some(at)) => at.saturating_duration_since(now),
                (false, None) => Duration::from_secs(3600),
            };
            crossbeam_channel::select! {
                recv(rx) -> feed => match feed {
                    Ok(feed) => {
                        self.take(feed);
                        // What else has come meanwhile, before any lookup: one read then
                        // serves everything that arrived together.
                        for feed in rx.try_iter().take(QUEUE) {
                            self.take(feed);
                        }
                        // Input that never stops coming does not hold back what is due.
                        let now = Instant::now();
                        if self.rules.next_deadline().is_some_and(|at| at <= now) {
                            self.rules.tick(now);
                        }
                    }
                    Err(_) => break,
                },
                recv(stop.woken()) -> _ => break,
                default(wait) => self.rules.tick(Instant::now()),
            }
        }
        // What is queued still counts; no lookup is made any more.
        for feed in rx.try_iter().take(QUEUE * 2) {
            self.take(feed);
        }
        self.rules.finish();
        self.flush();
    }

    fn take(&mut self, feed: Feed<R::Input>) {
        match feed {
            Feed::Input(input, counted) => {
                if counted {
                    self.taken();
                }
                self.rules.take(input);
            }
            Feed::Overflowed => self.rules.overflowed(),
            Feed::Error(error) => {
                self.taken();
                // The listener's own, as it was before its delivery redacts it.
                let error = self.plex.redact(error);
                self.report(error);
            }
            Feed::State(state) => match &mut self.on_state {
                Some(f) => {
                    if catch_unwind(AssertUnwindSafe(|| f(state))).is_err() {
                        self.report(Error::CallbackPanicked {
                            message: "on_state".into(),
                        });
                    }
                }
                None => log::debug!("plex-alerts: {state}"),
            },
        }
    }

    /// One of the inputs the listener counted is taken.
    fn taken(&self) {
        let _ = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }

    /// Makes the lookups the rules want now (at most [`LOOKUPS_PER_STEP`], for at most
    /// [`ROUND`]: what has come meanwhile is taken between rounds), feeds them their
    /// answers, and hands on what each led to at once. True if more are wanted still.
    fn lookups(&mut self, stop: &Stop) -> bool {
        let started = Instant::now();
        for _ in 0..LOOKUPS_PER_STEP {
            if stop.is_stopped() {
                return false;
            }
            let Some(want) = self.rules.want(Instant::now()) else {
                return false;
            };
            let answer = R::fetch(&self.plex, &want, stop);
            self.rules.answer(want, answer, Instant::now());
            // Each lookup's events and errors go out as they happen (a lookup may wait
            // seconds for a server that asked to): an error's telling is decided now,
            // within the episode it belongs to.
            self.flush();
            if started.elapsed() >= ROUND {
                break;
            }
        }
        !stop.is_stopped() && self.rules.want(Instant::now()).is_some()
    }

    /// Takes what the rules said, each error marked told or not: a failing server once
    /// per episode.
    fn take_said(&mut self) {
        for said in self.rules.drain() {
            let tell = match &said {
                Said::Error(e) => self.plex.policy().tell(e),
                Said::Event(_) => true,
            };
            self.said.push((said, tell));
        }
    }

    /// Hands what was said to the app: events to its handler, errors to its error
    /// callback.
    fn flush(&mut self) {
        self.take_said();
        let stopping = self.core.stop.is_stopped();
        for (said, tell) in std::mem::take(&mut self.said) {
            match said {
                Said::Event(event) => self.deliver(event),
                // A lookup a stop interrupted is no news.
                Said::Error(_) if stopping => {}
                Said::Error(e) if tell => self.report(e),
                Said::Error(_) => {}
            }
        }
        if self.rules.synced() {
            self.core.set_synced();
        }
    }

    /// Hands an event to the app's handler: a panic there is caught and reported; a
    /// handler that is gone (its channel's receiver dropped) ends the tracker.
    fn deliver(&mut self, event: R::Event) {
        let stop = StopHandle {
            stop: self.core.stop.clone(),
        };
        match catch_unwind(AssertUnwindSafe(|| self.handler.handle(event, &stop))) {
            Ok(ControlFlow::Continue(())) => {}
            Ok(ControlFlow::Break(())) => {
                self.core.stop.stop();
                if let Some(listener) = lock(&self.core.listener).as_ref() {
                    listener.stop_handle().stop();
                }
            }
            Err(panic) => self.report(Error::CallbackPanicked {
                message: crate::worker::panic_message(&*panic),
            }),
        }
    }

    /// An error to the app's error callback (or the log). What comes from a lookup is
    /// redacted already; what comes from the listener is redacted before it comes here.
    fn report(&mut self, error: Error) {
        match &mut self.on_error {
            Some(f) => {
                if let Err(panic) = catch_unwind(AssertUnwindSafe(|| f(error))) {
                    log::error!(
                        "plex-alerts: a tracker's callback_error panicked: {}",
                        crate::worker::panic_message(&*panic)
                    );
                }
            }
            None => log::warn!("plex-alerts: {}", error.summary()),
        }
    }
}
