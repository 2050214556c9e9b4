//! The session tracker's rules, as a state machine with no I/O and no clock of its own:
//! fed notifications, connection changes, the answers of the lookups it asks for, and the
//! time; it says what happened ([`Out`]) and what it wants to read next ([`Want`]).
//!
//! The rules, from what nine real apps do and the quirks that broke them:
//! - A session is keyed by its session key, or by its client for a client that sends
//!   none. Its user, player and item are bound when it first appears, from
//!   `/status/sessions` (one read serves every session that starts together, retried a
//!   few times while a new session is not visible yet), and kept to its end.
//! - `Started` comes once the session is known (its state may be paused or buffering).
//!   Paused, Resumed and Buffering follow the state; a resume after buffering counts only
//!   if it was paused before. Progress: the offset moved while playing.
//! - Seeked: the offset moved more than the seek tolerance beyond what the clock explains
//!   (the elapsed time while playing, nothing while paused); not judged while buffering.
//! - MediaChanged: a new rating key in the same session (autoplay, Live TV's next
//!   programme); the new item is read once.
//! - Watched: once per session and item, when the offset passes the type's threshold,
//!   never while buffering, before the stop that passes it.
//! - Offsets are clamped to the item's duration; at a stop within 10 s of the end they are
//!   the end.
//! - Stopped: reported; stale (nothing heard for `stale_after`, or playing with an offset
//!   that did not move for that long; a paused session that keeps reporting is not stale;
//!   the clock does not run while disconnected); vanished (missing from
//!   `/status/sessions` after a gap, for `absence_grace`, and still missing at one
//!   confirming read); the server restarted (a new version in `/identity` after a gap, or
//!   the key now held by another user or player); the tracker stopped.
//! - After every gap: `/identity` and `/status/sessions` are read, and what changed while
//!   nobody listened comes as events.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

mod lookups;

use super::{Origin, SessionEvent, SessionStats, StopReason, TrackedMedia, TrackedSession};
use crate::{Error, MediaType, PlaySessionState, PlaybackState};

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
    /// `retry_after`, each next after twice as long.
    pub lookup_retries: u32,
    pub retry_after: Duration,
    /// A new session is looked up this long after its first notification, so that
    /// sessions starting together share one read (and a session not visible at once
    /// usually is by then).
    pub gather: Duration,
    pub max_sessions: usize,
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
            gather: Duration::from_millis(100),
            max_sessions: 1000,
        }
    }
}

/// A stop within this much of the end is at the end.
const SNAP_TO_END: i64 = 10_000;

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
    /// An event about the session tracked under `key`.
    Event { key: String, event: SessionEvent },
    /// Something the app should know (a lookup that failed; sessions not visible).
    Error(Error),
}

struct Tracked {
    snap: TrackedSession,
    announced: bool,
    /// Last notification (or listing) about it.
    last_seen: Instant,
    /// When `snap.offset` was observed.
    offset_at: Instant,
    /// Last time the offset moved (or the session was not playing).
    last_moved: Instant,
    /// It was paused before buffering: a resume after the buffering is a Resume.
    was_paused: bool,
    watched: bool,
    /// Not visible yet: reads so far, and when to read again.
    attempts: u32,
    next_lookup: Option<Instant>,
    /// Its item is to be read from `/library/metadata` (sessions not visible to the
    /// token, or never listed).
    needs_metadata: bool,
    /// A new item whose details are to be read: the item before it.
    media_pending: Option<TrackedMedia>,
    /// Missing from `/status/sessions` since, at a resync.
    missing_since: Option<Instant>,
}

pub(crate) struct Machine {
    opts: Options,
    tracked: HashMap<String, Tracked>,
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
    pub out: Vec<Out>,
}

impl Machine {
    pub fn new(opts: Options, now: Instant) -> Machine {
        Machine {
            opts,
            tracked: HashMap::new(),
            stats: SessionStats::default(),
            hidden: false,
            connected: false,
            sync: None,
            sync_due: now,
            sync_attempts: 0,
            awaiting_identity: false,
            version: None,
            full: false,
            out: Vec::new(),
        }
    }

    fn emit(&mut self, key: &str, event: SessionEvent) {
        if matches!(event, SessionEvent::Started(_)) {
            self.stats.sessions += 1;
        }
        self.out.push(Out::Event {
            key: key.to_owned(),
            event,
        });
    }

