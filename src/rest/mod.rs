//! What [`PlexServer`](crate::PlexServer)'s REST calls answer: [`Session`] (with its
//! [`User`], [`Player`] and [`SessionInfo`]), [`Metadata`] and [`ServerIdentity`].
//!
//! Decoded as softly as servers differ: numbers or strings, `true` or `"1"`, every field
//! optional, and a value of an unexpected type read as absent rather than failing the
//! answer. Every item keeps its raw JSON, unknown fields included.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub(crate) mod soft;

use crate::{MediaType, PlaybackState, TranscodeSession};

/// One playback session, from `GET /status/sessions` ([`PlexServer::sessions`](crate::PlexServer::sessions)):
/// who is watching what, on which player.
///
/// A `playing` notification names the session by [`session_key`](Self::session_key) and
/// the item by [`rating_key`](Self::rating_key); this is where the rest is. Live TV has
/// a [`key`](Self::key) under `/livetv/sessions/` and usually no rating key; a preroll is
/// its own short session ([`is_preroll`](Self::is_preroll)).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct Session {
    /// The session, as `playing` notifications name it (missing for some clients).
    #[serde(deserialize_with = "soft::string")]
    pub session_key: Option<String>,
    /// The item. For Live TV, usually absent.
    #[serde(deserialize_with = "soft::string")]
    pub rating_key: Option<String>,
    /// The item's path: `/library/metadata/N`, or `/livetv/sessions/<uuid>` for Live TV.
    #[serde(deserialize_with = "soft::string")]
    pub key: Option<String>,
    /// The item's GUID.
    #[serde(deserialize_with = "soft::string")]
    pub guid: Option<String>,
    /// Movie, episode, track, clip, ...
    #[serde(rename = "type", deserialize_with = "soft::media_type")]
    pub media_type: Option<MediaType>,
    /// The item's title (an episode's own title).
    #[serde(deserialize_with = "soft::string")]
    pub title: Option<String>,
    /// The show of an episode, the artist of a track.
    #[serde(deserialize_with = "soft::string")]
    pub grandparent_title: Option<String>,
    /// The season of an episode, the album of a track.
    #[serde(deserialize_with = "soft::string")]
    pub parent_title: Option<String>,
    /// The show's (or artist's) rating key.
    #[serde(deserialize_with = "soft::string")]
    pub grandparent_rating_key: Option<String>,
    /// The season's (or album's) rating key.
    #[serde(deserialize_with = "soft::string")]
    pub parent_rating_key: Option<String>,
    /// The episode's (or track's) number.
    #[serde(deserialize_with = "soft::int")]
    pub index: Option<i64>,
    /// The season's (or disc's) number.
    #[serde(deserialize_with = "soft::int")]
    pub parent_index: Option<i64>,
    /// The year.
    #[serde(deserialize_with = "soft::int")]
    pub year: Option<i64>,
    /// Its summary.
    #[serde(deserialize_with = "soft::string")]
    pub summary: Option<String>,
    /// Its poster: a path on the server (`/library/metadata/N/thumb/...`).
    #[serde(deserialize_with = "soft::string")]
    pub thumb: Option<String>,
    /// Its content rating (`PG-13`, `TV-MA`, ...).
    #[serde(deserialize_with = "soft::string")]
    pub content_rating: Option<String>,
    /// Length in milliseconds.
    #[serde(deserialize_with = "soft::int")]
    pub duration: Option<i64>,
    /// Position in milliseconds.
    #[serde(deserialize_with = "soft::int")]
    pub view_offset: Option<i64>,
    /// The library section; `-2` for prerolls and provider content.
    #[serde(rename = "librarySectionID", deserialize_with = "soft::string")]
    pub library_section_id: Option<String>,
    /// Live TV (sent as `true` or `"1"`).
    #[serde(deserialize_with = "soft::boolean")]
    pub live: Option<bool>,
    /// Who is watching.
    #[serde(rename = "User", deserialize_with = "soft::object")]
    pub user: Option<User>,
    /// On what.
    #[serde(rename = "Player", deserialize_with = "soft::object")]
    pub player: Option<Player>,
    /// The stream: its id (for terminating it), bandwidth and location.
    #[serde(rename = "Session", deserialize_with = "soft::object")]
    pub session: Option<SessionInfo>,
    /// The transcode, while transcoding (for Live TV, read from under `Media`).
    #[serde(rename = "TranscodeSession", deserialize_with = "soft::object")]
    pub transcode: Option<TranscodeSession>,
    #[serde(skip)]
    raw: Value,
}

