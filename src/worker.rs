//! The listener's thread: the one place that decides what happens next.
//!
//! One alert's way, in one direction: the [`Dialer`] opens a connection, the
//! connection yields a [`Frame`], [`alert::frame`] or [`alert::event`] turns it into an
//! [`Alert`](crate::Alert), and [`Worker::emit`] hands that to the user's handler. Every
//! error comes back here, and only here is it decided whether to report and go on,
//! reconnect, or end.

use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::config::Checked;
use crate::handler::{ConnectionState, Event, Handler, Outage};
use crate::reconnect::Backoff;
use crate::stats::Counters;
use crate::stop::{StopHandle, lock};
use crate::transport::Token;
use crate::transport::http::MAX_RETRY_AFTER;
use crate::transport::{Connection, Dialer, Frame};
use crate::{Error, Filters, alert};

/// What the listener's handle and its thread share.
pub(crate) struct Shared {
    pub stop: StopHandle,
    pub counters: Counters,
    /// Why the listener ended by itself, for [`AlertListener::join`](crate::AlertListener::join).
    pub ended_by: Mutex<Option<Error>>,
}

pub(crate) struct Worker {
    pub checked: Checked,
    pub delivery: Arc<Delivery>,
    pub shared: Arc<Shared>,
    /// The trackers attached to this listener: they see every event first.
    pub taps: Vec<Box<dyn Tap>>,
    /// When trackers widened what the server is asked for: what the app asked for, so
    /// that its handler sees only those alerts.
    pub app_filters: Option<Filters>,
}

/// What a tracker attached to a listener is to it (see the trackers' `attach`): it runs
/// a thread of its own, sees every event on the listener's thread before the app's
/// handler does, never makes it wait, and ends with the listener.
pub(crate) trait Tap: Send {
    /// Notification types it needs: the listener asks the server for them too.
    fn needs(&self) -> &'static [&'static str];
    /// Starts its thread.
    fn start(&mut self) -> Result<(), Error>;
    /// One event, on the listener's thread. Never waits.
    fn see(&mut self, event: &Event);
    /// The listener ends: the tap's thread finishes what it owes and is joined.
    fn finish(&mut self);
}

/// The app's handler, shared by the listener's thread and its trackers' threads: every
/// event and error reaches the app through here, redacted, with panics caught.
pub(crate) struct Delivery {
    handler: Mutex<Box<dyn Handler<Event>>>,
    token: Token,
    shared: Arc<Shared>,
}

/// How listening on one connection ended.
enum Ended {
    /// Stop was asked for, or the handler is gone.
    Stop,
    /// The connection failed.
    Lost(Error),
}

/// The outage in progress: since when, and how many attempts it has seen.
struct OutageClock {
    since: SystemTime,
    started: Instant,
    attempts: u32,
}

impl OutageClock {
    fn start() -> OutageClock {
        OutageClock {
            since: SystemTime::now(),
            started: Instant::now(),
            attempts: 0,
        }
    }

    fn now(&self) -> Outage {
        Outage {
            since: self.since,
            duration: self.started.elapsed(),
            attempts: self.attempts,
        }
    }
}

impl Delivery {
    pub fn new(handler: Box<dyn Handler<Event>>, token: Token, shared: Arc<Shared>) -> Delivery {
        Delivery {
            handler: Mutex::new(handler),
            token,
            shared,
        }
    }

    /// Reports an error (counted).
    pub fn report(&self, error: Error) -> ControlFlow<()> {
        Counters::count(&self.shared.counters.errors);
        self.emit(Event::Error(error))
    }

    /// Hands an event to the app's code; a panic there is caught and reported. Every
    /// error leaves through here, so the token is blanked out here, once for all.
    pub fn emit(&self, event: Event) -> ControlFlow<()> {
        let token = &self.token;
        let event = match event {
            Event::Error(e) => Event::Error(token.redact(e)),
            Event::State(ConnectionState::Disconnected {
                error,
                retry_in,
                outage,
            }) => Event::State(ConnectionState::Disconnected {
                error: token.redact(error),
                retry_in,
                outage,
            }),
            other => other,
        };
        let was_error = matches!(event, Event::Error(_));
        let stop = &self.shared.stop;
        let mut handler = lock(&self.handler);
        let panic = match catch_unwind(AssertUnwindSafe(|| handler.handle(event, stop))) {
            Ok(flow) => return flow,
            Err(panic) => panic,
        };
        let error = token.redact(Error::CallbackPanicked {
            message: panic_message(&*panic),
        });
        // The panic messages stay out of the log: the panic hook has shown them, and
        // they may quote anything, what the server sent included.
        if was_error {
            log::error!(
                "plex-alerts: callback_error panicked (the panic hook showed its message); \
                 the listener goes on"
            );
            return ControlFlow::Continue(());
        }
        Counters::count(&self.shared.counters.errors);
        match catch_unwind(AssertUnwindSafe(|| {
            handler.handle(Event::Error(error), stop)
        })) {
            Ok(flow) => flow,
            Err(_) => {
                log::error!(
                    "plex-alerts: the callback panicked, and so did callback_error (the panic \
                     hook showed their messages); the listener goes on"
                );
                ControlFlow::Continue(())
            }
        }
    }
}

