//! Sessions as events an app acts on: [`SessionEvent`], and the snapshot of a tracked
//! session each one carries ([`TrackedSession`]). The rules are in
//! [`machine`](self::machine); the thread, the lookups and the builder in `tracking`.

pub(crate) mod machine;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::stop::lock;
use crate::{MediaType, PlaybackState, Player, Session, User};

/// What happened to a playback session. Every variant carries a snapshot of the session
/// as the tracker knows it ([`SessionEvent::session`]): who (user, player, bound when it
/// first appeared and kept to its end), what (the item), where it is (state, offset).
///
/// A scrobbler or a "now playing" display is a `match` on these. The rules that decide
/// each one are in the [crate docs](crate#sessions-who-plays-what-as-events).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
// Every variant carries a whole snapshot: boxing one would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum SessionEvent {
    /// A session appeared: just started, or found already playing when the tracker
    /// started or after a gap (see [`TrackedSession::origin`]). Its state may be
    /// paused or buffering.
    Started(TrackedSession),
    /// It paused.
    Paused(TrackedSession),
    /// It plays again after a pause (a buffering between counts as the pause's).
    Resumed(TrackedSession),
    /// It is buffering.
    Buffering(TrackedSession),
    /// It played on: the offset moved with the clock (every 10 s or so). Ignore it if you
    /// do not show progress.
    Progress(TrackedSession),
    /// The offset jumped: by more than the tracker's seek tolerance (5 s) beyond what the
    /// clock explains, while playing or paused.
    Seeked {
        /// The session, at its new offset.
        session: TrackedSession,
        /// Where it was, in milliseconds.
        from: i64,
    },
    /// The same session plays another item: autoplay of the next episode, or Live TV's
    /// next programme. The item before it ended without a stop: how far it got is here,
    /// to scrobble it ([`previous_progress`](Self::previous_progress)).
    MediaChanged {
        /// The session, with its new item.
        session: TrackedSession,
        /// The item it played before.
        previous: TrackedMedia,
        /// Where the item before was last, in milliseconds.
        previous_offset: i64,
    },
    /// The offset passed the watched threshold of the item's type (once per session and
    /// item; never while buffering; before the stop that passes it).
    Watched(TrackedSession),
    /// The session ended. It carries who and what, though the server has forgotten them.
    Stopped {
        /// The session as it ended.
        session: TrackedSession,
        /// How the tracker knows.
        reason: StopReason,
    },
}

impl SessionEvent {
    /// The session this event is about.
    pub fn session(&self) -> &TrackedSession {
        match self {
            SessionEvent::Started(s)
            | SessionEvent::Paused(s)
            | SessionEvent::Resumed(s)
            | SessionEvent::Buffering(s)
            | SessionEvent::Progress(s)
            | SessionEvent::Watched(s)
            | SessionEvent::Seeked { session: s, .. }
            | SessionEvent::MediaChanged { session: s, .. }
            | SessionEvent::Stopped { session: s, .. } => s,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            SessionEvent::Started(_) => "started",
            SessionEvent::Paused(_) => "paused",
            SessionEvent::Resumed(_) => "resumed",
            SessionEvent::Buffering(_) => "buffering",
            SessionEvent::Progress(_) => "progress",
            SessionEvent::Seeked { .. } => "seeked",
            SessionEvent::MediaChanged { .. } => "media changed",
            SessionEvent::Watched(_) => "watched",
            SessionEvent::Stopped { .. } => "stopped",
        }
    }

    /// For a [`MediaChanged`](Self::MediaChanged): how far the item before got, 0.0 to 1.0,
    /// if its duration is known.
    pub fn previous_progress(&self) -> Option<f64> {
        match self {
            SessionEvent::MediaChanged {
                previous,
                previous_offset,
                ..
            } => progress(*previous_offset, previous.duration),
            _ => None,
        }
    }
}

