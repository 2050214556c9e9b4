//! The session tracker's rules, as a state machine with no I/O and no clock of its own:
//! fed notifications, connection changes, the answers of the lookups it asks for, and the
//! time; it says what happened ([`Out`]) and what it wants to read next ([`Want`]).
//!
//! The rules, from what nine real apps do and the quirks that broke them:
//! - A session is keyed by its session key, or by its client for a client that sends
//!   none. Its user, player and item are bound when it first appears, from
//!   `/status/sessions` (one read serves every session that starts together, retried a
//!   few times while a new session is not visible yet), and kept to its end.
//! - A known key named by another client is another session: the old one ended (the
//!   server restarted and counts keys from 1 again), the new one starts.
//! - `Started` comes once the session is known (its state may be paused or buffering).
//!   Paused, Resumed and Buffering follow the state; a resume after buffering counts only
//!   if it was paused before. Progress: the offset moved while playing.
//! - Seeked: the offset moved more than the seek tolerance beyond what the clock explains
//!   (the elapsed time while playing, nothing while paused); not judged while buffering.
//! - MediaChanged: a new rating key in the same session (autoplay, Live TV's next
//!   programme); the new item is read once: from `/status/sessions`, or, when that does
//!   not list it yet (or fails), from `/library/metadata`, retried twice, spaced.
//! - Watched: once per session and item, when the offset passes the type's threshold,
//!   never while buffering, never for a transient session, before the stop that passes it.
//! - Offsets are clamped to the item's duration; at a stop within 10 s of the end they are
//!   the end.
//! - Stopped: reported; stale (nothing heard for `stale_after`, or playing with an offset
//!   that did not move for that long; a paused session that keeps reporting is not stale;
//!   the clock does not run while disconnected); vanished (missing from
//!   `/status/sessions` after a gap, for `absence_grace`, and still missing at one
//!   confirming read); the server restarted (a new version in `/identity` after a gap, or
//!   the key now held by another user or player); the tracker stopped.
//! - A session ends once. A stale one is remembered: while its client keeps reporting the
//!   offset it ended at, nothing is said and nothing read; an offset that moves again is a
//!   new session, `Started` with [`Origin::Reappeared`].
//! - After every gap: `/identity` and `/status/sessions` are read, and what changed while
//!   nobody listened comes as events.

use std::collections::HashMap;
use std::time::{Duration, Instant};

#[cfg(test)]
mod cases;
mod lookups;
#[cfg(test)]
mod model;
mod notifications;
#[cfg(test)]
mod tests;

use super::{Origin, SessionEvent, SessionStats, StopReason, TrackedMedia, TrackedSession};
use crate::{Error, MediaType, PlaybackState};

/// The tracker's options, with their defaults.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub stale_after: Duration,
    pub absence_grace: Duration,
    pub seek_tolerance: Duration,
    /// The watched threshold per type; `default_watched` for the others.
    pub watched: Vec<(MediaType, f64)>,
    pub default_watched: f64,
    /// Reads again of `/status/sessions` for a session not visible yet, the first after
    /// `retry_after`, each next after twice as long. Also the bound on a sync's retries.
    pub lookup_retries: u32,
    pub retry_after: Duration,
    /// Reads again of `/library/metadata` that failed, the first after
    /// `metadata_retry_after`, the next after twice as long.
    pub metadata_retries: u32,
    pub metadata_retry_after: Duration,
    /// A new session is looked up this long after its first notification, so that
    /// sessions starting together share one read (and a session not visible at once
    /// usually is by then).
    pub gather: Duration,
    pub max_sessions: usize,
    /// Transient sessions (prerolls, theme music) are left out entirely.
    pub skip_transient: bool,
    /// The tracker stopping ends the sessions it tracks.
    pub end_on_stop: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            stale_after: Duration::from_secs(300),
            absence_grace: Duration::from_secs(30),
            seek_tolerance: Duration::from_secs(5),
            watched: vec![
                (MediaType::Movie, 0.85),
                (MediaType::Episode, 0.85),
                (MediaType::Clip, 0.85),
                (MediaType::Track, 0.90),
            ],
            default_watched: 0.85,
            lookup_retries: 3,
            retry_after: Duration::from_millis(250),
            metadata_retries: 2,
            metadata_retry_after: Duration::from_secs(1),
            gather: Duration::from_millis(100),
            max_sessions: 1000,
            skip_transient: false,
            end_on_stop: false,
        }
    }
}

