//! One struct per child type: the fields seen on real servers, each optional and decoded
//! leniently (see the [module docs](super)).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::lenient;
use super::{PlaybackState, TimelineState};
use crate::MediaType;

/// `PlaySessionStateNotification`: a playback session's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct PlaySessionState {
    /// The session, as in `/status/sessions` (sometimes missing).
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub session_key: Option<String>,
    /// The playing client's identifier.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_identifier: Option<String>,
    /// The item's GUID (often empty).
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub guid: Option<String>,
    /// The item's rating key (for Live TV a non-numeric GUID).
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub rating_key: Option<String>,
    /// A URL (usually empty).
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub url: Option<String>,
    /// The item's path: `/library/metadata/N` or `/livetv/sessions/<uuid>`.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub key: Option<String>,
    /// Position in milliseconds.
    #[serde(
        deserialize_with = "lenient::int",
        skip_serializing_if = "Option::is_none"
    )]
    pub view_offset: Option<i64>,
    /// The play queue item.
    #[serde(
        rename = "playQueueItemID",
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub play_queue_item_id: Option<String>,
    /// The play queue.
    #[serde(
        rename = "playQueueID",
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub play_queue_id: Option<String>,
    /// Playing, paused, buffering, stopped or error; [`PlaybackState::Unknown`] when it
    /// is missing or a word this crate does not know (the raw JSON has it as sent).
    #[serde(skip_serializing_if = "PlaybackState::is_unknown")]
    pub state: PlaybackState,
    /// The transcode session's id, only while transcoding.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub transcode_session: Option<String>,
}

/// `TimelineEntry`: a library or EPG item changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct TimelineEntry {
    /// `com.plexapp.plugins.library`, or an EPG provider like `tv.plex.providers.epg.onconnect:4`.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub identifier: Option<String>,
    /// The library section.
    #[serde(
        rename = "sectionID",
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub library_section_id: Option<String>,
    /// The item (its rating key).
    #[serde(
        rename = "itemID",
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub item_id: Option<String>,
    /// The item's parent (season of an episode, album of a track).
    #[serde(
        rename = "parentItemID",
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub parent_item_id: Option<String>,
    /// The item's root (show of an episode, artist of a track).
    #[serde(
        rename = "rootItemID",
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub root_item_id: Option<String>,
    /// Media type: 1 movie, 2 show, 3 season, 4 episode, 8 artist, 9 album, 10 track,
    /// 12 clip, 13 photo, 18 collection (-1 seen too).
    #[serde(
        rename = "type",
        deserialize_with = "lenient::int",
        skip_serializing_if = "Option::is_none"
    )]
    pub media_type: Option<i64>,
    /// The item's title (often empty).
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub title: Option<String>,
    /// 0 created, 1 progress, 2 matching, 3 downloading metadata, 4 processing downloaded
    /// metadata, 5 processed, 9 deleted.
    #[serde(
        deserialize_with = "lenient::int",
        skip_serializing_if = "Option::is_none"
    )]
    pub state: Option<i64>,
    /// `created`, `loading`, `processing` or `deleted`.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub metadata_state: Option<String>,
    /// `analyzing`, `thumbnailing` or `deleted`.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub media_state: Option<String>,
    /// Items still queued.
    #[serde(
        deserialize_with = "lenient::int",
        skip_serializing_if = "Option::is_none"
    )]
    pub queue_size: Option<i64>,
    /// When it changed, in seconds since the epoch.
    #[serde(
        deserialize_with = "lenient::int",
        skip_serializing_if = "Option::is_none"
    )]
    pub updated_at: Option<i64>,
}

impl TimelineEntry {
    /// [`Self::state`] as an enum.
    pub fn timeline_state(&self) -> Option<TimelineState> {
        self.state.map(TimelineState::from_code)
    }

