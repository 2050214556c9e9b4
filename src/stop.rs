//! Stopping, in one place: a flag, the sockets to shut down, and a wake for whoever waits.
//!
//! One [`Stop`] serves a listener and everything it runs (its connection, a tracker's
//! lookups on another thread): [`Stop::stop`] sets the flag, shuts every watched socket
//! down, which wakes a blocked connect, handshake or read at once on Linux and macOS, and
//! drops the wake channel, which ends every wait on it (a backoff, a full bounded channel).

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use socket2::Socket;

use crate::Error;

/// The stop shared by a listener's threads. Cloning shares it.
#[derive(Clone)]
pub(crate) struct Stop(Arc<Inner>);

struct Inner {
    stopped: AtomicBool,
    /// The sockets a stop shuts down, each under the id of its [`Watch`].
    sockets: Mutex<Vec<(u64, Socket)>>,
    next_id: AtomicU64,
    /// Dropped on stop, which disconnects `woken`.
    wake: Mutex<Option<Sender<()>>>,
    woken: Receiver<()>,
    /// Whether the listener's thread still runs.
    running: AtomicBool,
}

impl Stop {
    pub fn new() -> Stop {
        let (wake, woken) = crossbeam_channel::bounded(0);
        Stop(Arc::new(Inner {
            stopped: AtomicBool::new(false),
            sockets: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
            wake: Mutex::new(Some(wake)),
            woken,
            running: AtomicBool::new(true),
        }))
    }

    /// Stops for good: every watched socket is shut down and every wait ends.
    pub fn stop(&self) {
        self.0.stopped.store(true, Ordering::SeqCst);
        for (_, socket) in lock(&self.0.sockets).iter() {
            let _ = socket.shutdown(Shutdown::Both);
        }
        lock(&self.0.wake).take();
    }

    pub fn is_stopped(&self) -> bool {
        self.0.stopped.load(Ordering::SeqCst)
    }

    /// Shuts `socket` down on stop, until the returned watch is dropped. Fails (with
    /// `Interrupted`) if the stop already came: the socket must not be used then.
    pub fn watch(&self, socket: &Socket) -> io::Result<Watch> {
        let mut sockets = lock(&self.0.sockets);
        // Checked under the lock that stop() takes after setting the flag: either this
        // sees the flag, or stop() sees the socket.
        if self.is_stopped() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "stopped"));
        }
        let clone = socket.try_clone()?;
        let id = self.0.next_id.fetch_add(1, Ordering::Relaxed);
        sockets.push((id, clone));
        Ok(Watch {
            stop: self.clone(),
            id,
        })
    }

    /// Waits `timeout`, or less if the stop comes; true if it came.
    pub fn sleep(&self, timeout: Duration) -> bool {
        match self.0.woken.recv_timeout(timeout) {
            Err(RecvTimeoutError::Timeout) => self.is_stopped(),
            _ => true,
        }
    }

    /// A receiver that disconnects on stop, for a `select!` beside another wait.
    pub fn woken(&self) -> &Receiver<()> {
        &self.0.woken
    }

    /// The listener's thread has ended.
    pub fn finished(&self) {
        self.0.running.store(false, Ordering::SeqCst);
    }

    pub fn is_running(&self) -> bool {
        self.0.running.load(Ordering::SeqCst)
    }
}

/// A socket that [`Stop::stop`] shuts down, until this is dropped.
pub(crate) struct Watch {
    stop: Stop,
    id: u64,
}

impl Drop for Watch {
    fn drop(&mut self) {
        lock(&self.stop.0.sockets).retain(|(id, _)| *id != self.id);
    }
}

/// What a step interrupted by a stop returns. Never reported: whoever stopped knows.
pub(crate) fn stopped() -> Error {
    Error::closed("the listener was stopped")
}

/// A poisoned lock still holds consistent data here: every critical section is a push,
/// a take or a read.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Stops an [`AlertListener`](crate::AlertListener) from any thread, including from inside
/// its own callbacks, and tells a handler that a stop came.
///
/// [`stop`](StopHandle::stop) only signals and returns at once; the listener's thread ends
/// as soon as what it is doing can be interrupted (a blocked connect or read is woken by
/// shutting its socket down). Use [`AlertListener::stop`](crate::AlertListener::stop) to
/// also wait for it.
///
/// Handlers are given one with every event ([`Handler::handle`](crate::Handler::handle)):
/// a handler that waits for something (room in a channel, a request of its own) waits with
/// [`wait_for_stop`](StopHandle::wait_for_stop) or checks
/// [`is_stopped`](StopHandle::is_stopped), so that a stop never waits for it.
#[derive(Clone)]
pub struct StopHandle {
    pub(crate) stop: Stop,
}

impl StopHandle {
    /// Tells the listener to stop, for good.
    pub fn stop(&self) {
        self.stop.stop();
    }

    /// Whether a stop was asked for.
    pub fn is_stopped(&self) -> bool {
        self.stop.is_stopped()
    }

    /// Waits up to `timeout` for a stop; returns whether it came.
    pub fn wait_for_stop(&self, timeout: Duration) -> bool {
        self.stop.sleep(timeout)
    }

    /// Whether the listener's thread is still running.
    pub fn is_running(&self) -> bool {
        self.stop.is_running()
    }
}

impl fmt::Debug for StopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StopHandle")
            .field("stopped", &self.is_stopped())
            .field("running", &self.is_running())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_stop_ends_a_sleep_at_once_and_refuses_new_sockets() {
        let stop = Stop::new();
        let sleeper = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let started = Instant::now();
                (stop.sleep(Duration::from_secs(60)), started.elapsed())
            })
        };
        stop.stop();
        let (woken, took) = sleeper.join().unwrap();
        assert!(woken && took < Duration::from_secs(10), "{took:?}");
        let socket = Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        assert!(stop.watch(&socket).is_err());
    }

    #[test]
    fn a_watch_is_forgotten_when_dropped() {
        let stop = Stop::new();
        let socket = Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let watch = stop.watch(&socket).unwrap();
        assert_eq!(lock(&stop.0.sockets).len(), 1);
        drop(watch);
        assert!(lock(&stop.0.sockets).is_empty());
        assert!(!stop.sleep(Duration::from_millis(1)));
    }
}