impl Session {
    /// Everything the server sent for this session, unknown fields included.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// Whether this is Live TV: marked live, or keyed under `/livetv/sessions/`.
    pub fn is_live(&self) -> bool {
        self.live == Some(true)
            || self
                .key
                .as_deref()
                .is_some_and(|k| k.starts_with("/livetv/sessions/"))
    }

    /// Whether this is a preroll (a clip played before the feature, in its own session):
    /// section `-2`, or a GUID of Plex's preroll agent.
    pub fn is_preroll(&self) -> bool {
        self.library_section_id.as_deref() == Some("-2")
            || self
                .guid
                .as_deref()
                .is_some_and(|g| g.starts_with("analyzed.prerolls://"))
    }

    /// Reads one element of a `Metadata` array.
    pub(crate) fn from_value(value: Value) -> Result<Session, serde_json::Error> {
        let mut session = Session::deserialize(&value)?;
        if session.transcode.is_none() {
            // Live TV nests it under the media being played.
            session.transcode = value["Media"]
                .as_array()
                .into_iter()
                .flatten()
                .find_map(|m| TranscodeSession::deserialize(&m["TranscodeSession"]).ok())
                .filter(|t| *t != TranscodeSession::default());
        }
        session.raw = value;
        Ok(session)
    }
}

/// The user of a [`Session`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct User {
    /// The user's id on this server.
    #[serde(deserialize_with = "soft::string")]
    pub id: Option<String>,
    /// The user's name.
    #[serde(deserialize_with = "soft::string")]
    pub title: Option<String>,
    /// The user's picture.
    #[serde(deserialize_with = "soft::string")]
    pub thumb: Option<String>,
}

/// The player of a [`Session`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct Player {
    /// The client's identifier: a `playing` notification's `clientIdentifier`.
    #[serde(deserialize_with = "soft::string")]
    pub machine_identifier: Option<String>,
    /// The device's name, e.g. "SHIELD Android TV".
    #[serde(deserialize_with = "soft::string")]
    pub title: Option<String>,
    /// The app, e.g. "Plex for Android (TV)".
    #[serde(deserialize_with = "soft::string")]
    pub product: Option<String>,
    /// e.g. "Android".
    #[serde(deserialize_with = "soft::string")]
    pub platform: Option<String>,
    /// Playing, paused, buffering ([`PlaybackState::Unknown`] when missing).
    #[serde(deserialize_with = "soft::playback_state")]
    pub state: PlaybackState,
    /// The player's address as the server sees it.
    #[serde(deserialize_with = "soft::string")]
    pub address: Option<String>,
    /// Whether it is on the server's network (sent as `true` or `"1"`).
    #[serde(deserialize_with = "soft::boolean")]
    pub local: Option<bool>,
    /// The user's id, as the player knows it.
    #[serde(rename = "userID", deserialize_with = "soft::string")]
    pub user_id: Option<String>,
}

/// The stream of a [`Session`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct SessionInfo {
    /// What `/status/sessions/terminate?sessionId=` takes (not the session key).
    #[serde(deserialize_with = "soft::string")]
    pub id: Option<String>,
    /// Kilobits per second.
    #[serde(deserialize_with = "soft::int")]
    pub bandwidth: Option<i64>,
    /// `lan` or `wan`.
    #[serde(deserialize_with = "soft::string")]
    pub location: Option<String>,
}