/// As JSON, one object per event: `{"event": "paused", "session": {...}}`, with the
/// variant's other fields beside `session` (`from`, `previous`, `previous_offset`,
/// `reason`).
impl Serialize for SessionEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("event", self.name())?;
        map.serialize_entry("session", self.session())?;
        match self {
            SessionEvent::Seeked { from, .. } => map.serialize_entry("from", from)?,
            SessionEvent::MediaChanged {
                previous,
                previous_offset,
                ..
            } => {
                map.serialize_entry("previous", previous)?;
                map.serialize_entry("previous_offset", previous_offset)?;
            }
            SessionEvent::Stopped { reason, .. } => map.serialize_entry("reason", reason)?,
            _ => {}
        }
        map.end()
    }
}

/// One line for people: `started: alice on Living Room TV: Severance — Good News About
/// Hell (episode) at 0:00`.
impl fmt::Display for SessionEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.session();
        write!(f, "{}: {s} at {}", self.name(), clock(s.view_offset))?;
        match self {
            SessionEvent::Stopped { reason, .. } => write!(f, " ({reason})"),
            SessionEvent::Seeked { from, .. } => write!(f, " (from {})", clock(*from)),
            _ => Ok(()),
        }
    }
}

/// How the tracker knows a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StopReason {
    /// The server said so: a `stopped` notification.
    Reported,
    /// It was gone from `/status/sessions` at a resync, and still gone after the absence
    /// grace period and one confirming read.
    Vanished,
    /// Nothing was heard of it for the stale period (5 min by default), or it said it was
    /// playing with an offset that did not move for that long: the stop never came.
    Stale,
    /// The server restarted: it reports a new version, or after a gap the session's key
    /// is held by another user or player (session keys start again from 1).
    ServerRestarted,
    /// The tracker stopped (only with
    /// [`end_sessions_on_stop`](crate::SessionTrackerBuilder::end_sessions_on_stop)).
    TrackerStopped,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopReason::Reported => "reported",
            StopReason::Vanished => "vanished from the server's sessions",
            StopReason::Stale => "stale: the stop never came",
            StopReason::ServerRestarted => "the server restarted",
            StopReason::TrackerStopped => "the tracker stopped",
        })
    }
}

/// How a session came to be tracked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Origin {
    /// It started while the tracker listened.
    Started,
    /// It was already playing when the tracker started (the first sync).
    FoundAtStart,
    /// It started while the listener was disconnected (found at a resync).
    FoundAfterGap,
    /// It had ended as stale (its client kept reporting an offset that did not move),
    /// and its offset moved again: a new session of the same player and item, told once.
    Reappeared,
}

/// A tracked session, as an event carries it or
/// [`now_playing`](crate::SessionTracker::now_playing) lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TrackedSession {
    /// The session's key, as notifications and `/status/sessions` name it; `None` for a
    /// client that sends none (the session is then tracked by its client identifier).
    pub session_key: Option<String>,
    /// The player's identifier (`clientIdentifier`, `Player.machineIdentifier`).
    pub client_identifier: Option<String>,
    /// Who watches; `None` if the token may not see sessions, or the session never
    /// showed in `/status/sessions`.
    pub user: Option<User>,
    /// On what.
    pub player: Option<Player>,
    /// What it plays.
    pub media: TrackedMedia,
    /// Playing, paused, buffering; stopped in a `Stopped` event.
    pub state: PlaybackState,
    /// Position in milliseconds: never below 0 nor past the item's duration, and, at a
    /// stop within 10 s of the end, the end.
    pub view_offset: i64,
    /// When the tracker first saw it (in JSON, seconds since the epoch).
    #[serde(serialize_with = "epoch_seconds")]
    pub started_at: SystemTime,
    /// Time spent paused so far (in JSON, milliseconds).
    #[serde(serialize_with = "milliseconds")]
    pub paused_for: Duration,
    /// Whether it started while the tracker listened, was found, or reappeared.
    pub origin: Origin,
    /// Live TV.
    pub live: bool,
    /// A preroll or theme music, or other playback an app usually leaves out of
    /// history: its events come all the same, flagged (unless
    /// [`skip_transient`](crate::SessionTrackerBuilder::skip_transient)), and it is never
    /// [`Watched`](SessionEvent::Watched). With a token that may not list sessions it is
    /// judged from the item alone: section `-2`, a preroll GUID, theme music, or any clip.
    pub transient: bool,
    /// Whether it was transcoding at last report.
    pub transcoding: bool,
    /// The play's id on the server: `/status/sessions`' `Session.id`. It stays the same
    /// for the play's life, across a tracker's restart, so an app that scrobbles can tell
    /// a play it handled before it restarted from a new one (with the rating key: autoplay
    /// keeps the id). [`PlexServer::terminate_session`](crate::PlexServer::terminate_session)
    /// takes it. `None` where the token may not list sessions, or the session never
    /// showed in the listing.
    pub play_id: Option<String>,
}

