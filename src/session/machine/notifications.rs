//! A `playing` notification: a known session moves on (its state, its offset, its item),
//! a new one is to be looked up, a stale one that still reports stays ended, a known key
//! named by another player is another session.

use std::time::{Duration, Instant, SystemTime};

use super::{Machine, Out, Read, Tracked, clamp};
use crate::session::{Origin, SessionEvent, StopReason, TrackedMedia, TrackedSession};
use crate::{Error, PlaySessionState, PlaybackState};

impl Machine {
    /// A `playing` notification.
    pub fn playing(&mut self, n: &PlaySessionState, now: Instant) {
        let key = match (n.session_key.as_deref(), client(n)) {
            (Some(k), _) if !k.trim().is_empty() => k.to_owned(),
            (_, Some(c)) => format!("client:{c}"),
            _ => {
                self.stats.without_key += 1;
                return;
            }
        };
        let state = match n.state {
            PlaybackState::Error => PlaybackState::Stopped,
            s => s,
        };
        let Some(mut t) = self.tracked.remove(&key) else {
            self.untracked(key, n, state, now);
            return;
        };
        if differs(client(n), t.snap.client_identifier.as_deref()) {
            // Keys start again from 1 after a restart: this key is another player's now.
            if t.announced {
                self.stop(&key, t, StopReason::ServerRestarted);
            }
            self.new_session(key, n, state, now, Origin::Started);
            return;
        }
        t.last_seen = now;
        t.missing_since = None;
        if n.transcode_session.is_some() {
            t.snap.transcoding = true;
        }
        let rating_key = n.rating_key.as_deref().filter(|k| !k.is_empty());
        if t.snap.media.rating_key.is_none() {
            // Found in a listing that names no item (Live TV): the notification's is it.
            t.snap.media.rating_key = rating_key.map(str::to_owned);
        }
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
            let previous = (std::mem::take(&mut t.snap.media), t.snap.view_offset);
            t.snap.media.rating_key = rating_key.map(str::to_owned);
            t.snap.media.key = n.key.clone().filter(|k| !k.is_empty());
            t.snap.state = if state == PlaybackState::Stopped {
                PlaybackState::Playing
            } else {
                state
            };
            t.snap.view_offset = n.view_offset.unwrap_or(0).max(0);
            t.offset_at = now;
            t.last_moved = now;
            if state == PlaybackState::Stopped {
                let event = SessionEvent::MediaChanged {
                    session: t.snap.clone(),
                    previous: previous.0,
                    previous_offset: previous.1,
                };
                self.emit(&key, &t, event);
                self.stop(&key, t, StopReason::Reported);
                return;
            }
            // The new item is read once: from /status/sessions, or from /library/metadata
            // when sessions are not visible (or the listing does not show it yet).
            t.read = match self.hidden {
                true => Read::Metadata { failed: 0, at: now },
                false => Read::Listing { left: 0, at: now },
            };
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

    /// A notification of a key not tracked now: a new session, or a stale one that
    /// still reports.
    fn untracked(&mut self, key: String, n: &PlaySessionState, state: PlaybackState, now: Instant) {
        let Some(ghost) = self.ghosts.get_mut(&key) else {
            self.new_session(key, n, state, now, Origin::Started);
            return;
        };
        if differs(client(n), ghost.snap.client_identifier.as_deref()) {
            self.ghosts.remove(&key);
            self.new_session(key, n, state, now, Origin::Started);
            return;
        }
        let offset = n.view_offset.map(|o| clamp(o, ghost.snap.media.duration));
        let rating_key = n.rating_key.as_deref().filter(|k| !k.is_empty());
        let same_item =
            rating_key.is_none_or(|k| Some(k) == ghost.snap.media.rating_key.as_deref());
        if state == PlaybackState::Stopped {
            // The stop that never came, late: the session ended already.
            self.ghosts.remove(&key);
            return;
        }
        if same_item && offset.is_none_or(|o| o == ghost.snap.view_offset) {
            // Still frozen where it ended: nothing to say, nothing to read.
            ghost.last_seen = now;
            return;
        }
        let ghost = self.ghosts.remove(&key).expect("just found");
        if !same_item {
            self.new_session(key, n, state, now, Origin::Reappeared);
            return;
        }
        // The same player and item moving again: a new session, with who and what it
        // was bound to.
        let mut t = self.tracked_from(ghost.snap, Origin::Reappeared, state, now);
        t.watched = ghost.watched;
        t.snap.view_offset = offset.unwrap_or(t.snap.view_offset);
        t.snap.transcoding = n.transcode_session.is_some();
        self.announce(&key, &mut t);
        self.tracked.insert(key, t);
    }

    /// A session not tracked before: to be announced once its identity is read.
    fn new_session(
        &mut self,
        key: String,
        n: &PlaySessionState,
        state: PlaybackState,
        now: Instant,
        origin: Origin,
    ) {
        if state == PlaybackState::Stopped {
            // The end of a session it never saw: nothing to say.
            return;
        }
        if !self.room() {
            return;
        }
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
            client_identifier: client(n).map(str::to_owned),
            user: None,
            player: None,
            media,
            state,
            view_offset: n.view_offset.unwrap_or(0).max(0),
            started_at: SystemTime::now(),
            paused_for: Duration::ZERO,
            origin,
            live,
            transient: false,
            transcoding: n.transcode_session.is_some(),
            play_id: None,
        };
        let mut t = self.tracked_from(snap, origin, state, now);
        t.announced = false;
        t.read = match self.hidden {
            true => Read::Metadata { failed: 0, at: now },
            false => Read::Listing {
                left: self.opts.lookup_retries,
                at: now + self.opts.gather,
            },
        };
        self.tracked.insert(key, t);
        self.stats.tracked = self.tracked.len() as u64;
    }