/// A stop within this much of the end is at the end.
const SNAP_TO_END: i64 = 10_000;

/// The items a session remembers it was watched at, at most (a music session may play
/// thousands).
const MAX_WATCHED: usize = 256;

/// A stale session is forgotten once its client has said nothing for this many stale
/// periods (or when a resync does not list it, or the server restarted).
const GHOST_MEMORY: u32 = 12;

/// What the machine wants read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Want {
    Sessions,
    Identity,
    Metadata(String),
}

/// What happened.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // rare errors beside every event
pub(crate) enum Out {
    /// An event about the session tracked under `key`; `seq` tells one session from
    /// another that later has the same key.
    Event {
        key: String,
        #[cfg_attr(not(test), allow(dead_code))]
        seq: u64,
        event: SessionEvent,
    },
    /// Something the app should know (a lookup that failed; sessions not visible).
    Error(Error),
}

/// What is still to be read of a session's item (and, for a new one, its identity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// Nothing: it is known.
    Done,
    /// `/status/sessions` at `at`; `left` reads again if it is not listed.
    Listing { left: u32, at: Instant },
    /// `/library/metadata/{rating key}` at `at`, after `failed` failed reads.
    Metadata { failed: u32, at: Instant },
}

impl Read {
    fn listing_due(&self, now: Instant) -> bool {
        matches!(self, Read::Listing { at, .. } if *at <= now)
    }

    fn metadata_due(&self, now: Instant) -> bool {
        matches!(self, Read::Metadata { at, .. } if *at <= now)
    }

    fn at(&self) -> Option<Instant> {
        match self {
            Read::Done => None,
            Read::Listing { at, .. } | Read::Metadata { at, .. } => Some(*at),
        }
    }
}

struct Tracked {
    snap: TrackedSession,
    /// Tells this session from another under the same key later.
    seq: u64,
    announced: bool,
    /// Last notification (or listing) about it.
    last_seen: Instant,
    /// When `snap.view_offset` was observed.
    offset_at: Instant,
    /// Last time the offset moved (or the session was not playing).
    last_moved: Instant,
    /// It was paused before buffering: a resume after the buffering is a Resume.
    was_paused: bool,
    /// The items it was watched at (rating keys): once per session and item.
    watched: Vec<String>,
    /// What is still to be read before it is announced, or before its new item is.
    read: Read,
    /// A new item whose details are being read: the item before it, and where it was.
    media_pending: Option<(TrackedMedia, i64)>,
    /// Missing from `/status/sessions` since, at a resync; and the confirming reads that
    /// failed.
    missing_since: Option<Instant>,
    confirm_failures: u32,
}

/// A session that went stale, remembered while its client keeps reporting where it
/// ended: a session ends once.
struct Ghost {
    snap: TrackedSession,
    watched: Vec<String>,
    last_seen: Instant,
}

pub(crate) struct Machine {
    opts: Options,
    tracked: HashMap<String, Tracked>,
    ghosts: HashMap<String, Ghost>,
    next_seq: u64,
    pub stats: SessionStats,
    /// The token may not see sessions: identities stay unknown.
    hidden: bool,
    connected: bool,
    /// A sync to do: the first (FoundAtStart) or after a gap (FoundAfterGap).
    sync: Option<Origin>,
    sync_due: Instant,
    sync_attempts: u32,
    awaiting_identity: bool,
    version: Option<String>,
    /// At `max_sessions`: said once, until it has emptied to half.
    full: bool,
    /// The first sync is done (read, or given up on).
    synced: bool,
    pub out: Vec<Out>,
}

impl Machine {
    pub fn new(opts: Options, now: Instant) -> Machine {
        Machine {
            opts,
            tracked: HashMap::new(),
            ghosts: HashMap::new(),
            next_seq: 0,
            stats: SessionStats::default(),
            hidden: false,
            connected: false,
            sync: None,
            sync_due: now,
            sync_attempts: 0,
            awaiting_identity: false,
            version: None,
            full: false,
            synced: false,
            out: Vec::new(),
        }
    }