    /// The listener connected; after a gap, what changed is read.
    pub fn connected(&mut self, after_gap: bool, now: Instant) {
        self.connected = true;
        for t in self.tracked.values_mut() {
            t.last_seen = now;
            t.last_moved = now;
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

    /// What the machine wants read now, if anything.
    pub fn want(&self, now: Instant) -> Option<Want> {
        if self.awaiting_identity && self.sync.is_some() && self.sync_due <= now {
            return Some(Want::Identity);
        }
        let sync_due = self.sync.is_some() && self.sync_due <= now && !self.hidden;
        let sessions_due = !self.hidden
            && self.tracked.values().any(|t| {
                (!t.announced && !t.needs_metadata && t.next_lookup.is_some_and(|at| at <= now))
                    || t.media_pending.is_some()
                    || t.missing_since
                        .is_some_and(|since| since + self.opts.absence_grace <= now)
            });
        if sync_due || sessions_due {
            return Some(Want::Sessions);
        }
        self.tracked
            .values()
            .filter(|t| t.needs_metadata)
            .find_map(|t| t.snap.media.rating_key.clone())
            .map(Want::Metadata)
    }

    /// Sessions whose item cannot be read (no rating key) go on with what is known: the
    /// new ones are announced, a new item is announced as it is.
    pub fn settle(&mut self) {
        let stuck: Vec<String> = self
            .tracked
            .iter()
            .filter(|(_, t)| t.needs_metadata && t.snap.media.rating_key.is_none())
            .map(|(k, _)| k.clone())
            .collect();
        for key in stuck {
            let Some(mut t) = self.tracked.remove(&key) else {
                continue;
            };
            t.needs_metadata = false;
            match t.media_pending.take() {
                Some(previous) => self.media_changed(&key, &mut t, previous),
                None if !t.announced => self.announce(&key, &mut t),
                None => {}
            }
            self.tracked.insert(key, t);
        }
    }

    /// When the machine next has something to do without new input.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut at: Option<Instant> = self.sync.map(|_| self.sync_due);
        let mut earliest = |t: Instant| at = Some(at.map_or(t, |a| a.min(t)));
        for t in self.tracked.values() {
            if let Some(next) = t.next_lookup {
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

    /// A `playing` notification.
    pub fn playing(&mut self, n: &PlaySessionState, now: Instant) {
        let key = match (n.session_key.as_deref(), n.client_identifier.as_deref()) {
            (Some(k), _) if !k.trim().is_empty() => k.to_owned(),
            (_, Some(c)) if !c.is_empty() => format!("client:{c}"),
            _ => {
                self.stats.without_key += 1;
                return;
            }
        };
        let state = match n.playback_state() {
            PlaybackState::Error => PlaybackState::Stopped,
            s => s,
        };
        let Some(mut t) = self.tracked.remove(&key) else {
            self.new_session(key, n, state, now);
            return;
        };
        t.last_seen = now;
        t.missing_since = None;
        if n.transcode_session.is_some() {
            t.snap.transcoding = true;
        }
        let rating_key = n.rating_key.as_deref().filter(|k| !k.is_empty());
        let changed = rating_key.is_some_and(|k| Some(k) != t.snap.media.rating_key.as_deref());
        if !t.announced {
            if changed {
                t.snap.media.rating_key = rating_key.map(str::to_owned);
                t.snap.media.key = n.key.clone().filter(|k| !k.is_empty());
            }
            apply(&mut t, state, n.view_offset, now);
            if state == PlaybackState::Stopped {
                // Over before it was ever seen in /status/sessions.
                self.announce(&key, &mut t);
                self.stop(&key, t, StopReason::Reported);
            } else {
                self.tracked.insert(key, t);
            }
            return;
        }
        if changed {
            let previous = std::mem::take(&mut t.snap.media);
            t.snap.media.rating_key = rating_key.map(str::to_owned);
            t.snap.media.key = n.key.clone().filter(|k| !k.is_empty());
            t.watched = false;
            t.snap.state = if state == PlaybackState::Stopped {
                PlaybackState::Playing
            } else {
                state
            };
            t.snap.offset = n.view_offset.unwrap_or(0).max(0);
            t.offset_at = now;
            t.last_moved = now;
            if state == PlaybackState::Stopped {
                self.emit(
                    &key,
                    SessionEvent::MediaChanged {
                        session: t.snap.clone(),
                        previous,
                    },
                );
                self.stop(&key, t, StopReason::Reported);
                return;
            }
            // The new item is read: from /status/sessions, or from /library/metadata
            // when sessions are not visible.
            t.needs_metadata = self.hidden;
            t.media_pending = Some(previous);
            self.tracked.insert(key, t);
            return;
        }
        self.advance(&key, &mut t, state, n.view_offset, now);
        if state == PlaybackState::Stopped {
            self.stop(&key, t, StopReason::Reported);
        } else {
            self.tracked.insert(key, t);
        }
    }

    fn new_session(
        &mut self,
        key: String,
        n: &PlaySessionState,
        state: PlaybackState,
        now: Instant,
    ) {
        if state == PlaybackState::Stopped {
            // The end of a session it never saw: nothing to say.
            return;
        }
        if self.tracked.len() >= self.opts.max_sessions {
            self.stats.over_limit += 1;
            if !std::mem::replace(&mut self.full, true) {
                self.out.push(Out::Error(Error::TrackerFull {
                    what: "sessions",
                    limit: self.opts.max_sessions,
                }));
            }
            return;
        }
        // Said again only once it has emptied to half: not at each slot freed and taken.
        self.full &= self.tracked.len() > self.opts.max_sessions / 2;
        let media = TrackedMedia {
            rating_key: n.rating_key.clone().filter(|k| !k.is_empty()),
            key: n.key.clone().filter(|k| !k.is_empty()),
            ..TrackedMedia::default()
        };
        let live = media
            .key
            .as_deref()
            .is_some_and(|k| k.starts_with("/livetv/sessions/"));
        let snap = TrackedSession {
            session_key: n.session_key.clone().filter(|k| !k.trim().is_empty()),
            client_identifier: n.client_identifier.clone(),
            user: None,
            player: None,
            media,
            state,
            offset: n.view_offset.unwrap_or(0).max(0),
            started_at: SystemTime::now(),
            paused_for: Duration::ZERO,
            origin: Origin::Started,
            live,
            transient: false,
            transcoding: n.transcode_session.is_some(),
            stream_id: None,
        };
        let t = Tracked {
            snap,
            announced: false,
            last_seen: now,
            offset_at: now,
            last_moved: now,
            was_paused: state == PlaybackState::Paused,
            watched: false,
            attempts: 0,
            next_lookup: Some(now + self.opts.gather),
            needs_metadata: self.hidden,
            media_pending: None,
            missing_since: None,
        };
        self.tracked.insert(key, t);
        self.stats.tracked = self.tracked.len() as u64;
    }

    /// A known session's state and offset move on: the events that says.
    fn advance(
        &mut self,
        key: &str,
        t: &mut Tracked,
        state: PlaybackState,
        offset: Option<i64>,
        now: Instant,
    ) {
        let (before, from) = (t.snap.state, t.snap.offset);
        let elapsed = now.duration_since(t.offset_at).as_millis() as i64;
        let expected = match before {
            PlaybackState::Playing => from + elapsed,
            _ => from,
        };
        apply(t, state, offset, now);
        let to = t.snap.offset;
        let judged = before != PlaybackState::Buffering && state != PlaybackState::Buffering;
        let tolerance = self.opts.seek_tolerance.as_millis() as i64;
        // A jump against the clock; at a stop, an offset snapped to the end is no jump.
        let seeked = judged && state != PlaybackState::Stopped && (to - expected).abs() > tolerance;
        let mut any = false;
        let snap = || t.snap.clone();
        match (before, state) {
            (PlaybackState::Paused, PlaybackState::Paused) => {}
            (_, PlaybackState::Paused) => {
                t.was_paused = true;
                self.emit(key, SessionEvent::Paused(snap()));
                any = true;
            }
            (PlaybackState::Paused, PlaybackState::Playing) => {
                t.was_paused = false;
                self.emit(key, SessionEvent::Resumed(snap()));
                any = true;
            }
            (PlaybackState::Buffering, PlaybackState::Playing) if t.was_paused => {
                t.was_paused = false;
                self.emit(key, SessionEvent::Resumed(snap()));
                any = true;
            }
            (PlaybackState::Buffering, PlaybackState::Buffering) => {}
            (_, PlaybackState::Buffering) => {
                self.emit(key, SessionEvent::Buffering(snap()));
                any = true;
            }
            _ => {}
        }
        if seeked {
            self.emit(
                key,
                SessionEvent::Seeked {
                    session: snap(),
                    from,
                },
            );
            any = true;
        }
        if state == PlaybackState::Playing && !any && to != from {
            self.emit(key, SessionEvent::Progress(snap()));
        }
        self.check_watched(key, t);
    }

    fn check_watched(&mut self, key: &str, t: &mut Tracked) {
        if t.watched || t.snap.state == PlaybackState::Buffering {
            return;
        }
        let threshold = self.watched_at(&t.snap.media);
        if t.snap.progress().is_some_and(|p| p >= threshold) {
            t.watched = true;
            self.emit(key, SessionEvent::Watched(t.snap.clone()));
        }
    }

    /// Ends a session: Watched if its last offset passed the threshold, then Stopped.
    fn stop(&mut self, key: &str, mut t: Tracked, reason: StopReason) {
        if reason == StopReason::Reported {
            if let Some(d) = t.snap.media.duration {
                if t.snap.offset >= d - SNAP_TO_END {
                    t.snap.offset = d;
                }
            }
        }
        if t.announced && reason == StopReason::Reported {
            self.check_watched(key, &mut t);
        }
        t.snap.state = PlaybackState::Stopped;
        if t.announced {
            self.emit(
                key,
                SessionEvent::Stopped {
                    session: t.snap,
                    reason,
                },
            );
        }
        self.stats.tracked = self.tracked.len() as u64;
    }

    /// Announces a session with what is known of it.
    fn announce(&mut self, key: &str, t: &mut Tracked) {
        t.announced = true;
        t.next_lookup = None;
        t.needs_metadata = false;
        self.emit(key, SessionEvent::Started(t.snap.clone()));
        self.check_watched(key, t);
    }

    /// The clock moved on: stale sessions end.
    pub fn tick(&mut self, now: Instant) {
        if !self.connected {
            return;
        }
        let stale_after = self.opts.stale_after;
        let stale: Vec<String> = self
            .tracked
            .iter()
            .filter(|(_, t)| {
                t.announced
                    && (now.duration_since(t.last_seen) >= stale_after
                        || (t.snap.state == PlaybackState::Playing
                            && now.duration_since(t.last_moved) >= stale_after))
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            if let Some(t) = self.tracked.remove(&key) {
                self.stop(&key, t, StopReason::Stale);
            }
        }
    }

    fn media_changed(&mut self, key: &str, t: &mut Tracked, previous: TrackedMedia) {
        t.snap.offset = clamp(t.snap.offset, t.snap.media.duration);
        self.emit(
            key,
            SessionEvent::MediaChanged {
                session: t.snap.clone(),
                previous,
            },
        );
        self.check_watched(key, t);
    }

    /// The tracker stops: every session it announced ends.
    pub fn finish(&mut self) {
        let keys: Vec<String> = self.tracked.keys().cloned().collect();
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

fn state_of(s: &str) -> PlaybackState {
    match s {
        "playing" => PlaybackState::Playing,
        "paused" => PlaybackState::Paused,
        "buffering" => PlaybackState::Buffering,
        _ => PlaybackState::Playing,
    }
}

/// Takes a notification's state and offset, keeping the time paused.
fn apply(t: &mut Tracked, state: PlaybackState, offset: Option<i64>, now: Instant) {
    let elapsed = now.duration_since(t.offset_at);
    if t.snap.state == PlaybackState::Paused {
        t.snap.paused_for += elapsed;
    }
    let offset = offset.unwrap_or(match t.snap.state {
        PlaybackState::Playing => t.snap.offset + elapsed.as_millis() as i64,
        _ => t.snap.offset,
    });
    let offset = clamp(offset, t.snap.media.duration);
    if offset != t.snap.offset || state != PlaybackState::Playing {
        t.last_moved = now;
    }
    t.snap.offset = offset;
    t.offset_at = now;
    if state != PlaybackState::Unknown {
        t.snap.state = state;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(key: &str, state: &str, offset: i64) -> PlaySessionState {
        PlaySessionState {
            session_key: Some(key.into()),
            rating_key: Some("100".into()),
            state: Some(state.into()),
            view_offset: Some(offset),
            ..PlaySessionState::default()
        }
    }

    fn listed(key: &str, offset: i64) -> Session {
        let mut s: Session = serde_json::from_value(serde_json::json!({
            "sessionKey": key, "ratingKey": "100", "title": "Arrival", "type": "movie",
            "duration": 6_960_000, "viewOffset": offset,
            "User": {"id": "1", "title": "alice"},
            "Player": {"machineIdentifier": "tv", "state": "playing"},
        }))
        .unwrap();
        s.view_offset = Some(offset);
        s
    }

    fn kinds(m: &mut Machine) -> Vec<&'static str> {
        std::mem::take(&mut m.out)
            .into_iter()
            .map(|o| match o {
                Out::Event { event, .. } => event.name(),
                Out::Error(_) => "error",
            })
            .collect()
    }

    /// A machine with one announced session "1", playing from offset 0 at `t0`.
    fn started(t0: Instant) -> Machine {
        let mut m = Machine::new(Options::default(), t0);
        m.connected(false, t0);
        m.identity(Ok(ServerIdentity::default()), t0);
        m.sessions(Ok(vec![]), t0);
        m.playing(&note("1", "playing", 0), t0);
        assert_eq!(m.want(t0), None, "gathering");
        let t0 = m.next_deadline().unwrap();
        assert_eq!(m.want(t0), Some(Want::Sessions));
        m.sessions(Ok(vec![listed("1", 0)]), t0);
        assert_eq!(kinds(&mut m), ["started"]);
        m
    }

    use crate::{ServerIdentity, Session};

    #[test]
    fn playback_that_keeps_pace_with_the_clock_is_progress_and_a_jump_is_a_seek() {
        let t0 = Instant::now();
        let mut m = started(t0);
        let at = |s: u64| t0 + Duration::from_secs(s);
        m.playing(&note("1", "playing", 10_000), at(10));
        assert_eq!(kinds(&mut m), ["progress"]);
        // 4.9 s ahead of the clock: within the tolerance.
        m.playing(&note("1", "playing", 24_900), at(20));
        assert_eq!(kinds(&mut m), ["progress"]);
        // 30 s ahead: a seek.
        m.playing(&note("1", "playing", 64_900), at(30));
        assert_eq!(kinds(&mut m), ["seeked"]);
        // Paused: the clock moves, the offset may not.
        m.playing(&note("1", "paused", 64_900), at(31));
        m.playing(&note("1", "paused", 64_900), at(60));
        assert_eq!(kinds(&mut m), ["paused"]);
        m.playing(&note("1", "playing", 64_900), at(61));
        let out = std::mem::take(&mut m.out);
        let Some(Out::Event {
            event: SessionEvent::Resumed(s),
            ..
        }) = out.first()
        else {
            panic!("{out:?}")
        };
        assert_eq!(s.paused_for, Duration::from_secs(30));
    }

    #[test]
    fn the_stale_clock_does_not_run_while_disconnected() {
        let t0 = Instant::now();
        let mut m = started(t0);
        m.disconnected();
        m.tick(t0 + Duration::from_secs(3600));
        assert!(kinds(&mut m).is_empty(), "not stale while nobody listens");
        m.connected(true, t0 + Duration::from_secs(3600));
        m.tick(t0 + Duration::from_secs(3601));
        assert!(kinds(&mut m).is_empty());
        m.tick(t0 + Duration::from_secs(3600 + 301));
        assert_eq!(kinds(&mut m), ["stopped"]);
    }

    #[test]
    fn a_session_without_identity_after_every_retry_goes_on_with_its_item_read_alone() {
        let t0 = Instant::now();
        let mut m = Machine::new(Options::default(), t0);
        m.playing(&note("9", "playing", 0), t0);
        let mut now = t0;
        for _ in 0..=Options::default().lookup_retries {
            now = m.next_deadline().unwrap().max(now);
            assert_eq!(m.want(now), Some(Want::Sessions));
            m.sessions(Ok(vec![]), now);
        }
        assert_eq!(m.want(now), Some(Want::Metadata("100".into())));
        m.metadata("100", Ok(None));
        assert_eq!(kinds(&mut m), ["started"]);
        assert_eq!(m.stats.retries, 3);
    }
}
