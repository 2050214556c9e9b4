//! The tracker's lookups answered: `/identity` and `/status/sessions` at a sync, a new
//! session's identity, a confirming read, `/library/metadata` for an item.

use std::time::{Duration, Instant, SystemTime};

use super::{Machine, Out, Tracked, clamp, state_of};
use crate::session::{Origin, SessionEvent, StopReason, TrackedMedia, TrackedSession};
use crate::{Error, Metadata, PlaybackState, ServerIdentity, Session};

impl Machine {
    /// The answer to `/identity`, read at a sync.
    pub fn identity(&mut self, answer: Result<ServerIdentity, Error>, now: Instant) {
        self.stats.identity_reads += 1;
        self.awaiting_identity = false;
        match answer {
            Ok(id) => {
                let restarted =
                    self.version.is_some() && id.version.is_some() && id.version != self.version;
                if id.version.is_some() {
                    self.version = id.version;
                }
                if restarted {
                    let keys: Vec<String> = self.tracked.keys().cloned().collect();
                    for key in keys {
                        if let Some(t) = self.tracked.remove(&key) {
                            self.stop(&key, t, StopReason::ServerRestarted);
                        }
                    }
                }
            }
            Err(e) => self.out.push(Out::Error(e)),
        }
        self.sync_due = now;
    }

    /// The answer to `/status/sessions`: it serves every purpose due now.
    pub fn sessions(&mut self, answer: Result<Vec<Session>, Error>, now: Instant) {
        let sync = self.sync.filter(|_| self.sync_due <= now);
        let due_new = self
            .tracked
            .values()
            .any(|t| !t.announced && t.next_lookup.is_some_and(|at| at <= now));
        let due_confirm = self.tracked.values().any(|t| {
            t.missing_since
                .is_some_and(|s| s + self.opts.absence_grace <= now)
        });
        match (sync, due_new, due_confirm) {
            (Some(_), _, _) => self.stats.resyncs += 1,
            (None, true, _) => {
                let retry = self
                    .tracked
                    .values()
                    .any(|t| !t.announced && t.attempts > 0);
                match retry {
                    true => self.stats.retries += 1,
                    false => self.stats.lookups += 1,
                }
            }
            (None, false, true) => self.stats.confirmations += 1,
            (None, false, false) => self.stats.lookups += 1,
        }
        let listing = match answer {
            Ok(listing) => listing,
            Err(e @ Error::Forbidden { .. }) => {
                // Told once: from now on identities stay unknown and items are read
                // from /library/metadata.
                if !self.hidden {
                    self.out.push(Out::Error(e));
                }
                self.hidden = true;
                self.sync = None;
                for t in self.tracked.values_mut() {
                    t.missing_since = None;
                    if !t.announced || t.media_pending.is_some() {
                        t.needs_metadata = true;
                        t.next_lookup = None;
                    }
                }
                return;
            }
            Err(e) => {
                self.out.push(Out::Error(e));
                self.failed_read(now);
                return;
            }
        };
        if let Some(origin) = sync {
            self.sync = None;
            self.reconcile(&listing, origin, now);
        }
        let keys: Vec<String> = self.tracked.keys().cloned().collect();
        for key in keys {
            let Some(mut t) = self.tracked.remove(&key) else {
                continue;
            };
            let entry = find(&listing, &key, &t);
            if !t.announced && t.next_lookup.is_some_and(|at| at <= now) {
                match entry {
                    Some(e) => {
                        bind(&mut t, e);
                        self.announce(&key, &mut t);
                    }
                    None if t.attempts < self.opts.lookup_retries => {
                        let wait = self.opts.retry_after * 2u32.pow(t.attempts);
                        t.attempts += 1;
                        t.next_lookup = Some(now + wait);
                    }
                    // Never listed: its item from /library/metadata, its user unknown.
                    None => {
                        t.next_lookup = None;
                        t.needs_metadata = t.snap.media.rating_key.is_some();
                        if !t.needs_metadata {
                            self.announce(&key, &mut t);
                        }
                    }
                }
            }
            if let Some(previous) = t.media_pending.take() {
                match entry {
                    Some(e) if e.rating_key == t.snap.media.rating_key || t.snap.live => {
                        let rating_key = t.snap.media.rating_key.take();
                        t.snap.media = TrackedMedia::from_session(e);
                        t.snap.media.rating_key = t.snap.media.rating_key.take().or(rating_key);
                        self.media_changed(&key, &mut t, previous);
                    }
                    _ => {
                        t.media_pending = Some(previous);
                        t.needs_metadata = true;
                    }
                }
            }
            if t.missing_since
                .is_some_and(|s| s + self.opts.absence_grace <= now)
            {
                if entry.is_some() {
                    t.missing_since = None;
                } else {
                    self.stop(&key, t, StopReason::Vanished);
                    continue;
                }
            }
            self.tracked.insert(key, t);
        }
        self.stats.tracked = self.tracked.len() as u64;
    }