    /// Whether the first sync is done: read, or given up on.
    pub fn synced(&self) -> bool {
        self.synced
    }

    /// Says `event` of the session `t` tracked under `key`, unless it is transient and
    /// transient sessions are left out.
    fn emit(&mut self, key: &str, t: &Tracked, event: SessionEvent) {
        if self.opts.skip_transient && t.snap.transient {
            return;
        }
        if matches!(event, SessionEvent::Started(_)) {
            self.stats.sessions += 1;
        }
        self.out.push(Out::Event {
            key: key.to_owned(),
            seq: t.seq,
            event,
        });
    }

    /// The keys of the tracked sessions that `pick` picks, oldest session first: what
    /// happens to several at once is said in the order they came.
    fn keys(&self, pick: impl Fn(&Tracked) -> bool) -> Vec<String> {
        let mut keys: Vec<(u64, &String)> = self
            .tracked
            .iter()
            .filter(|(_, t)| pick(t))
            .map(|(k, t)| (t.seq, k))
            .collect();
        keys.sort_unstable();
        keys.into_iter().map(|(_, k)| k.clone()).collect()
    }

    /// The listener connected; after a gap, what changed is read.
    pub fn connected(&mut self, after_gap: bool, now: Instant) {
        self.connected = true;
        for t in self.tracked.values_mut() {
            t.last_seen = now;
            t.last_moved = now;
        }
        for g in self.ghosts.values_mut() {
            g.last_seen = now;
        }
        self.sync = Some(if after_gap {
            Origin::FoundAfterGap
        } else {
            Origin::FoundAtStart
        });
        self.sync_due = now;
        self.sync_attempts = 0;
        self.awaiting_identity = after_gap || self.version.is_none();
    }

    /// The listener lost its connection: the stale clock stops until it is back.
    pub fn disconnected(&mut self) {
        self.connected = false;
    }

    /// What the machine wants read now, if anything. Each want is answered by one read,
    /// and the answer (whatever it is) moves what asked for it on: the same want does not
    /// come back before its next due time.
    pub fn want(&self, now: Instant) -> Option<Want> {
        let sync_due = self.sync.is_some() && self.sync_due <= now;
        if self.awaiting_identity && sync_due {
            return Some(Want::Identity);
        }
        let listing_due = self.tracked.values().any(|t| {
            t.read.listing_due(now)
                || t.missing_since
                    .is_some_and(|since| since + self.opts.absence_grace <= now)
        });
        if !self.hidden && (sync_due || listing_due) {
            return Some(Want::Sessions);
        }
        self.tracked
            .values()
            .filter(|t| t.read.metadata_due(now))
            .find_map(|t| t.snap.media.rating_key.clone())
            .map(Want::Metadata)
    }

    /// Sessions whose item cannot be read (no rating key) go on with what is known: the
    /// new ones are announced, a new item is announced as it is.
    pub fn settle(&mut self) {
        let stuck = self
            .keys(|t| matches!(t.read, Read::Metadata { .. }) && t.snap.media.rating_key.is_none());
        for key in stuck {
            if let Some(mut t) = self.tracked.remove(&key) {
                self.known(&key, &mut t);
                self.tracked.insert(key, t);
            }
        }
    }

    /// What there is to read of `t` has been read (or given up on): it is announced, or
    /// its new item is.
    fn known(&mut self, key: &str, t: &mut Tracked) {
        t.read = Read::Done;
        match t.media_pending.take() {
            Some(previous) => self.media_changed(key, t, previous),
            None if !t.announced => self.announce(key, t),
            None => {}
        }
    }