    /// [`Self::media_type`] as a [`MediaType`] (`-1`, seen on entries that are not
    /// library items, is kept as an unknown type).
    pub fn item_type(&self) -> Option<MediaType> {
        self.media_type.map(MediaType::from_code)
    }

    /// Whether this is about an item of a library (not an EPG or DVR entry, not `type -1`).
    pub fn is_library_item(&self) -> bool {
        self.identifier.as_deref() == Some("com.plexapp.plugins.library")
            && self.item_type().is_some_and(|t| t.is_library_item())
    }
}

/// `ActivityNotification`: a long job's progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct ActivityNotification {
    /// `started`, `updated` or `ended`.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub event: Option<String>,
    /// The activity's id (the same as `activity.uuid`).
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub uuid: Option<String>,
    /// The activity itself.
    #[serde(rename = "Activity", skip_serializing_if = "Option::is_none")]
    pub activity: Option<Activity>,
}

/// The job an [`ActivityNotification`] is about.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct Activity {
    /// The activity's id.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub uuid: Option<String>,
    /// E.g. `library.refresh.items`, `library.update.section`, `media.generate.bif`.
    #[serde(
        rename = "type",
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub activity_type: Option<String>,
    /// Whether it can be cancelled.
    #[serde(
        deserialize_with = "lenient::boolean",
        skip_serializing_if = "Option::is_none"
    )]
    pub cancellable: Option<bool>,
    /// The user it runs for.
    #[serde(
        rename = "userID",
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_id: Option<String>,
    /// E.g. "Refreshing".
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub title: Option<String>,
    /// E.g. "Refreshing media analysis".
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub subtitle: Option<String>,
    /// Percent done, 0 to 100.
    #[serde(
        deserialize_with = "lenient::float",
        skip_serializing_if = "Option::is_none"
    )]
    pub progress: Option<f64>,
    /// What it works on, e.g. `{"key": "/library/metadata/513"}` or `{"librarySectionID": "1"}`.
    #[serde(rename = "Context", skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
}

/// `StatusNotification`: a status message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct StatusNotification {
    /// E.g. "Library scan complete".
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub title: Option<String>,
    /// More detail (often empty).
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    /// E.g. `LIBRARY_UPDATE`.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub notification_name: Option<String>,
}

/// `ProgressNotification`: a progress message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct ProgressNotification {
    /// E.g. "Scanning folder".
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub message: Option<String>,
}

/// `ReachabilityNotification`: remote access reachability.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct ReachabilityNotification {
    /// Whether the server is reachable from outside.
    #[serde(
        deserialize_with = "lenient::boolean",
        skip_serializing_if = "Option::is_none"
    )]
    pub reachability: Option<bool>,
}

