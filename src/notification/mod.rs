//! Typed views of the notifications Plex sends, one struct per child type.
//!
//! Every field is optional, because servers omit fields and versions differ. Identifiers
//! (`ratingKey`, `sectionID`, ...) are strings: servers send them as numbers or strings, and
//! a string holds both without loss. Quantities (`viewOffset`, `progress`, ...) are numbers,
//! also when the server wrote them as strings. Fields this crate does not know stay in
//! [`Alert::raw`](crate::Alert::raw).

pub(crate) mod lenient;
mod views;

use serde::Serialize;

pub use views::*;

/// The typed view of an [`Alert`](crate::Alert): one variant per notification type, holding
/// every element the server sent (usually one).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub enum Notification {
    /// `playing`: a playback session changed state or advanced (re-sent about every 10 s).
    Playing(Vec<PlaySessionState>),
    /// `timeline`: a library or EPG item was created, changed, processed or deleted.
    Timeline(Vec<TimelineEntry>),
    /// `activity`: a long job (scan, refresh, analysis) started, progressed or ended.
    Activity(Vec<ActivityNotification>),
    /// `status`: a server status message, e.g. "Library scan complete".
    Status(Vec<StatusNotification>),
    /// `progress`: a scan progress message.
    Progress(Vec<ProgressNotification>),
    /// `reachability`: remote access became reachable or unreachable.
    Reachability(Vec<ReachabilityNotification>),
    /// `transcodeSession.start`.
    TranscodeSessionStart(Vec<TranscodeSession>),
    /// `transcodeSession.update`.
    TranscodeSessionUpdate(Vec<TranscodeSession>),
    /// `transcodeSession.end`.
    TranscodeSessionEnd(Vec<TranscodeSession>),
    /// `preference`: a server setting changed.
    Preference(Vec<Setting>),
    /// `update.statechange`: the server's own update state changed.
    UpdateStateChange(Vec<AutoUpdateNotification>),
    /// `backgroundProcessingQueue`.
    BackgroundProcessingQueue(Vec<BackgroundProcessingQueueEvent>),
    /// `provider.content.change`: a media provider's content changed.
    ProviderContentChange(Vec<MediaProviderContentNotification>),
    /// `log`: a server log line (only sent when the filters ask for `log`).
    Log(Vec<LogSentNotification>),
    /// `account`: its shape is not known; read [`Alert::raw`](crate::Alert::raw).
    Account,
    /// A type this crate has no typed view for, or one whose payload did not fit its view
    /// (that case is also reported through `callback_error`). Read
    /// [`Alert::raw`](crate::Alert::raw).
    Other,
}

/// Where a library item is in its processing, from [`TimelineEntry::state`]
/// ([`TimelineEntry::timeline_state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimelineState {
    /// 0: the item was created; its metadata is not ready.
    Created,
    /// 1: in progress (with no metadata agent, processing ends here).
    Progress,
    /// 2: matching against the agent.
    Matching,
    /// 3: downloading metadata.
    Downloading,
    /// 4: processing downloaded metadata.
    Processing,
    /// 5: processed: ready.
    Processed,
    /// 9: deleted.
    Deleted,
    /// A state this crate does not know, as sent.
    Unknown(i64),
}

impl TimelineState {
    /// The state Plex numbers `code`.
    pub fn from_code(code: i64) -> TimelineState {
        match code {
            0 => TimelineState::Created,
            1 => TimelineState::Progress,
            2 => TimelineState::Matching,
            3 => TimelineState::Downloading,
            4 => TimelineState::Processing,
            5 => TimelineState::Processed,
            9 => TimelineState::Deleted,
            other => TimelineState::Unknown(other),
        }
    }

    /// Plex's number for it.
    pub fn code(&self) -> i64 {
        match self {
            TimelineState::Created => 0,
            TimelineState::Progress => 1,
            TimelineState::Matching => 2,
            TimelineState::Downloading => 3,
            TimelineState::Processing => 4,
            TimelineState::Processed => 5,
            TimelineState::Deleted => 9,
            TimelineState::Unknown(code) => *code,
        }
    }
}

/// Where a playback session is: a `playing` notification's `state`, a player's in
/// `/status/sessions`, a tracked session's. `Display` and `Serialize` give the word Plex
/// uses (`playing`, `paused`, ...).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PlaybackState {
    /// Playing.
    Playing,
    /// Paused.
    Paused,
    /// Buffering (also seen while a Live TV tuner starts).
    Buffering,
    /// Stopped: the session ended.
    Stopped,
    /// The client reported an error.
    Error,
    /// Missing, or a state this crate does not know (the raw JSON has it as sent).
    #[default]
    Unknown,
}

impl PlaybackState {
    /// The state Plex names `word`; [`Unknown`](Self::Unknown) for any other.
    pub fn from_word(word: &str) -> PlaybackState {
        match word {
            "playing" => PlaybackState::Playing,
            "paused" => PlaybackState::Paused,
            "buffering" => PlaybackState::Buffering,
            "stopped" => PlaybackState::Stopped,
            "error" => PlaybackState::Error,
            _ => PlaybackState::Unknown,
        }
    }

    /// Whether it is [`Unknown`](Self::Unknown).
    pub fn is_unknown(&self) -> bool {
        *self == PlaybackState::Unknown
    }

    /// The word Plex uses for it (`unknown` for [`Unknown`](Self::Unknown)).
    pub fn as_str(&self) -> &'static str {
        match self {
            PlaybackState::Playing => "playing",
            PlaybackState::Paused => "paused",
            PlaybackState::Buffering => "buffering",
            PlaybackState::Stopped => "stopped",
            PlaybackState::Error => "error",
            PlaybackState::Unknown => "unknown",
        }
    }
}

/// Pads as a `str` does: `{:<9}` lines a column up.
impl std::fmt::Display for PlaybackState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl serde::Serialize for PlaybackState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for PlaybackState {
    /// Leniently: any text is a state (an unknown word is `Unknown`), `null` is `Unknown`.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<PlaybackState, D::Error> {
        lenient::word(d, PlaybackState::from_word)
    }
}
