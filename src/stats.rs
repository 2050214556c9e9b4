//! A listener's counters: what [`AlertListener::stats`](crate::AlertListener::stats) reads.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::stop::lock;

/// Counters of a listener's work, read with [`AlertListener::stats`](crate::AlertListener::stats).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Alerts delivered.
    pub alerts: u64,
    /// Errors reported (disconnects included).
    pub errors: u64,
    /// Connection attempts after the first.
    pub reconnects: u64,
    /// Bytes read from the server, headers and framing included.
    pub bytes_received: u64,
    /// Time spent connected, the current connection included.
    pub time_connected: Duration,
    /// Whether a connection is up now.
    pub connected: bool,
}

/// The live counters, shared by the listener's thread and its handle.
#[derive(Default)]
pub(crate) struct Counters {
    pub alerts: AtomicU64,
    pub errors: AtomicU64,
    pub reconnects: AtomicU64,
    pub bytes: Arc<AtomicU64>,
    /// Time connected before the current connection, and when that one started.
    connected: Mutex<(Duration, Option<Instant>)>,
}

impl Counters {
    pub fn snapshot(&self) -> Stats {
        let (past, since) = *lock(&self.connected);
        Stats {
            alerts: self.alerts.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            bytes_received: self.bytes.load(Ordering::Relaxed),
            time_connected: past + since.map_or(Duration::ZERO, |t| t.elapsed()),
            connected: since.is_some(),
        }
    }

    pub fn set_connected(&self, up: bool) {
        let mut c = lock(&self.connected);
        match (up, c.1) {
            (true, None) => c.1 = Some(Instant::now()),
            (false, Some(since)) => *c = (c.0 + since.elapsed(), None),
            _ => {}
        }
    }

    pub fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
