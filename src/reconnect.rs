//! How a listener survives the network: when it reconnects, and how it notices a dead peer.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::Duration;

/// When to reconnect after a connection ends or an attempt fails.
///
/// The default reconnects forever, waiting a random time up to a cap that starts at 1 s
/// and doubles after each failure up to 60 s ("full jitter", so that many listeners do not
/// hammer a restarting server in step).
///
/// The cap starts over only once a connection has proved healthy: it stayed up for
/// [`healthy_after`](Reconnect::healthy_after) (30 s by default). A server or proxy that
/// accepts, sends a burst and drops the connection again is therefore reconnected ever
/// more slowly, like one that refuses outright, and its drops count as one outage in
/// [`ConnectionState`](crate::ConnectionState).
///
/// A wrong or expired token (401, 498) and a missing endpoint (404) are never retried:
/// the listener reports them and ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconnect {
    initial: Duration,
    max: Duration,
    healthy_after: Duration,
    enabled: bool,
}

impl Reconnect {
    /// Never reconnect: the listener ends after the first disconnect, like python-plexapi's.
    pub fn never() -> Reconnect {
        Reconnect {
            enabled: false,
            ..Reconnect::default()
        }
    }

    /// Reconnect forever, the cap starting at `initial` and doubling up to `max`.
    pub fn exponential(initial: Duration, max: Duration) -> Reconnect {
        Reconnect {
            initial,
            max: max.max(initial),
            healthy_after: DEFAULT_HEALTHY_AFTER,
            enabled: true,
        }
    }

    /// How long a connection must stay up to count as healthy: then the wait before the
    /// next reconnect starts over from `initial`, and the outage it ended is over.
    /// Default 30 s.
    pub fn healthy_after(mut self, uptime: Duration) -> Reconnect {
        self.healthy_after = uptime;
        self
    }

    /// Whether the listener reconnects at all.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The first cap on the wait before reconnecting.
    pub fn initial(&self) -> Duration {
        self.initial
    }

    /// The largest cap on the wait before reconnecting.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// How long a connection must stay up to count as healthy.
    pub fn healthy_uptime(&self) -> Duration {
        self.healthy_after
    }
}

const DEFAULT_HEALTHY_AFTER: Duration = Duration::from_secs(30);

impl Default for Reconnect {
    fn default() -> Reconnect {
        Reconnect::exponential(Duration::from_secs(1), Duration::from_secs(60))
    }
}

/// The backoff state of one listener.
pub(crate) struct Backoff {
    policy: Reconnect,
    failures: u32,
    rng: u64,
}

impl Backoff {
    pub fn new(policy: Reconnect) -> Backoff {
        // Seeded per listener from std's per-process random keys: enough for jitter.
        let seed = RandomState::new().hash_one(std::time::Instant::now());
        Backoff {
            policy,
            failures: 0,
            rng: seed | 1,
        }
    }

    /// The wait before the next attempt, or `None` if there is none.
    pub fn next_delay(&mut self) -> Option<Duration> {
        if !self.policy.enabled {
            return None;
        }
        let cap = self
            .policy
            .initial
            .saturating_mul(1u32 << self.failures.min(20))
            .min(self.policy.max);
        self.failures = self.failures.saturating_add(1);
        Some(cap.mul_f64(self.random_unit()))
    }

    /// A connection proved alive: start over from the smallest cap.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// A uniform number in [0, 1) (xorshift64*).
    fn random_unit(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let x = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Heartbeat settings: when to probe a silent connection and when to give up on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    interval: Duration,
    timeout: Duration,
    enabled: bool,
}

impl Heartbeat {
    /// After `interval` without a message, a WebSocket connection sends a Ping and waits
    /// `timeout` more for any frame; an event stream (which the server pings about every
    /// 10 s) is dropped after `interval + timeout` of silence.
    ///
    /// Over an event stream, keep `interval + timeout` well above the server's 10 s between
    /// pings (25 s or more), or healthy idle streams are dropped. The default (15 s + 15 s)
    /// suits both transports.
    pub fn new(interval: Duration, timeout: Duration) -> Heartbeat {
        Heartbeat {
            interval,
            timeout,
            enabled: true,
        }
    }

    /// No heartbeat: a dead peer is only noticed when the operating system notices.
    pub fn disabled() -> Heartbeat {
        Heartbeat {
            enabled: false,
            ..Heartbeat::default()
        }
    }

    /// Whether the listener watches for a dead peer at all.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// How long a connection may be silent before it is probed.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// How long a probed connection may stay silent before it is given up.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// How long a connection may stay silent before it is presumed dead: `interval +
    /// timeout`, or `None` when disabled.
    pub fn dead_after(&self) -> Option<Duration> {
        self.enabled
            .then(|| self.interval.saturating_add(self.timeout))
    }

    /// Longest a read may block before the listener looks at the clock.
    pub(crate) fn read_timeout(&self) -> Duration {
        if self.enabled {
            self.interval
        } else {
            Duration::from_secs(3600)
        }
    }
}

impl Default for Heartbeat {
    /// A ping after 15 s of silence, dead 15 s later: a dead peer is noticed within 30 s.
    fn default() -> Heartbeat {
        Heartbeat::new(Duration::from_secs(15), Duration::from_secs(15))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_under_a_doubling_cap_and_reset() {
        let mut b = Backoff::new(Reconnect::exponential(
            Duration::from_millis(100),
            Duration::from_millis(450),
        ));
        let caps = [100, 200, 400, 450, 450];
        for cap in caps {
            let d = b.next_delay().unwrap();
            assert!(d <= Duration::from_millis(cap), "{d:?} > {cap}");
        }
        b.reset();
        assert!(b.next_delay().unwrap() <= Duration::from_millis(100));
    }

    #[test]
    fn jitter_spreads_delays() {
        let mut b = Backoff::new(Reconnect::exponential(
            Duration::from_secs(60),
            Duration::from_secs(60),
        ));
        let delays: Vec<_> = (0..50).map(|_| b.next_delay().unwrap()).collect();
        let min = delays.iter().min().unwrap();
        let max = delays.iter().max().unwrap();
        assert!(*max - *min > Duration::from_secs(20), "{min:?}..{max:?}");
    }

    #[test]
    fn never_means_no_delay() {
        assert_eq!(Backoff::new(Reconnect::never()).next_delay(), None);
    }

    #[test]
    fn default_heartbeat_notices_a_dead_peer_within_30_s() {
        assert_eq!(
            Heartbeat::default().dead_after(),
            Some(Duration::from_secs(30))
        );
        assert_eq!(Heartbeat::disabled().dead_after(), None);
    }
}
