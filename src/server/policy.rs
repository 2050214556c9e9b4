//! The one request policy of a server's trackers, shared by a [`PlexServer`] and its
//! clones: how many lookups at once and per second, a hold after the server asked to
//! wait (`Retry-After` on 429 and 503) or while it fails, and a failing episode told once.
//!
//! [`PlexServer`]: crate::PlexServer

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::Error;
use crate::stop::{Stop, lock};

/// How many lookups a server is sent at once, and per second, at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub concurrent: usize,
    pub per_second: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            concurrent: 4,
            per_second: 100,
        }
    }
}

/// The longest hold: a server asking for more is asked again after this.
pub(crate) const MAX_HOLD: Duration = Duration::from_secs(3600);
/// The hold after failures that named no wait: 1 s, doubling to a minute.
const FIRST_HOLD: Duration = Duration::from_secs(1);
const LAST_HOLD: Duration = Duration::from_secs(60);
/// How often a wait for a free slot looks again.
const POLL: Duration = Duration::from_millis(20);

pub(crate) struct Policy {
    limits: Limits,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    in_flight: usize,
    /// When the lookups of the last second started.
    started: VecDeque<Instant>,
    /// No lookup before this.
    hold_until: Option<Instant>,
    /// Failures in a row: the episode, which the first success ends.
    failures: u32,
    told: bool,
}

/// A lookup under way; the slot is freed when it is dropped.
pub(crate) struct Permit<'a> {
    policy: &'a Policy,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        lock(&self.policy.state).in_flight -= 1;
    }
}

impl Policy {
    pub fn new(limits: Limits) -> Policy {
        Policy {
            limits,
            state: Mutex::new(State::default()),
        }
    }

    /// Waits for the slot of one lookup to `path`: fails at once, saying when to try
    /// again, if that is past `deadline`; ends at once on `stop`.
    pub fn admit(&self, path: &str, deadline: Instant, stop: &Stop) -> Result<Permit<'_>, Error> {
        loop {
            if stop.is_stopped() {
                return Err(Error::Stopped);
            }
            let now = Instant::now();
            let wait = {
                let mut state = lock(&self.state);
                while state
                    .started
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
                {
                    state.started.pop_front();
                }
                let held = state.hold_until.filter(|t| *t > now);
                let rate = (state.started.len() >= self.limits.per_second)
                    .then(|| state.started.front().map(|t| *t + Duration::from_secs(1)))
                    .flatten();
                match held.into_iter().chain(rate).max() {
                    Some(at) if at > deadline => {
                        return Err(Error::Throttled {
                            path: path.split('?').next().unwrap_or(path).to_owned(),
                            retry_in: at - now,
                        });
                    }
                    Some(at) => at - now,
                    None if state.in_flight >= self.limits.concurrent => POLL,
                    None => {
                        state.in_flight += 1;
                        state.started.push_back(now);
                        return Ok(Permit { policy: self });
                    }
                }
            };
            if now + wait > deadline {
                return Err(Error::Throttled {
                    path: path.split('?').next().unwrap_or(path).to_owned(),
                    retry_in: wait,
                });
            }
            stop.sleep(wait);
        }
    }

    /// What a request (a lookup, or an app's own call) came to: a success ends a failing
    /// episode; a failure of the server holds the next lookups back.
    pub fn done<T>(&self, result: &Result<T, Error>) {
        let mut state = lock(&self.state);
        let now = Instant::now();
        match result {
            Ok(_) => {
                state.failures = 0;
                state.told = false;
                state.hold_until = None;
            }
            Err(e) if counts(e) => {
                state.failures = state.failures.saturating_add(1);
                let backoff = FIRST_HOLD
                    .saturating_mul(2u32.saturating_pow(state.failures - 1))
                    .min(LAST_HOLD);
                let hold = e.retry_after().unwrap_or(backoff).min(MAX_HOLD);
                state.hold_until = Some(now + hold);
            }
            Err(_) => {}
        }
    }

    /// Whether `error` is to be told: a failure of the server once per failing episode;
    /// anything else always.
    pub fn tell(&self, error: &Error) -> bool {
        if !counts(error) && !matches!(error, Error::Throttled { .. }) {
            return true;
        }
        let mut state = lock(&self.state);
        !std::mem::replace(&mut state.told, true)
    }
}

