//! Trackers on a listener: each runs on a thread of its own, fed by the listener's thread
//! through a bounded queue, and makes its lookups there, so the listener never waits
//! for the server's answers (only, when the queue is full, for room in it; never past a
//! stop). The rules of each tracker are a state machine with no I/O ([`Rules`]); this
//! module is what runs one.

pub(crate) mod library;
pub(crate) mod sessions;

use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};

use crate::stop::{Stop, StopHandle};
use crate::worker::{Delivery, Tap};
use crate::{Error, Event, Handler, PlexServer};

pub use library::LibraryTrackerBuilder;
pub use sessions::SessionTrackerBuilder;

/// Inputs waiting for a tracker's thread, at most: a burst this long waits for room.
const QUEUE: usize = 1024;

/// Lookups one input may lead to, at most (a bound, not a budget: each answers a want).
const LOOKUPS_PER_STEP: usize = 64;

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
    fn tick(&mut self, now: Instant);
    /// What it wants read now, if anything.
    fn want(&self, now: Instant) -> Option<Self::Want>;
    /// Reads it (on the tracker's thread; every step ends at once on `stop`).
    fn fetch(plex: &PlexServer, want: &Self::Want, stop: &Stop) -> Self::Answer;
    fn answer(&mut self, want: Self::Want, answer: Self::Answer, now: Instant);
    /// When it next has something to do without new input.
    fn next_deadline(&self) -> Option<Instant>;
    /// The tracker stops: what it owes.
    fn finish(&mut self);
    /// What it said since the last call.
    fn drain(&mut self) -> Vec<Said<Self::Event>>;
}

/// What a tracker's thread starts with: its rules, its server, the app's handler.
type Start<R> = (R, PlexServer, Box<dyn Handler<<R as Rules>::Event>>);

/// A tracker on a listener: the [`Tap`] its listener feeds, and its thread.
pub(crate) struct Tracker<R: Rules> {
    needs: &'static [&'static str],
    /// Problems with the options, reported by the listener's start().
    check: Result<(), Error>,
    start: Option<Start<R>>,
    tx: Option<Sender<R::Input>>,
    thread: Option<JoinHandle<()>>,
}

impl<R: Rules> Tracker<R> {
    pub fn new(
        needs: &'static [&'static str],
        check: Result<(), Error>,
        rules: R,
        plex: PlexServer,
        handler: Box<dyn Handler<R::Event>>,
    ) -> Tracker<R> {
        Tracker {
            needs,
            check,
            start: Some((rules, plex, handler)),
            tx: None,
            thread: None,
        }
    }
}