/// A library item, from `GET /library/metadata/{ratingKey}`
/// ([`PlexServer::metadata`](crate::PlexServer::metadata)).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct Metadata {
    /// The item.
    #[serde(deserialize_with = "soft::string")]
    pub rating_key: Option<String>,
    /// Its path, `/library/metadata/N`.
    #[serde(deserialize_with = "soft::string")]
    pub key: Option<String>,
    /// Movie, episode, track, ...
    #[serde(rename = "type", deserialize_with = "soft::media_type")]
    pub media_type: Option<MediaType>,
    /// Its title.
    #[serde(deserialize_with = "soft::string")]
    pub title: Option<String>,
    /// The show of an episode, the artist of a track.
    #[serde(deserialize_with = "soft::string")]
    pub grandparent_title: Option<String>,
    /// The season of an episode, the album of a track.
    #[serde(deserialize_with = "soft::string")]
    pub parent_title: Option<String>,
    /// The show's (or artist's) rating key.
    #[serde(deserialize_with = "soft::string")]
    pub grandparent_rating_key: Option<String>,
    /// The season's (or album's) rating key.
    #[serde(deserialize_with = "soft::string")]
    pub parent_rating_key: Option<String>,
    /// The show's (or artist's) path.
    #[serde(deserialize_with = "soft::string")]
    pub grandparent_key: Option<String>,
    /// The season's (or album's) path.
    #[serde(deserialize_with = "soft::string")]
    pub parent_key: Option<String>,
    /// The episode's (or track's) number.
    #[serde(deserialize_with = "soft::int")]
    pub index: Option<i64>,
    /// The season's (or disc's) number.
    #[serde(deserialize_with = "soft::int")]
    pub parent_index: Option<i64>,
    /// The year.
    #[serde(deserialize_with = "soft::int")]
    pub year: Option<i64>,
    /// Its summary.
    #[serde(deserialize_with = "soft::string")]
    pub summary: Option<String>,
    /// Its poster: a path on the server (`/library/metadata/N/thumb/...`).
    #[serde(deserialize_with = "soft::string")]
    pub thumb: Option<String>,
    /// Its content rating (`PG-13`, `TV-MA`, ...).
    #[serde(deserialize_with = "soft::string")]
    pub content_rating: Option<String>,
    /// Length in milliseconds.
    #[serde(deserialize_with = "soft::int")]
    pub duration: Option<i64>,
    /// The agent's GUID (`plex://movie/...`, or a legacy `com.plexapp.agents...`).
    #[serde(deserialize_with = "soft::string")]
    pub guid: Option<String>,
    /// External ids (`imdb://tt0123456`, `tmdb://12345`, `tvdb://...`).
    #[serde(rename = "Guid", deserialize_with = "soft::guids")]
    pub guids: Vec<String>,
    /// The library section.
    #[serde(rename = "librarySectionID", deserialize_with = "soft::string")]
    pub library_section_id: Option<String>,
    /// The library section's name.
    #[serde(deserialize_with = "soft::string")]
    pub library_section_title: Option<String>,
    /// When it was added, in seconds since the epoch.
    #[serde(deserialize_with = "soft::int")]
    pub added_at: Option<i64>,
    /// When it last changed, in seconds since the epoch.
    #[serde(deserialize_with = "soft::int")]
    pub updated_at: Option<i64>,
    /// How often the token's user watched it (absent: never).
    #[serde(deserialize_with = "soft::int")]
    pub view_count: Option<i64>,
    /// When the token's user last watched it, in seconds since the epoch.
    #[serde(deserialize_with = "soft::int")]
    pub last_viewed_at: Option<i64>,
    #[serde(skip)]
    raw: Value,
}

impl Metadata {
    /// Everything the server sent for this item, unknown fields included.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    pub(crate) fn from_value(value: Value) -> Result<Metadata, serde_json::Error> {
        let mut item = Metadata::deserialize(&value)?;
        item.raw = value;
        Ok(item)
    }
}

/// Who the server is, from `GET /identity` ([`PlexServer::identity`](crate::PlexServer::identity)).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServerIdentity {
    /// The server's unique id. It stays the same across restarts and updates.
    #[serde(deserialize_with = "soft::string")]
    pub machine_identifier: Option<String>,
    /// The server's version: it changes when the server is updated.
    #[serde(deserialize_with = "soft::string")]
    pub version: Option<String>,
}
