//! Trackers on a listener: each runs on a thread of its own, fed by the listener's thread
//! through a bounded queue, and makes its lookups there, so the listener never waits
//! for the server's answers (only, when the queue is full, for room in it; never past a
//! stop).

pub(crate) mod sessions;

use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crossbeam_channel::{Sender, TrySendError};

use crate::stop::StopHandle;
use crate::worker::Delivery;
use crate::{Error, Handler};

pub use sessions::SessionTrackerBuilder;

/// Inputs waiting for a tracker's thread, at most: a burst this long waits for room.
const QUEUE: usize = 1024;

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