impl<R: Rules> Tap for Tracker<R> {
    fn needs(&self) -> &'static [&'static str] {
        self.needs
    }

    fn start(&mut self, delivery: Arc<Delivery>) -> Result<(), Error> {
        self.check.clone()?;
        let (rules, plex, handler) = self.start.take().expect("started once");
        let (tx, rx) = crossbeam_channel::bounded(QUEUE);
        let reporter = Arc::clone(&delivery);
        let run = Runner {
            rules,
            plex,
            handler,
            delivery,
        };
        let thread = thread::Builder::new()
            .name("plex-alerts-tracker".into())
            .spawn(move || {
                // A bug in the rules ends the tracker, said; the listener goes on.
                let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run.run(rx)));
                if let Err(panic) = ran {
                    let message = crate::worker::panic_message(&*panic);
                    let _ = reporter.report(Error::Internal {
                        message: format!("a tracker's thread panicked ({message}); it ended"),
                    });
                }
            })
            .map_err(|e| Error::config(format!("could not start a tracker's thread: {e}")))?;
        self.tx = Some(tx);
        self.thread = Some(thread);
        Ok(())
    }

    fn see(&mut self, event: &Event, stop: &StopHandle) {
        if let (Some(tx), Some(input)) = (&self.tx, R::input(event)) {
            feed(tx, input, stop);
        }
    }

    fn finish(&mut self) {
        self.tx.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Sends `item` to a tracker's thread, waiting for room, but never past a stop.
fn feed<T>(tx: &Sender<T>, item: T, stop: &StopHandle) {
    let item = match tx.try_send(item) {
        Ok(()) | Err(TrySendError::Disconnected(_)) => return,
        Err(TrySendError::Full(item)) => item,
    };
    crossbeam_channel::select! {
        send(tx, item) -> _ => {},
        recv(stop.stop.woken()) -> _ => {},
    }
}

/// A tracker's thread.
struct Runner<R: Rules> {
    rules: R,
    plex: PlexServer,
    handler: Box<dyn Handler<R::Event>>,
    delivery: Arc<Delivery>,
}

impl<R: Rules> Runner<R> {
    fn run(mut self, rx: Receiver<R::Input>) {
        loop {
            let more = self.lookups();
            self.flush();
            let now = Instant::now();
            let wait = match (more, self.rules.next_deadline()) {
                // Lookups left over from the bound: new input first, then those.
                (true, _) => Duration::ZERO,
                (false, Some(at)) => at.saturating_duration_since(now),
                (false, None) => Duration::from_secs(3600),
            };
            match rx.recv_timeout(wait) {
                Ok(input) => {
                    self.rules.take(input);
                    // What else has come meanwhile, before any lookup: one read then
                    // serves everything that arrived together.
                    for input in rx.try_iter().take(QUEUE) {
                        self.rules.take(input);
                    }
                    // Input that never stops coming does not hold back what is due.
                    let now = Instant::now();
                    if self.rules.next_deadline().is_some_and(|at| at <= now) {
                        self.rules.tick(now);
                    }
                }
                Err(RecvTimeoutError::Timeout) => self.rules.tick(Instant::now()),
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        self.rules.finish();
        self.flush();
    }

    /// Makes the lookups the rules want now (at most [`LOOKUPS_PER_STEP`]), and feeds them
    /// their answers. True if more are wanted still.
    fn lookups(&mut self) -> bool {
        let stop = self.delivery.stop().stop.clone();
        for _ in 0..LOOKUPS_PER_STEP {
            if stop.is_stopped() {
                return false;
            }
            let Some(want) = self.rules.want(Instant::now()) else {
                return false;
            };
            let answer = R::fetch(&self.plex, &want, &stop);
            self.rules.answer(want, answer, Instant::now());
        }
        !stop.is_stopped() && self.rules.want(Instant::now()).is_some()
    }

    /// Hands what was said to the app.
    fn flush(&mut self) {
        let stopping = self.delivery.stop().is_stopped();
        for said in self.rules.drain() {
            match said {
                Said::Event(event) => deliver(self.handler.as_mut(), event, &self.delivery),
                // A lookup a stop interrupted is no news.
                Said::Error(_) if stopping => {}
                Said::Error(e) => {
                    let _ = self.delivery.report(e);
                }
            }
        }
    }
}

/// Hands a tracker's event to the app's handler, on the tracker's thread: a panic there
/// is caught and reported; a handler that is gone (its channel's receiver dropped) ends
/// the listener, as the listener's own handler does.
fn deliver<T: 'static>(handler: &mut dyn Handler<T>, item: T, delivery: &Arc<Delivery>) {
    let stop = delivery.stop();
    match catch_unwind(AssertUnwindSafe(|| handler.handle(item, stop))) {
        Ok(ControlFlow::Continue(())) => {}
        Ok(ControlFlow::Break(())) => stop.stop(),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            let _ = delivery.report(Error::CallbackPanicked { message });
        }
    }
}

type Callback<T> = Box<dyn FnMut(T) + Send>;

/// What every tracker builder has beside its rules' options: the server, the lookups'
/// timeout, and the callbacks of the listener it starts.
pub(crate) struct Common {
    pub plex: PlexServer,
    pub lookup_timeout: Duration,
    pub on_error: Option<Callback<Error>>,
    pub on_state: Option<Callback<crate::ConnectionState>>,
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

    /// Puts a tracker with these `rules` on `listener`: its thread, fed the notifications
    /// it `needs`, its events to `handler`; the tracker's callbacks become the listener's.
    pub fn attach<R: Rules>(
        mut self,
        mut listener: crate::Builder,
        needs: &'static [&'static str],
        check: Result<(), Error>,
        rules: R,
        handler: Box<dyn Handler<R::Event>>,
    ) -> crate::Builder {
        if let Some(f) = self.on_error.take() {
            listener = listener.callback_error(f);
        }
        if let Some(f) = self.on_state.take() {
            listener = listener.on_state(f);
        }
        let tracker = Tracker::new(needs, check, rules, self.lookups(), handler);
        listener.taps.push(Box::new(tracker));
        listener
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

    /// The server, its requests bounded by the lookup timeout.
    pub fn lookups(&self) -> PlexServer {
        self.plex.with_timeout(self.lookup_timeout)
    }
}