/// `TranscodeSession`: a transcode's progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct TranscodeSession {
    /// `/transcode/sessions/<id>`.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub key: Option<String>,
    /// Whether the transcoder is throttled (ahead of the player).
    #[serde(
        deserialize_with = "lenient::boolean",
        skip_serializing_if = "Option::is_none"
    )]
    pub throttled: Option<bool>,
    /// Whether it finished.
    #[serde(
        deserialize_with = "lenient::boolean",
        skip_serializing_if = "Option::is_none"
    )]
    pub complete: Option<bool>,
    /// Percent done (-1 when unknown, e.g. live streams).
    #[serde(
        deserialize_with = "lenient::float",
        skip_serializing_if = "Option::is_none"
    )]
    pub progress: Option<f64>,
    /// Speed relative to real time.
    #[serde(
        deserialize_with = "lenient::float",
        skip_serializing_if = "Option::is_none"
    )]
    pub speed: Option<f64>,
    /// Duration in milliseconds.
    #[serde(
        deserialize_with = "lenient::int",
        skip_serializing_if = "Option::is_none"
    )]
    pub duration: Option<i64>,
    /// Estimated seconds left.
    #[serde(
        deserialize_with = "lenient::float",
        skip_serializing_if = "Option::is_none"
    )]
    pub remaining: Option<f64>,
    /// `streaming` or `static`.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub context: Option<String>,
    /// The source's video codec.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub source_video_codec: Option<String>,
    /// The source's audio codec.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub source_audio_codec: Option<String>,
    /// `transcode`, `copy` or `directplay`.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub video_decision: Option<String>,
    /// `transcode`, `copy` or `directplay`.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub audio_decision: Option<String>,
    /// `hls`, `dash`, `http`.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub protocol: Option<String>,
    /// The output container.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub container: Option<String>,
    /// The output video codec.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub video_codec: Option<String>,
    /// The output audio codec.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub audio_codec: Option<String>,
    /// Output audio channels.
    #[serde(
        deserialize_with = "lenient::int",
        skip_serializing_if = "Option::is_none"
    )]
    pub audio_channels: Option<i64>,
    /// Whether hardware transcoding was requested.
    #[serde(
        deserialize_with = "lenient::boolean",
        skip_serializing_if = "Option::is_none"
    )]
    pub transcode_hw_requested: Option<bool>,
    /// When this was sampled, in seconds since the epoch.
    #[serde(
        deserialize_with = "lenient::float",
        skip_serializing_if = "Option::is_none"
    )]
    pub time_stamp: Option<f64>,
    /// Seconds of output available, at most.
    #[serde(
        deserialize_with = "lenient::float",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_offset_available: Option<f64>,
    /// Seconds of output available, at least.
    #[serde(
        deserialize_with = "lenient::float",
        skip_serializing_if = "Option::is_none"
    )]
    pub min_offset_available: Option<f64>,
}

/// `Setting`: a server setting that changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct Setting {
    /// The setting's name, e.g. `FriendlyName`.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    /// Its label in the settings page.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub label: Option<String>,
    /// Its description.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub summary: Option<String>,
    /// `bool`, `int`, `double` or `text`.
    #[serde(
        rename = "type",
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub setting_type: Option<String>,
    /// The default value (a boolean, number or string, depending on the setting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// The new value (a boolean, number or string, depending on the setting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Hidden from the settings page.
    #[serde(
        deserialize_with = "lenient::boolean",
        skip_serializing_if = "Option::is_none"
    )]
    pub hidden: Option<bool>,
    /// Shown only under "advanced".
    #[serde(
        deserialize_with = "lenient::boolean",
        skip_serializing_if = "Option::is_none"
    )]
    pub advanced: Option<bool>,
    /// The settings group.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub group: Option<String>,
}

/// `AutoUpdateNotification`: the server's update state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct AutoUpdateNotification {
    /// The update's key.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub key: Option<String>,
    /// The version on offer.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub version: Option<String>,
    /// E.g. `available`, `downloading`, `done`.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub state: Option<String>,
}

/// `BackgroundProcessingQueueEventNotification`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct BackgroundProcessingQueueEvent {
    /// E.g. `queueRegenerated`.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub event: Option<String>,
    /// The queue.
    #[serde(
        rename = "queueID",
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub queue_id: Option<String>,
}

/// `MediaProviderContentNotification`: a media provider's content changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct MediaProviderContentNotification {
    /// The kind of change (a number in captures; its meaning is not documented).
    #[serde(
        rename = "type",
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub change_type: Option<String>,
    /// The provider, e.g. `tv.plex.providers.epg.onconnect:4`.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub identifier: Option<String>,
}

/// `LogSentNotification`: a server log line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct LogSentNotification {
    /// Severity: 0 error, 1 warning, 2 info, 3 debug, 4 verbose.
    #[serde(
        deserialize_with = "lenient::int",
        skip_serializing_if = "Option::is_none"
    )]
    pub level: Option<i64>,
    /// The server thread.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub thread: Option<String>,
    /// The server's timestamp, as text.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub time: Option<String>,
    /// The log message.
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub message: Option<String>,
}