    /// A read of `/status/sessions` failed: new sessions wait for another try, or go on
    /// without an identity; a sync is tried again.
    fn failed_read(&mut self, now: Instant) {
        if self.sync.is_some() {
            self.sync_attempts += 1;
            if self.sync_attempts > self.opts.lookup_retries {
                self.sync = None;
            } else {
                self.sync_due = now + self.opts.retry_after * 2u32.pow(self.sync_attempts);
            }
        }
        for t in self.tracked.values_mut() {
            if !t.announced && t.next_lookup.is_some_and(|at| at <= now) {
                t.attempts += 1;
                match t.attempts > self.opts.lookup_retries {
                    true => {
                        t.next_lookup = None;
                        t.needs_metadata = true;
                    }
                    false => {
                        t.next_lookup =
                            Some(now + self.opts.retry_after * 2u32.pow(t.attempts - 1));
                    }
                }
            }
            if t.missing_since
                .is_some_and(|s| s + self.opts.absence_grace <= now)
            {
                // Not confirmed either way: wait another grace period.
                t.missing_since = Some(now);
            }
            if t.media_pending.is_some() {
                t.needs_metadata = true;
            }
        }
    }

    /// The answer to `/library/metadata/{rating_key}`.
    pub fn metadata(&mut self, rating_key: &str, answer: Result<Option<Metadata>, Error>) {
        self.stats.metadata_reads += 1;
        let item = match answer {
            Ok(item) => item,
            Err(e) => {
                self.out.push(Out::Error(e));
                None
            }
        };
        let keys: Vec<String> = self
            .tracked
            .iter()
            .filter(|(_, t)| {
                t.needs_metadata && t.snap.media.rating_key.as_deref() == Some(rating_key)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            let Some(mut t) = self.tracked.remove(&key) else {
                continue;
            };
            t.needs_metadata = false;
            if let Some(item) = &item {
                let mut media = TrackedMedia::from_metadata(item);
                media.key = media.key.or(t.snap.media.key.take());
                media.rating_key = Some(rating_key.to_owned());
                t.snap.media = media;
            }
            match t.media_pending.take() {
                Some(previous) => self.media_changed(&key, &mut t, previous),
                None if !t.announced => self.announce(&key, &mut t),
                None => {}
            }
            self.tracked.insert(key, t);
        }
    }

    /// A first sync, or a resync after a gap: what `/status/sessions` lists against what
    /// the tracker knows.
    fn reconcile(&mut self, listing: &[Session], origin: Origin, now: Instant) {
        let mut seen: Vec<String> = Vec::new();
        for entry in listing {
            let found = self
                .tracked
                .iter()
                .find(|(key, t)| matches(entry, key, t))
                .map(|(k, _)| k.clone());
            if let Some(key) = found {
                let mut t = self.tracked.remove(&key).expect("just found");
                if t.announced && !same_viewer(&t, entry) {
                    // The key is someone else's now: the server restarted meanwhile.
                    self.stop(&key, t, StopReason::ServerRestarted);
                } else {
                    t.missing_since = None;
                    t.last_seen = now;
                    if t.announced {
                        self.catch_up(&key, &mut t, entry, now);
                    } else {
                        bind(&mut t, entry);
                        self.announce(&key, &mut t);
                    }
                    seen.push(key.clone());
                    self.tracked.insert(key, t);
                    continue;
                }
            }
            let Some(key) = entry_key(entry) else {
                self.stats.without_key += 1;
                continue;
            };
            if self.tracked.len() >= self.opts.max_sessions {
                self.stats.over_limit += 1;
                continue;
            }
            let mut t = from_entry(entry, origin, now);
            self.announce(&key, &mut t);
            seen.push(key.clone());
            self.tracked.insert(key, t);
        }
        for (key, t) in self.tracked.iter_mut() {
            if t.announced && !seen.contains(key) && t.missing_since.is_none() {
                t.missing_since = Some(now);
            }
        }
        self.stats.tracked = self.tracked.len() as u64;
    }

    /// A known session as a resync finds it: what changed while nobody listened.
    fn catch_up(&mut self, key: &str, t: &mut Tracked, entry: &Session, now: Instant) {
        let listed = entry.rating_key.as_deref();
        if !t.snap.live && listed.is_some() && listed != t.snap.media.rating_key.as_deref() {
            let previous = std::mem::replace(&mut t.snap.media, TrackedMedia::from_session(entry));
            t.watched = false;
            t.snap.offset = clamp(entry.view_offset.unwrap_or(0), t.snap.media.duration);
            t.offset_at = now;
            self.media_changed(key, t, previous);
        }
        let state = entry
            .player
            .as_ref()
            .and_then(|p| p.state.as_deref())
            .map_or(t.snap.state, state_of);
        // Across a gap, a jump is no seek: the baseline starts over.
        t.snap.offset = clamp(
            entry.view_offset.unwrap_or(t.snap.offset),
            t.snap.media.duration,
        );
        t.offset_at = now;
        let before = t.snap.state;
        t.snap.state = state;
        t.last_moved = now;
        let event = match (before, state) {
            (b, s) if b == s => None,
            (_, PlaybackState::Paused) => Some(SessionEvent::Paused(t.snap.clone())),
            (PlaybackState::Paused, PlaybackState::Playing) => {
                Some(SessionEvent::Resumed(t.snap.clone()))
            }
            (_, PlaybackState::Buffering) => Some(SessionEvent::Buffering(t.snap.clone())),
            _ => None,
        };
        if let Some(event) = event {
            self.emit(key, event);
        }
    }
}

/// Whether a listed session is this tracked one: by session key, or by client for a
/// session tracked without one.
fn matches(entry: &Session, key: &str, t: &Tracked) -> bool {
    match key.strip_prefix("client:") {
        Some(client) if t.snap.session_key.is_none() => {
            entry
                .player
                .as_ref()
                .and_then(|p| p.machine_identifier.as_deref())
                == Some(client)
        }
        _ => entry.session_key.as_deref() == Some(key),
    }
}

fn find<'a>(listing: &'a [Session], key: &str, t: &Tracked) -> Option<&'a Session> {
    listing.iter().find(|e| matches(e, key, t))
}