impl TrackedSession {
    /// How far through the item, 0.0 to 1.0, if its duration is known.
    pub fn progress(&self) -> Option<f64> {
        progress(self.view_offset, self.media.duration)
    }

    /// What tells it from every other session now: its session key, or, for a client
    /// that sends none, its client identifier.
    pub fn id(&self) -> &str {
        self.session_key
            .as_deref()
            .or(self.client_identifier.as_deref())
            .unwrap_or_default()
    }

    /// Who watches, by name; `someone` when that is unknown.
    pub fn user_name(&self) -> &str {
        self.user
            .as_ref()
            .and_then(|u| u.title.as_deref())
            .unwrap_or("someone")
    }

    /// The player, by name; `a player` when that is unknown.
    pub fn player_name(&self) -> &str {
        self.player
            .as_ref()
            .and_then(|p| p.title.as_deref())
            .unwrap_or("a player")
    }
}

/// How far `offset` is through `duration`, 0.0 to 1.0.
fn progress(offset: i64, duration: Option<i64>) -> Option<f64> {
    match duration {
        Some(d) if d > 0 => Some((offset as f64 / d as f64).clamp(0.0, 1.0)),
        _ => None,
    }
}

fn epoch_seconds<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
}

fn milliseconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `alice on Living Room TV: Severance — Good News About Hell (episode)`.
impl fmt::Display for TrackedSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} on {}: {}",
            self.user_name(),
            self.player_name(),
            self.media
        )?;
        match &self.media.media_type {
            Some(t) => write!(f, " ({t})"),
            None => Ok(()),
        }
    }
}

/// `1:02:03` or `2:03` from milliseconds.
fn clock(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, m, s) => format!("{m}:{s:02}"),
        (h, m, s) => format!("{h}:{m:02}:{s:02}"),
    }
}

/// The item a tracked session plays. `Display` is its title: `Severance — Good News About
/// Hell`, `Arrival`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TrackedMedia {
    /// Its rating key (for Live TV, the programme's GUID).
    pub rating_key: Option<String>,
    /// Its path: `/library/metadata/N`, or `/livetv/sessions/<uuid>`.
    pub key: Option<String>,
    /// Movie, episode, track, clip, ...
    pub media_type: Option<MediaType>,
    /// Its title (an episode's own).
    pub title: Option<String>,
    /// The show of an episode, the artist of a track.
    pub grandparent_title: Option<String>,
    /// The season of an episode, the album of a track.
    pub parent_title: Option<String>,
    /// The episode's (or track's) number.
    pub index: Option<i64>,
    /// The season's (or disc's) number.
    pub parent_index: Option<i64>,
    /// The season's (or album's) rating key.
    pub parent_rating_key: Option<String>,
    /// The show's (or artist's) rating key.
    pub grandparent_rating_key: Option<String>,
    /// The year.
    pub year: Option<i64>,
    /// Length in milliseconds.
    pub duration: Option<i64>,
    /// Its GUID.
    pub guid: Option<String>,
    /// Its library section.
    pub library_section_id: Option<String>,
}

/// Pads as a `str` does: `{:<40}` lines a column up.
impl fmt::Display for TrackedMedia {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = || self.rating_key.as_deref().or(self.key.as_deref());
        match (&self.grandparent_title, &self.title) {
            (Some(g), Some(t)) => f.pad(&format!("{g} — {t}")),
            (None, Some(t)) => f.pad(t),
            _ => f.pad(id().unwrap_or("?")),
        }
    }
}

