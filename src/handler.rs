//! Where a listener's events go: closures, or a channel, through one trait.

use std::any::TypeId;
use std::fmt;
use std::ops::ControlFlow;
use std::time::Duration;

use crate::alert::View;
use crate::{Alert, Error};

/// Everything a listener reports, in the order it happened.
///
/// Closures see these split across `callback`, `callback_error` and `on_state`; a channel
/// receives them as they are.
#[derive(Debug)]
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
    /// Opening a connection. `attempt` counts from 1 and restarts after a connection that
    /// delivered something.
    Connecting {
        /// Which attempt this is since the last good connection.
        attempt: u32,
    },
    /// Connected and listening. Anything sent from now on arrives.
    Connected,
    /// The connection ended, or an attempt to open one failed. Notifications sent from now
    /// until the next [`Connected`](ConnectionState::Connected) are lost: resync then.
    ///
    /// The same error reached `callback_error` (as [`Event::Error`]) just before this state,
    /// so its `Display` leaves the error out.
    Disconnected {
        /// Why. The same error also reaches `callback_error`.
        error: Error,
        /// How long the listener waits before the next attempt; `None` when it will not try
        /// again (the listener ends next).
        retry_in: Option<Duration>,
    },
    /// The listener ended; nothing follows.
    Stopped,
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionState::Connecting { attempt } => write!(f, "connecting (attempt {attempt})"),
            ConnectionState::Connected => f.write_str("connected"),
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

/// Receives a listener's events on the listener's thread.
///
/// Implemented for closures taking an [`Event`], for [`std::sync::mpsc::Sender<Event>`] and
/// for [`crossbeam_channel::Sender<Event>`]; pass any of them to
/// [`Builder::handler`](crate::Builder::handler). Returning [`ControlFlow::Break`] ends the
/// listener (the channel senders do that when the receiver is gone).
pub trait EventHandler: Send + 'static {
    /// Handles one event. Keep it short: the listener reads nothing while it runs.
    fn handle_event(&mut self, event: Event) -> ControlFlow<()>;
}

impl<F> EventHandler for F
where
    F: FnMut(Event) + Send + 'static,
{
    fn handle_event(&mut self, event: Event) -> ControlFlow<()> {
        self(event);
        ControlFlow::Continue(())
    }
}

impl EventHandler for std::sync::mpsc::Sender<Event> {
    fn handle_event(&mut self, event: Event) -> ControlFlow<()> {
        match self.send(event) {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(()),
        }
    }
}

/// With a bounded channel that is full, the listener waits for room, or for
/// [`StopHandle::stop`](crate::StopHandle::stop), whichever comes first: stopping never waits
/// for the app to drain the channel. The event it was waiting to send, and the final
/// [`ConnectionState::Stopped`] if there is still no room for it, are then dropped.
impl EventHandler for crossbeam_channel::Sender<Event> {
    fn handle_event(&mut self, event: Event) -> ControlFlow<()> {
        use crossbeam_channel::TrySendError;
        let event = match self.try_send(event) {
            Ok(()) => return ControlFlow::Continue(()),
            Err(TrySendError::Disconnected(_)) => return ControlFlow::Break(()),
            Err(TrySendError::Full(event)) => event,
        };
        let sent = match crate::listener::stop_signal() {
            Some(stop) => crossbeam_channel::select! {
                send(self, event) -> sent => sent.is_ok(),
                recv(stop) -> _ => false,
            },
            None => self.send(event).is_ok(),
        };
        if sent {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    }
}

/// When alerts given to a handler of type `H` get their typed view. A channel's alerts are
/// read on its receiving thread: their strings are best made there (and so also freed
/// there) rather than on the listener's thread, which would then free nothing it makes.
pub(crate) fn view_for<H: EventHandler>() -> View {
    let channels = [
        TypeId::of::<crossbeam_channel::Sender<Event>>(),
        TypeId::of::<std::sync::mpsc::Sender<Event>>(),
    ];
    if channels.contains(&TypeId::of::<H>()) {
        View::OnFirstUse
    } else {
        View::Now
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

impl EventHandler for Callbacks {
    fn handle_event(&mut self, event: Event) -> ControlFlow<()> {
        match event {
            Event::Alert(alert) => {
                if let Some(f) = &mut self.alert {
                    f(alert)
                }
            }
            // Nothing is lost silently: without a callback_error, errors go to the log.
            Event::Error(error) => match &mut self.error {
                Some(f) => f(error),
                None => log::warn!("plex-alerts: {error}"),
            },
            Event::State(state) => match &mut self.state {
                Some(f) => f(state),
                None => log::debug!("plex-alerts: {state}"),
            },
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_get_views_on_first_use_and_closures_at_once() {
        assert_eq!(
            view_for::<crossbeam_channel::Sender<Event>>(),
            View::OnFirstUse
        );
        assert_eq!(
            view_for::<std::sync::mpsc::Sender<Event>>(),
            View::OnFirstUse
        );
        assert_eq!(view_for::<Callbacks>(), View::Now);
        fn closure_view<F: FnMut(Event) + Send + 'static>(_: F) -> View {
            view_for::<F>()
        }
        assert_eq!(closure_view(|_| {}), View::Now);
    }
}
