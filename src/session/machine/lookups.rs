//! The tracker's lookups answered: `/identity` and `/status/sessions` at a sync, a new
//! session's identity, a new item, a confirming read, `/library/metadata` for an item.

use std::time::{Duration, Instant};

use super::notifications::differs;
use super::{Machine, Out, Read, Tracked, clamp};
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
                    self.ghosts.clear();
                    let keys = self.keys(|_| true);
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
        self.count_listing(sync.is_some(), now);
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
                self.synced = true;
                for t in self.tracked.values_mut() {
                    t.missing_since = None;
                    if matches!(t.read, Read::Listing { .. }) {
                        t.read = Read::Metadata { failed: 0, at: now };
                    }
                }
                return;
            }
            Err(e) => {
                let wait = e.retry_after();
                self.out.push(Out::Error(e));
                self.failed_read(now, wait);
                return;
            }
        };
        if let Some(origin) = sync {
            self.sync = None;
            self.synced = true;
            self.reconcile(&listing, origin, now);
        }
        let keys = self.keys(|_| true);
        for key in keys {
            let Some(mut t) = self.tracked.remove(&key) else {
                continue;
            };
            let entry = find(&listing, &key, &t);
            if t.read.listing_due(now) {
                match (entry, &t.media_pending) {
                    (Some(e), None) => {
                        bind(&mut t, e);
                        self.announce(&key, &mut t);
                    }
                    (Some(e), Some(_))
                        if e.rating_key == t.snap.media.rating_key || t.snap.live =>
                    {
                        let rating_key = t.snap.media.rating_key.take();
                        t.snap.media = TrackedMedia::from_session(e);
                        t.snap.media.rating_key = t.snap.media.rating_key.take().or(rating_key);
                        self.known(&key, &mut t);
                    }
                    // Not listed (yet), or still with the item before.
                    _ => self.not_listed(&key, &mut t, now, None),
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

    /// Counts a read of `/status/sessions` by what it was for.
    fn count_listing(&mut self, sync: bool, now: Instant) {
        let lookups_due = |retry: bool| {
            self.tracked.values().any(|t| {
                matches!(t.read, Read::Listing { left, at }
                    if at <= now && (left < self.opts.lookup_retries) == retry && !t.announced)
            })
        };
        let stats = &mut self.stats;
        if sync {
            stats.resyncs += 1;
        } else if lookups_due(false) {
            stats.lookups += 1;
        } else if lookups_due(true) {
            stats.retries += 1;
        } else if self.tracked.values().any(|t| t.read.listing_due(now)) {
            // A new item's.
            stats.lookups += 1;
        } else {
            stats.confirmations += 1;
        }
    }

    /// A session the listing did not show as asked: read again while it may not be
    /// visible yet, then its item from `/library/metadata`.
    fn not_listed(&mut self, key: &str, t: &mut Tracked, now: Instant, wait: Option<Duration>) {
        t.read = match t.read {
            Read::Listing { left, .. } if left > 0 => {
                let done = self.opts.lookup_retries.saturating_sub(left);
                let spacing = self.opts.retry_after * 2u32.saturating_pow(done);
                Read::Listing {
                    left: left - 1,
                    at: now + spacing.max(wait.unwrap_or_default()),
                }
            }
            _ => Read::Metadata { failed: 0, at: now },
        };
        if matches!(t.read, Read::Metadata { .. }) && t.snap.media.rating_key.is_none() {
            self.known(key, t);
        }
    }

    /// A read of `/status/sessions` failed: what was due is tried again later (not before
    /// the server's `wait`), a bounded number of times.
    fn failed_read(&mut self, now: Instant, wait: Option<Duration>) {
        if self.sync.is_some() {
            self.sync_attempts += 1;
            if self.sync_attempts > self.opts.lookup_retries {
                self.sync = None;
                self.synced = true;
            } else {
                let spacing = self.opts.retry_after * 2u32.pow(self.sync_attempts);
                self.sync_due = now + spacing.max(wait.unwrap_or_default());
            }
        }
        let keys = self.keys(|_| true);
        for key in keys {
            let Some(mut t) = self.tracked.remove(&key) else {
                continue;
            };
            if t.read.listing_due(now) {
                self.not_listed(&key, &mut t, now, wait);
            }
            if t.missing_since
                .is_some_and(|s| s + self.opts.absence_grace <= now)
            {
                // Not confirmed either way: another grace period, a few times; then the
                // stale clock decides.
                t.confirm_failures += 1;
                t.missing_since = (t.confirm_failures <= self.opts.lookup_retries).then_some(now);
            }
            self.tracked.insert(key, t);
        }
    }

    /// The answer to `/library/metadata/{rating_key}`.
    pub fn metadata(
        &mut self,
        rating_key: &str,
        answer: Result<Option<Metadata>, Error>,
        now: Instant,
    ) {
        self.stats.metadata_reads += 1;
        let wait = answer.as_ref().err().and_then(Error::retry_after);
        let answer = answer.map_err(|e| self.out.push(Out::Error(e)));
        let keys = self.keys(|t| {
            matches!(t.read, Read::Metadata { .. })
                && t.snap.media.rating_key.as_deref() == Some(rating_key)
        });
        for key in keys {
            let Some(mut t) = self.tracked.remove(&key) else {
                continue;
            };
            match (&answer, t.read) {
                (Err(()), Read::Metadata { failed, .. }) if failed < self.opts.metadata_retries => {
                    t.read = Read::Metadata {
                        failed: failed + 1,
                        at: now
                            + (self.opts.metadata_retry_after * 2u32.pow(failed))
                                .max(wait.unwrap_or_default()),
                    };
                }
                (Err(()), _) | (Ok(None), _) => self.known(&key, &mut t),
                (Ok(Some(item)), _) => {
                    let mut media = TrackedMedia::from_metadata(item);
                    media.key = media.key.or(t.snap.media.key.take());
                    media.rating_key = Some(rating_key.to_owned());
                    t.snap.media = media;
                    if !t.announced && t.snap.user.is_none() {
                        // Never listed: what it is tells whether it is transient.
                        t.snap.transient = is_transient_item(item);
                    }
                    self.known(&key, &mut t);
                }
            }
            self.tracked.insert(key, t);
        }
    }

    /// A first sync, or a resync after a gap: what `/status/sessions` lists against what
    /// the tracker knows.
    fn reconcile(&mut self, listing: &[Session], origin: Origin, now: Instant) {
        let mut seen: Vec<String> = Vec::new();
        let entry_keys: Vec<String> = listing.iter().filter_map(entry_key).collect();
        for entry in listing {
            let found = self
                .tracked
                .iter()
                .find(|(key, t)| listed_as(entry, key, t))
                .map(|(k, _)| k.clone());
            if let Some(key) = found {
                let mut t = self.tracked.remove(&key).expect("just found");
                if same_viewer(&t, entry) {
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
                // The key is someone else's now: the server restarted meanwhile.
                if t.announced {
                    self.stop(&key, t, StopReason::ServerRestarted);
                }
            }
            let Some(key) = entry_key(entry) else {
                self.stats.without_key += 1;
                continue;
            };
            let mut origin = origin;
            let mut watched = Vec::new();
            if let Some(ghost) = self.ghosts.get_mut(&key) {
                let same_client = !differs(
                    ghost.snap.client_identifier.as_deref(),
                    player_id(entry).as_deref(),
                );
                let offset = entry
                    .view_offset
                    .map(|o| clamp(o, ghost.snap.media.duration));
                let same_item =
                    entry.rating_key.is_none() || entry.rating_key == ghost.snap.media.rating_key;
                if same_client && same_item && offset.is_none_or(|o| o == ghost.snap.view_offset) {
                    ghost.last_seen = now;
                    continue;
                }
                if same_client {
                    origin = Origin::Reappeared;
                    watched = std::mem::take(&mut ghost.watched);
                }
                self.ghosts.remove(&key);
            }
            if !self.room() {
                continue;
            }
            let mut t = self.listed_session(entry, origin, now);
            t.watched = watched;
            self.announce(&key, &mut t);
            seen.push(key.clone());
            self.tracked.insert(key, t);
        }
        // A stale session the server no longer lists is over for it too.
        self.ghosts.retain(|key, _| entry_keys.contains(key));
        for (key, t) in self.tracked.iter_mut() {
            if t.announced && !seen.contains(key) && t.missing_since.is_none() {
                t.missing_since = Some(now);
                t.confirm_failures = 0;
            }
        }
        self.stats.tracked = self.tracked.len() as u64;
    }

    /// A known session as a resync finds it: what changed while nobody listened.
    fn catch_up(&mut self, key: &str, t: &mut Tracked, entry: &Session, now: Instant) {
        let listed = entry.rating_key.as_deref();
        let pending = t.media_pending.is_some();
        if !pending
            && !t.snap.live
            && listed.is_some()
            && listed != t.snap.media.rating_key.as_deref()
        {
            let offset = t.snap.view_offset;
            let media = std::mem::replace(&mut t.snap.media, TrackedMedia::from_session(entry));
            let previous = (media, offset);
            t.snap.view_offset = clamp(entry.view_offset.unwrap_or(0), t.snap.media.duration);
            t.offset_at = now;
            self.media_changed(key, t, previous);
        }
        let state = listed_state(entry).unwrap_or(t.snap.state);
        // Across a gap, a jump is no seek: the baseline starts over.
        t.snap.view_offset = clamp(
            entry.view_offset.unwrap_or(t.snap.view_offset),
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
            self.emit(key, t, event);
        }
    }

    /// A session first seen in a listing (a sync).
    fn listed_session(&mut self, entry: &Session, origin: Origin, now: Instant) -> Tracked {
        let state = listed_state(entry).unwrap_or(PlaybackState::Playing);
        let snap = TrackedSession {
            session_key: entry.session_key.clone().filter(|k| !k.is_empty()),
            client_identifier: None,
            user: None,
            player: None,
            media: TrackedMedia::default(),
            state,
            view_offset: entry.view_offset.unwrap_or(0).max(0),
            started_at: std::time::SystemTime::now(),
            paused_for: std::time::Duration::ZERO,
            origin,
            live: false,
            transient: false,
            transcoding: false,
            play_id: None,
        };
        let mut t = self.tracked_from(snap, origin, state, now);
        bind(&mut t, entry);
        t
    }
}

/// What a listing says the player is doing, if it says playing, paused or buffering.
fn listed_state(entry: &Session) -> Option<PlaybackState> {
    let state = entry.player.as_ref()?.state;
    matches!(
        state,
        PlaybackState::Playing | PlaybackState::Paused | PlaybackState::Buffering
    )
    .then_some(state)
}

/// Whether a listed session is under this tracked one's key: its session key, or its
/// client for a session tracked without one.
fn listed_as(entry: &Session, key: &str, t: &Tracked) -> bool {
    match key.strip_prefix("client:") {
        Some(client) if t.snap.session_key.is_none() => player_id(entry).as_deref() == Some(client),
        _ => entry.session_key.as_deref() == Some(key),
    }
}

/// The listed session that is this tracked one: under its key, with its viewer.
fn find<'a>(listing: &'a [Session], key: &str, t: &Tracked) -> Option<&'a Session> {
    listing
        .iter()
        .find(|e| listed_as(e, key, t) && same_viewer(t, e))
}

fn player_id(entry: &Session) -> Option<String> {
    entry
        .player
        .as_ref()
        .and_then(|p| p.machine_identifier.clone())
        .filter(|c| !c.is_empty())
}

/// Whether the listed session has the user and player the tracked one was bound to (or,
/// before it was bound, the client its notifications named).
fn same_viewer(t: &Tracked, entry: &Session) -> bool {
    let user = |u: Option<&crate::User>| u.and_then(|u| u.id.clone());
    !differs(
        user(t.snap.user.as_ref()).as_deref(),
        user(entry.user.as_ref()).as_deref(),
    ) && !differs(
        t.snap.client_identifier.as_deref(),
        player_id(entry).as_deref(),
    )
}

fn entry_key(entry: &Session) -> Option<String> {
    match (&entry.session_key, player_id(entry)) {
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
    s.play_id = entry.session.as_ref().and_then(|i| i.id.clone());
    if s.client_identifier.is_none() {
        s.client_identifier = player_id(entry);
    }
    s.view_offset = clamp(s.view_offset, s.media.duration);
}

/// Prerolls and theme music: playback apps leave out of history.
fn is_transient(entry: &Session) -> bool {
    entry.is_preroll()
        || entry
            .guid
            .as_deref()
            .is_some_and(|g| g.starts_with("library://"))
}

/// Transient, judged from the item alone (sessions not visible): a preroll (section
/// `-2`, a preroll GUID), theme music, or any clip (trailers and extras too).
fn is_transient_item(item: &Metadata) -> bool {
    let guid = item.guid.as_deref().unwrap_or_default();
    item.library_section_id.as_deref() == Some("-2")
        || guid.starts_with("analyzed.prerolls://")
        || guid.starts_with("library://")
        || item.media_type == Some(crate::MediaType::Clip)
}