impl Worker {
    pub fn run(mut self) {
        // Whatever happens in run_loop, even a bug of ours, the listener ends properly:
        // Stopped is delivered and is_running() turns false.
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| self.run_loop())) {
            let error = Error::Internal {
                message: panic_message(&*panic),
            };
            log::error!("plex-alerts: {}", error.summary());
            *lock(&self.shared.ended_by) =
                Some(self.checked.settings.connector.token.redact(error.clone()));
            // Redacted once more on its way out, from the original.
            let _ = self.report(error);
        }
        self.shared.counters.set_connected(false);
        // The trackers end first: what they owe (a Stopped for each session) comes
        // before the listener's own Stopped.
        for tap in &mut self.taps {
            tap.finish();
        }
        let _ = self.emit(Event::State(ConnectionState::Stopped));
        self.shared.stop.stop.finished();
    }

    fn stopping(&self) -> bool {
        self.shared.stop.is_stopped()
    }

    /// Connects, listens, reconnects, until stopped or told to give up.
    fn run_loop(&mut self) {
        let reconnect = self.checked.reconnect;
        let mut dialer = Dialer::new(self.checked.transport);
        let mut backoff = Backoff::new(reconnect);
        let mut attempt = 0;
        // Before the first connection, the time without one runs from the start.
        let mut outage = OutageClock::start();
        let mut connected_before = false;
        loop {
            attempt += 1;
            outage.attempts += 1;
            if self.stopping()
                || self
                    .emit(Event::State(ConnectionState::Connecting { attempt }))
                    .is_break()
            {
                return;
            }
            let bytes = &self.shared.counters.bytes;
            let connected = dialer.connect(&self.checked.settings, &self.shared.stop.stop, bytes);
            let error = match connected {
                Ok(conn) => {
                    let up_since = Instant::now();
                    let state = ConnectionState::Connected {
                        outage: connected_before.then(|| outage.now()),
                    };
                    connected_before = true;
                    let ended = self.listen(conn, state);
                    let Ended::Lost(error) = ended else {
                        return;
                    };
                    // The one rule for a healthy connection: it stayed up long enough.
                    // Only then does the backoff start over and the outage end.
                    if up_since.elapsed() >= reconnect.healthy_uptime() {
                        backoff.reset();
                        attempt = 0;
                        outage = OutageClock::start();
                    }
                    error
                }
                Err(error) => error,
            };
            if self.stopping() {
                return;
            }
            let retry_in = match error.is_retryable() {
                // A server that says when to come back is not asked sooner (within reason).
                true => backoff
                    .next_delay()
                    .map(|delay| delay.max(retry_after(&error).min(MAX_RETRY_AFTER))),
                false => None,
            };
            let state = ConnectionState::Disconnected {
                error: error.clone(),
                retry_in,
                outage: outage.now(),
            };
            if self.report(error.clone()).is_break() || self.emit(Event::State(state)).is_break() {
                return;
            }
            let Some(delay) = retry_in else {
                // join() is the one way out for an error besides emit(): redact here too.
                *lock(&self.shared.ended_by) =
                    Some(self.checked.settings.connector.token.redact(error));
                return;
            };
            if self.shared.stop.wait_for_stop(delay) {
                return;
            }
            Counters::count(&self.shared.counters.reconnects);
        }
    }

    /// Announces the connection, then turns what it yields into alerts until it ends.
    fn listen(&mut self, mut conn: Connection, connected: ConnectionState) -> Ended {
        self.shared.counters.set_connected(true);
        let ended = match self.emit(Event::State(connected)) {
            ControlFlow::Break(()) => Ended::Stop,
            ControlFlow::Continue(()) => self.read(&mut conn),
        };
        self.shared.counters.set_connected(false);
        conn.close();
        ended
    }

    fn read(&mut self, conn: &mut Connection) -> Ended {
        loop {
            if self.stopping() {
                return Ended::Stop;
            }
            let decoded = match conn.next() {
                Ok(Frame::Text(text)) => alert::frame(text),
                Ok(Frame::Event { event_type, data }) => alert::event(event_type, data),
                Ok(Frame::Unreadable(error)) => Err(error),
                Ok(Frame::Alive | Frame::Idle) => continue,
                Err(error) => return Ended::Lost(error),
            };
            let flow = match decoded {
                Ok(decoded) => {
                    Counters::count(&self.shared.counters.alerts);
                    let flow = self.emit(Event::Alert(decoded.alert));
                    match decoded.problem {
                        Some(problem) if flow.is_continue() => self.report(problem),
                        _ => flow,
                    }
                }
                Err(error) => self.report(error),
            };
            if flow.is_break() {
                return Ended::Stop;
            }
        }
    }

    fn report(&mut self, error: Error) -> ControlFlow<()> {
        self.delivery.report(error)
    }

    /// Shows an event to the trackers, then to the app (an alert only if the app asked
    /// for its type).
    fn emit(&mut self, event: Event) -> ControlFlow<()> {
        for tap in &mut self.taps {
            tap.see(&event);
        }
        if let (Event::Alert(alert), Some(filters)) = (&event, &self.app_filters) {
            if !filters.admits(alert.kind()) {
                return ControlFlow::Continue(());
            }
        }
        self.delivery.emit(event)
    }
}

/// How long the server asked to wait before the next attempt.
fn retry_after(error: &Error) -> Duration {
    match error {
        Error::HttpStatus {
            retry_after: Some(after),
            ..
        } => *after,
        _ => Duration::ZERO,
    }
}

/// The message a panic carried, if it was text.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}
