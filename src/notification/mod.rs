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

/// Where a playback session is, from [`PlaySessionState::state`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// Missing, or a state this crate does not know.
    Unknown,
}
