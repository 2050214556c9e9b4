//! Where a listener's events go: closures, or a channel, through one trait.

use std::fmt;
use std::ops::ControlFlow;
use std::time::{Duration, SystemTime};

use crate::stop::StopHandle;
use crate::{Alert, Error};

/// Everything a listener reports, in the order it happened.
///
/// Closures see these split across `callback`, `callback_error` and `on_state`; a
/// [`Handler`] of `Event`s (a channel, or one closure) receives them as they are.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A notification from the server.
    Alert(Alert),
    /// Something went wrong; see [`Error`] for what the listener does next.
    Error(Error),
    /// The connection changed state.
    State(ConnectionState),
}

/// Where the connection is, so that an app can resync over HTTP after a gap (the server
/// does not replay what was sent while nobody listened).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Opening a connection. `attempt` counts from 1 and starts over once a connection
    /// has proved healthy (see [`Reconnect::healthy_after`](crate::Reconnect::healthy_after)).
    Connecting {
        /// Which attempt this is since the last healthy connection.
        attempt: u32,
    },
    /// Connected and listening. Anything sent from now on arrives.
    Connected {
        /// `None` on the listener's first connection. After a disconnect, the outage this
        /// connection ends: what the server sent during it was lost, so resync now
        /// (with [`PlexServer`](crate::PlexServer): `/status/sessions`, `/activities`).
        outage: Option<Outage>,
    },
    /// The connection ended, or an attempt to open one failed. Notifications sent from now
    /// until the next [`Connected`](ConnectionState::Connected) are lost.
    ///
    /// The same error reached `callback_error` (as [`Event::Error`]) just before this state,
    /// so its `Display` leaves the error out.
    Disconnected {
        /// Why. The same error also reaches `callback_error`.
        error: Error,
        /// How long the listener waits before the next attempt; `None` when it will not try
        /// again (the listener ends next).
        retry_in: Option<Duration>,
        /// The outage this disconnect is part of: every failed attempt and every connection
        /// that dropped before it proved healthy belong to the same one.
        outage: Outage,
    },
    /// The listener ended; nothing follows.
    Stopped,
}

/// A time without a healthy connection: from the first disconnect (or, before the first
/// connection, from the start) until a connection has stayed up long enough to count as
/// healthy (see [`Reconnect::healthy_after`](crate::Reconnect::healthy_after)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outage {
    /// When it began, by the system clock.
    pub since: SystemTime,
    /// How long it had lasted when this state was reported.
    pub duration: Duration,
    /// Attempts to connect since it began, this one included.
    pub attempts: u32,
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionState::Connecting { attempt } => write!(f, "connecting (attempt {attempt})"),
            ConnectionState::Connected { outage: None } => f.write_str("connected"),
            ConnectionState::Connected {
                outage: Some(outage),
            } => write!(
                f,
                "connected again after {:.1?} without a connection",
                outage.duration
            ),
            // The error is left out: it reached callback_error (Event::Error) just before.
            ConnectionState::Disconnected {
                retry_in: Some(d), ..
            } => write!(f, "disconnected; retrying in {d:.1?}"),
            ConnectionState::Disconnected { retry_in: None, .. } => {
                f.write_str("disconnected; not retrying")
            }
            ConnectionState::Stopped => f.write_str("stopped"),
        }
    }
}

/// Receives what a listener produces, on the listener's thread: [`Event`]s, for
/// [`Builder::handler`](crate::Builder::handler).
///
/// Implemented for closures taking a `T`, for [`std::sync::mpsc::Sender<T>`] and for
/// [`crossbeam_channel::Sender<T>`]. Returning [`ControlFlow::Break`] ends the listener
/// (the channel senders do that when the receiver is gone).
///
/// A handler of your own that waits for something (room in a queue, a request of its
/// own) waits on `stop` ([`StopHandle::wait_for_stop`], [`StopHandle::is_stopped`]), so
/// that stopping the listener never waits for it.
pub trait Handler<T>: Send + 'static {
    /// Handles one item. Keep it short: the listener reads nothing while it runs.
    fn handle(&mut self, item: T, stop: &StopHandle) -> ControlFlow<()>;
}

impl<T, F> Handler<T> for F
where
    F: FnMut(T) + Send + 'static,
{
    fn handle(&mut self, item: T, _stop: &StopHandle) -> ControlFlow<()> {
        self(item);
        ControlFlow::Continue(())
    }
}

impl<T: Send + 'static> Handler<T> for std::sync::mpsc::Sender<T> {
    fn handle(&mut self, item: T, _stop: &StopHandle) -> ControlFlow<()> {
        match self.send(item) {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(()),
        }
    }
}

/// With a bounded channel that is full, the listener waits for room, or for
/// [`StopHandle::stop`], whichever comes first: stopping never waits for the app to drain
/// the channel. The item it was waiting to send, and the final
/// [`ConnectionState::Stopped`] if there is still no room for it, are then dropped.
impl<T: Send + 'static> Handler<T> for crossbeam_channel::Sender<T> {
    fn handle(&mut self, item: T, stop: &StopHandle) -> ControlFlow<()> {
        use crossbeam_channel::TrySendError;
        let item = match self.try_send(item) {
            Ok(()) => return ControlFlow::Continue(()),
            Err(TrySendError::Disconnected(_)) => return ControlFlow::Break(()),
            Err(TrySendError::Full(item)) => item,
        };
        let sent = crossbeam_channel::select! {
            send(self, item) -> sent => sent.is_ok(),
            recv(stop.stop.woken()) -> _ => false,
        };
        if sent {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    }
}

type Callback<T> = Box<dyn FnMut(T) + Send>;

/// The closures given to the builder, as one handler.
#[derive(Default)]
pub(crate) struct Callbacks {
    pub alert: Option<Callback<Alert>>,
    pub error: Option<Callback<Error>>,
    pub state: Option<Callback<ConnectionState>>,
}

impl Callbacks {
    pub fn is_empty(&self) -> bool {
        self.alert.is_none() && self.error.is_none() && self.state.is_none()
    }
}

impl Handler<Event> for Callbacks {
    fn handle(&mut self, event: Event, _stop: &StopHandle) -> ControlFlow<()> {
        match event {
            Event::Alert(alert) => {
                if let Some(f) = &mut self.alert {
                    f(alert)
                }
            }
            // Nothing is lost silently: without a callback_error, errors go to the log,
            // saying what happened but nothing the server sent (the README's promise).
            Event::Error(error) => match &mut self.error {
                Some(f) => f(error),
                None => log::warn!("plex-alerts: {}", error.summary()),
            },
            Event::State(state) => match &mut self.state {
                Some(f) => f(state),
                None => log::debug!("plex-alerts: {state}"),
            },
        }
        ControlFlow::Continue(())
    }
}

/// What a tracker's rules say: an event for the app, or an error for its error handler.
#[derive(Debug)]
pub(crate) enum Said<E> {
    Event(E),
    Error(Error),
}