/// Whether an error says the server (or the way to it) is failing, not the request.
fn counts(error: &Error) -> bool {
    match error {
        Error::HttpStatus { status, .. } => *status == 429 || *status >= 500,
        Error::Connect { .. }
        | Error::Timeout { .. }
        | Error::ConnectionLost { .. }
        | Error::Closed { .. }
        | Error::Protocol { .. }
        | Error::Tls { .. } => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, retry_after: Option<u64>) -> Result<(), Error> {
        Err(Error::HttpStatus {
            status,
            path: "/status/sessions".into(),
            retry_after: retry_after.map(Duration::from_secs),
        })
    }

    #[test]
    fn a_retry_after_holds_lookups_back_and_one_past_the_deadline_fails_at_once() {
        let policy = Policy::new(Limits::default());
        let stop = Stop::new();
        policy.done(&status(429, Some(60)));
        let started = Instant::now();
        let deadline = started + Duration::from_secs(5);
        match policy.admit("/library/metadata/1", deadline, &stop) {
            Err(Error::Throttled { retry_in, path }) => {
                assert!(retry_in > Duration::from_secs(55), "{retry_in:?}");
                assert_eq!(path, "/library/metadata/1");
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
        assert!(started.elapsed() < Duration::from_secs(1), "at once");
        policy.done(&Ok::<(), Error>(()));
        assert!(policy.admit("/x", deadline, &stop).is_ok());
    }

    #[test]
    fn failures_without_a_wait_hold_back_longer_each_time_and_a_success_ends_them() {
        let policy = Policy::new(Limits::default());
        let held = |p: &Policy| {
            lock(&p.state)
                .hold_until
                .map(|t| t.saturating_duration_since(Instant::now()))
        };
        policy.done(&status(500, None));
        assert!(held(&policy).unwrap() <= Duration::from_secs(1));
        policy.done(&status(500, None));
        policy.done(&status(500, None));
        assert!(held(&policy).unwrap() > Duration::from_secs(3));
        policy.done(&status(404, None));
        assert!(
            held(&policy).unwrap() > Duration::from_secs(3),
            "404 is an answer"
        );
        policy.done(&Ok::<(), Error>(()));
        assert_eq!(held(&policy), None);
        policy.done(&status(503, Some(100_000)));
        assert!(held(&policy).unwrap() <= MAX_HOLD);
    }

    #[test]
    fn a_failing_episode_is_told_once() {
        let policy = Policy::new(Limits::default());
        let e = status(500, None).unwrap_err();
        assert!(policy.tell(&e));
        assert!(!policy.tell(&e));
        assert!(!policy.tell(&Error::Throttled {
            path: "/".into(),
            retry_in: Duration::from_secs(1)
        }));
        assert!(policy.tell(&Error::TrackerFull {
            what: "sessions",
            limit: 1
        }));
        policy.done(&Ok::<(), Error>(()));
        assert!(policy.tell(&e), "a new episode");
    }

    #[test]
    fn lookups_are_bounded_at_once_and_per_second() {
        let policy = Policy::new(Limits {
            concurrent: 2,
            per_second: 3,
        });
        let stop = Stop::new();
        let soon = || Instant::now() + Duration::from_millis(100);
        let a = policy.admit("/a", soon(), &stop).unwrap();
        let _b = policy.admit("/b", soon(), &stop).unwrap();
        assert!(
            matches!(
                policy.admit("/c", soon(), &stop),
                Err(Error::Throttled { .. })
            ),
            "two at once"
        );
        drop(a);
        let _c = policy.admit("/c", soon(), &stop).unwrap();
        drop(_c);
        match policy.admit("/d", soon(), &stop) {
            Err(Error::Throttled { retry_in, .. }) => {
                assert!(retry_in > Duration::from_millis(500), "{retry_in:?}")
            }
            other => panic!("three a second: {:?}", other.map(|_| ())),
        }
        stop.stop();
        assert!(matches!(
            policy.admit("/e", soon(), &stop),
            Err(Error::Stopped)
        ));
    }
}