/// Whether the listed session has the user and player the tracked one was bound to.
fn same_viewer(t: &Tracked, entry: &Session) -> bool {
    let user = |u: Option<&crate::User>| u.and_then(|u| u.id.clone());
    let player = |p: Option<&crate::Player>| p.and_then(|p| p.machine_identifier.clone());
    let differs =
        |a: Option<String>, b: Option<String>| matches!((a, b), (Some(a), Some(b)) if a != b);
    !differs(user(t.snap.user.as_ref()), user(entry.user.as_ref()))
        && !differs(
            player(t.snap.player.as_ref()),
            player(entry.player.as_ref()),
        )
}

fn entry_key(entry: &Session) -> Option<String> {
    match (
        &entry.session_key,
        entry
            .player
            .as_ref()
            .and_then(|p| p.machine_identifier.as_ref()),
    ) {
        (Some(k), _) if !k.is_empty() => Some(k.clone()),
        (_, Some(c)) => Some(format!("client:{c}")),
        _ => None,
    }
}

/// Binds what `/status/sessions` says of a session: who, on what, which item.
fn bind(t: &mut Tracked, entry: &Session) {
    let s = &mut t.snap;
    s.user = entry.user.clone();
    s.player = entry.player.clone();
    let rating_key = s.media.rating_key.take();
    let key = s.media.key.take();
    s.media = TrackedMedia::from_session(entry);
    // Live TV lists no rating key: the notification's stays.
    s.media.rating_key = s.media.rating_key.take().or(rating_key);
    s.media.key = s.media.key.take().or(key);
    s.live = s.live || entry.is_live();
    s.transient = is_transient(entry);
    s.transcoding = s.transcoding || entry.transcode.is_some();
    s.stream_id = entry.session.as_ref().and_then(|i| i.id.clone());
    if s.client_identifier.is_none() {
        s.client_identifier = entry
            .player
            .as_ref()
            .and_then(|p| p.machine_identifier.clone());
    }
    s.offset = clamp(s.offset, s.media.duration);
}

/// Prerolls and theme music: playback apps leave out of history.
fn is_transient(entry: &Session) -> bool {
    entry.is_preroll()
        || entry
            .guid
            .as_deref()
            .is_some_and(|g| g.starts_with("library://"))
}

/// A session first seen in a listing (a sync).
fn from_entry(entry: &Session, origin: Origin, now: Instant) -> Tracked {
    let state = entry
        .player
        .as_ref()
        .and_then(|p| p.state.as_deref())
        .map_or(PlaybackState::Playing, state_of);
    let mut t = Tracked {
        snap: TrackedSession {
            session_key: entry.session_key.clone(),
            client_identifier: None,
            user: None,
            player: None,
            media: TrackedMedia::default(),
            state,
            offset: entry.view_offset.unwrap_or(0).max(0),
            started_at: SystemTime::now(),
            paused_for: Duration::ZERO,
            origin,
            live: false,
            transient: false,
            transcoding: false,
            stream_id: None,
        },
        announced: false,
        last_seen: now,
        offset_at: now,
        last_moved: now,
        was_paused: state == PlaybackState::Paused,
        watched: false,
        attempts: 0,
        next_lookup: None,
        needs_metadata: false,
        media_pending: None,
        missing_since: None,
    };
    bind(&mut t, entry);
    t
}