    /// Whether there is room for one more session; said once when there is not, and
    /// again only once it has emptied to half.
    pub(super) fn room(&mut self) -> bool {
        if self.tracked.len() >= self.opts.max_sessions {
            self.stats.over_limit += 1;
            if !std::mem::replace(&mut self.full, true) {
                self.out.push(Out::Error(Error::TrackerFull {
                    what: "sessions",
                    limit: self.opts.max_sessions,
                }));
            }
            return false;
        }
        self.full &= self.tracked.len() > self.opts.max_sessions / 2;
        true
    }

    /// A session to track from `snap`, with a new sequence number, seen now.
    pub(super) fn tracked_from(
        &mut self,
        mut snap: TrackedSession,
        origin: Origin,
        state: PlaybackState,
        now: Instant,
    ) -> Tracked {
        self.next_seq += 1;
        snap.origin = origin;
        snap.started_at = SystemTime::now();
        snap.paused_for = Duration::ZERO;
        snap.state = match state {
            // A session found again, in a notification that names no state.
            PlaybackState::Unknown | PlaybackState::Stopped
                if snap.state == PlaybackState::Stopped =>
            {
                PlaybackState::Playing
            }
            PlaybackState::Unknown => snap.state,
            state => state,
        };
        Tracked {
            was_paused: snap.state == PlaybackState::Paused,
            snap,
            seq: self.next_seq,
            announced: false,
            last_seen: now,
            offset_at: now,
            last_moved: now,
            watched: Vec::new(),
            read: Read::Done,
            media_pending: None,
            missing_since: None,
            confirm_failures: 0,
        }
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
        let (before, from) = (t.snap.state, t.snap.view_offset);
        let elapsed = now.duration_since(t.offset_at).as_millis() as i64;
        let expected = match before {
            PlaybackState::Playing => from + elapsed,
            _ => from,
        };
        apply(t, state, offset, now);
        let to = t.snap.view_offset;
        let judged = before != PlaybackState::Buffering && state != PlaybackState::Buffering;
        let tolerance = self.opts.seek_tolerance.as_millis() as i64;
        // A jump against the clock; at a stop, an offset snapped to the end is no jump, and
        // an offset that stands still is a stall, not a jump.
        let seeked = judged
            && state != PlaybackState::Stopped
            && to != from
            && (to - expected).abs() > tolerance;
        let mut any = false;
        let event = match (before, state) {
            (PlaybackState::Paused, PlaybackState::Paused) => None,
            (_, PlaybackState::Paused) => {
                t.was_paused = true;
                Some(SessionEvent::Paused(t.snap.clone()))
            }
            (PlaybackState::Paused, PlaybackState::Playing) => {
                t.was_paused = false;
                Some(SessionEvent::Resumed(t.snap.clone()))
            }
            (PlaybackState::Buffering, PlaybackState::Playing) if t.was_paused => {
                t.was_paused = false;
                Some(SessionEvent::Resumed(t.snap.clone()))
            }
            (PlaybackState::Buffering, PlaybackState::Buffering) => None,
            (_, PlaybackState::Buffering) => Some(SessionEvent::Buffering(t.snap.clone())),
            _ => None,
        };
        if let Some(event) = event {
            self.emit(key, t, event);
            any = true;
        }
        if seeked {
            let session = t.snap.clone();
            self.emit(key, t, SessionEvent::Seeked { session, from });
            any = true;
        }
        if state == PlaybackState::Playing && !any && to != from {
            self.emit(key, t, SessionEvent::Progress(t.snap.clone()));
        }
        self.check_watched(key, t);
    }
}

/// The notification's client identifier, if it names one.
fn client(n: &PlaySessionState) -> Option<&str> {
    n.client_identifier.as_deref().filter(|c| !c.is_empty())
}

/// Whether two identifiers are both known and not the same.
pub(super) fn differs(a: Option<&str>, b: Option<&str>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a != b)
}

/// Takes a notification's state and offset, keeping the time paused.
pub(super) fn apply(t: &mut Tracked, state: PlaybackState, offset: Option<i64>, now: Instant) {
    let elapsed = now.duration_since(t.offset_at);
    if t.snap.state == PlaybackState::Paused {
        t.snap.paused_for += elapsed;
    }
    let offset = offset.unwrap_or(match t.snap.state {
        PlaybackState::Playing => t.snap.view_offset + elapsed.as_millis() as i64,
        _ => t.snap.view_offset,
    });
    let offset = clamp(offset, t.snap.media.duration);
    if offset != t.snap.view_offset || state != PlaybackState::Playing {
        t.last_moved = now;
    }
    t.snap.view_offset = offset;
    t.offset_at = now;
    if state != PlaybackState::Unknown {
        t.snap.state = state;
    }
}