impl TrackedMedia {
    /// The item as `/status/sessions` describes it.
    pub(crate) fn from_session(s: &Session) -> TrackedMedia {
        TrackedMedia {
            rating_key: s.rating_key.clone(),
            key: s.key.clone(),
            media_type: s.media_type.clone(),
            title: s.title.clone(),
            grandparent_title: s.grandparent_title.clone(),
            parent_title: s.parent_title.clone(),
            index: s.index,
            parent_index: s.parent_index,
            parent_rating_key: s.parent_rating_key.clone(),
            grandparent_rating_key: s.grandparent_rating_key.clone(),
            year: s.year,
            duration: s.duration,
            guid: s.guid.clone(),
            library_section_id: s.library_section_id.clone(),
        }
    }

    /// The item as `/library/metadata` describes it.
    pub(crate) fn from_metadata(m: &crate::Metadata) -> TrackedMedia {
        TrackedMedia {
            rating_key: m.rating_key.clone(),
            key: m.key.clone(),
            media_type: m.media_type.clone(),
            title: m.title.clone(),
            grandparent_title: m.grandparent_title.clone(),
            parent_title: m.parent_title.clone(),
            index: m.index,
            parent_index: m.parent_index,
            parent_rating_key: m.parent_rating_key.clone(),
            grandparent_rating_key: m.grandparent_rating_key.clone(),
            year: m.year,
            duration: m.duration,
            guid: m.guid.clone(),
            library_section_id: m.library_section_id.clone(),
        }
    }
}

/// A session tracker's counters: [`SessionTracker::stats`](crate::SessionTracker::stats).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionStats {
    /// Sessions tracked now.
    pub tracked: u64,
    /// Sessions announced since it started.
    pub sessions: u64,
    /// `/status/sessions` reads for new sessions (several starting together share one).
    pub lookups: u64,
    /// `/status/sessions` reads again for a session not visible yet.
    pub retries: u64,
    /// `/status/sessions` reads at a first sync or after a gap.
    pub resyncs: u64,
    /// `/status/sessions` reads to confirm a session is gone.
    pub confirmations: u64,
    /// `/library/metadata` reads (a new item in a session, or sessions not visible).
    pub metadata_reads: u64,
    /// `/identity` reads (after each gap, to see a server update).
    pub identity_reads: u64,
    /// Notifications that name neither a session key nor a client: not trackable.
    pub without_key: u64,
    /// Notifications of new sessions left out because the tracker held its most already
    /// ([`Error::TrackerFull`](crate::Error::TrackerFull) says when it fills up).
    pub over_limit: u64,
    /// Elements of `/status/sessions` answers that were not sessions (a `null`, a number,
    /// an array where an object belongs): skipped.
    pub skipped: u64,
    /// Times the tracker fell behind its listener: what the listener would have queued
    /// was dropped, and the tracker resynced, as after a disconnect.
    pub overflows: u64,
}

/// What the tracker knows is playing, shared with its handle.
#[derive(Clone, Default)]
pub(crate) struct NowPlaying(Arc<Mutex<(HashMap<String, TrackedSession>, SessionStats)>>);

impl NowPlaying {
    pub fn sessions(&self) -> Vec<TrackedSession> {
        let mut sessions: Vec<_> = lock(&self.0).0.values().cloned().collect();
        sessions.sort_by_key(|s| s.started_at);
        sessions
    }

    pub fn stats(&self) -> SessionStats {
        lock(&self.0).1.clone()
    }

    pub fn set(&self, key: &str, session: Option<&TrackedSession>) {
        let mut now = lock(&self.0);
        match session {
            Some(s) => now.0.insert(key.to_owned(), s.clone()),
            None => now.0.remove(key),
        };
    }

    pub fn set_stats(&self, stats: &SessionStats) {
        lock(&self.0).1 = stats.clone();
    }
}