    /// When the machine next has something to do without new input.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut at: Option<Instant> = self.sync.map(|_| self.sync_due);
        let mut earliest = |t: Instant| at = Some(at.map_or(t, |a| a.min(t)));
        for t in self.tracked.values() {
            if let Some(next) = t.read.at() {
                earliest(next);
            }
            if let Some(since) = t.missing_since {
                earliest(since + self.opts.absence_grace);
            }
            if t.announced && self.connected {
                earliest(t.last_seen + self.opts.stale_after);
                if t.snap.state == PlaybackState::Playing {
                    earliest(t.last_moved + self.opts.stale_after);
                }
            }
        }
        at
    }

    fn watched_at(&self, media: &TrackedMedia) -> f64 {
        media
            .media_type
            .as_ref()
            .and_then(|t| self.opts.watched.iter().find(|(k, _)| k == t))
            .map_or(self.opts.default_watched, |(_, f)| *f)
    }

    fn check_watched(&mut self, key: &str, t: &mut Tracked) {
        let item = t.snap.media.rating_key.clone().unwrap_or_default();
        if t.watched.contains(&item) || t.snap.transient || t.snap.state == PlaybackState::Buffering
        {
            return;
        }
        let threshold = self.watched_at(&t.snap.media);
        if t.snap.progress().is_some_and(|p| p >= threshold) {
            if t.watched.len() >= MAX_WATCHED {
                t.watched.remove(0);
            }
            t.watched.push(item);
            self.emit(key, t, SessionEvent::Watched(t.snap.clone()));
        }
    }

    /// Ends a session: Watched if its last offset passed the threshold, then Stopped.
    fn stop(&mut self, key: &str, mut t: Tracked, reason: StopReason) {
        if reason == StopReason::Reported {
            if let Some(d) = t.snap.media.duration {
                if t.snap.view_offset >= d - SNAP_TO_END {
                    t.snap.view_offset = d;
                }
            }
        }
        if t.announced && reason == StopReason::Reported {
            self.check_watched(key, &mut t);
        }
        t.snap.state = PlaybackState::Stopped;
        if t.announced {
            let session = t.snap.clone();
            self.emit(key, &t, SessionEvent::Stopped { session, reason });
        }
        self.stats.tracked = self.tracked.len() as u64;
    }

    /// Announces a session with what is known of it.
    fn announce(&mut self, key: &str, t: &mut Tracked) {
        t.announced = true;
        t.read = Read::Done;
        self.emit(key, t, SessionEvent::Started(t.snap.clone()));
        self.check_watched(key, t);
    }

    /// The clock moved on: stale sessions end, and are remembered while they report.
    pub fn tick(&mut self, now: Instant) {
        if !self.connected {
            return;
        }
        let stale_after = self.opts.stale_after;
        // A stale session is remembered while its client reports, and some time after.
        self.ghosts
            .retain(|_, g| now.duration_since(g.last_seen) < stale_after * GHOST_MEMORY);
        let stale = self.keys(|t| {
            t.announced
                && (now.duration_since(t.last_seen) >= stale_after
                    || (t.snap.state == PlaybackState::Playing
                        && now.duration_since(t.last_moved) >= stale_after))
        });
        for key in stale {
            if let Some(t) = self.tracked.remove(&key) {
                let ghost = Ghost {
                    snap: t.snap.clone(),
                    watched: t.watched.clone(),
                    last_seen: now,
                };
                self.stop(&key, t, StopReason::Stale);
                if self.ghosts.len() < self.opts.max_sessions {
                    self.ghosts.insert(key, ghost);
                }
            }
        }
    }

    fn media_changed(&mut self, key: &str, t: &mut Tracked, previous: (TrackedMedia, i64)) {
        t.snap.view_offset = clamp(t.snap.view_offset, t.snap.media.duration);
        let event = SessionEvent::MediaChanged {
            session: t.snap.clone(),
            previous: previous.0,
            previous_offset: previous.1,
        };
        self.emit(key, t, event);
        self.check_watched(key, t);
    }

    /// The tracker stops: if asked, every session it announced ends.
    pub fn finish(&mut self) {
        if !self.opts.end_on_stop {
            return;
        }
        let keys = self.keys(|_| true);
        for key in keys {
            if let Some(t) = self.tracked.remove(&key) {
                self.stop(&key, t, StopReason::TrackerStopped);
            }
        }
    }
}

/// The offset within `[0, duration]`.
fn clamp(offset: i64, duration: Option<i64>) -> i64 {
    match duration {
        Some(d) if d > 0 => offset.clamp(0, d),
        _ => offset.max(0),
    }
}
