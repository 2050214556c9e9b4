//! One readable line per alert: `Display` for [`Alert`].

use std::fmt::{self, Display, Write};

use crate::error;
use crate::notification::*;

use super::Alert;

/// One line for people: `playing: session 23 paused at 0:01:05 (/library/metadata/147967)`.
/// Several children are joined with `; `. Types without a typed view show their raw JSON,
/// cut short.
impl Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.kind())?;
        match self.notification() {
            Notification::Playing(v) => list(f, v, playing),
            Notification::Timeline(v) => list(f, v, timeline),
            Notification::Activity(v) => list(f, v, activity),
            Notification::Status(v) => list(f, v, |f, s| {
                words(f, [s.title.as_deref(), s.description.as_deref()])
            }),
            Notification::Progress(v) => list(f, v, |f, p| words(f, [p.message.as_deref()])),
            Notification::Reachability(v) => list(f, v, |f, r| {
                f.write_str(match r.reachability {
                    Some(true) => "reachable from outside",
                    Some(false) => "not reachable from outside",
                    None => "unknown",
                })
            }),
            Notification::TranscodeSessionStart(v)
            | Notification::TranscodeSessionUpdate(v)
            | Notification::TranscodeSessionEnd(v) => list(f, v, transcode),
            Notification::Preference(v) => list(f, v, |f, s| {
                let value = s.value.as_ref().map(|v| v.to_string());
                write!(
                    f,
                    "{} = {}",
                    or_unknown(&s.id),
                    value.as_deref().unwrap_or("?")
                )
            }),
            Notification::UpdateStateChange(v) => list(f, v, |f, u| {
                words(f, [u.state.as_deref(), u.version.as_deref()])
            }),
            Notification::BackgroundProcessingQueue(v) => list(f, v, |f, b| {
                write!(
                    f,
                    "{} (queue {})",
                    or_unknown(&b.event),
                    or_unknown(&b.queue_id)
                )
            }),
            Notification::ProviderContentChange(v) => {
                list(f, v, |f, p| f.write_str(or_unknown(&p.identifier)))
            }
            Notification::Log(v) => list(f, v, |f, l| {
                let level = match l.level {
                    Some(0) => "error",
                    Some(1) => "warning",
                    Some(2) => "info",
                    Some(3) => "debug",
                    _ => "verbose",
                };
                write!(f, "[{level}] {}", or_unknown(&l.message))
            }),
            Notification::Account | Notification::Other => {
                f.write_str(&error::excerpt(self.raw_json()))
            }
        }
    }
}

fn list<T>(
    f: &mut fmt::Formatter<'_>,
    items: &[T],
    one: impl Fn(&mut fmt::Formatter<'_>, &T) -> fmt::Result,
) -> fmt::Result {
    if items.is_empty() {
        return f.write_str("(empty)");
    }
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str("; ")?;
        }
        one(f, item)?;
    }
    Ok(())
}

/// The present, non-empty words, separated by " — ".
fn words<'a>(
    f: &mut fmt::Formatter<'_>,
    parts: impl IntoIterator<Item = Option<&'a str>>,
) -> fmt::Result {
    let mut first = true;
    for part in parts.into_iter().flatten().filter(|p| !p.is_empty()) {
        if !first {
            f.write_str(" — ")?;
        }
        f.write_str(part)?;
        first = false;
    }
    if first {
        f.write_str("(no text)")?;
    }
    Ok(())
}

fn or_unknown(s: &Option<String>) -> &str {
    match s.as_deref() {
        Some(s) if !s.is_empty() => s,
        _ => "?",
    }
}

/// `1:02:03` or `2:03` from milliseconds.
fn clock(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        let _ = write!(out, "{h}:{m:02}:{s:02}");
    } else {
        let _ = write!(out, "{m}:{s:02}");
    }
    out
}

fn playing(f: &mut fmt::Formatter<'_>, s: &PlaySessionState) -> fmt::Result {
    write!(f, "session {} {}", or_unknown(&s.session_key), s.state)?;
    if let Some(offset) = s.view_offset {
        write!(f, " at {}", clock(offset))?;
    }
    write!(f, " ({})", or_unknown(&s.key))?;
    if s.transcode_session.is_some() {
        f.write_str(", transcoding")?;
    }
    Ok(())
}

fn timeline(f: &mut fmt::Formatter<'_>, t: &TimelineEntry) -> fmt::Result {
    let what = match t.media_type {
        Some(1) => "movie",
        Some(2) => "show",
        Some(3) => "season",
        Some(4) => "episode",
        Some(8) => "artist",
        Some(9) => "album",
        Some(10) => "track",
        Some(12) => "clip",
        Some(13) => "photo",
        Some(18) => "collection",
        _ => "item",
    };
    let state = match (t.metadata_state.as_deref(), t.state) {
        (Some(s), _) if !s.is_empty() => s,
        (_, Some(0)) => "created",
        (_, Some(1)) => "in progress",
        (_, Some(2)) => "matching",
        (_, Some(3)) => "downloading metadata",
        (_, Some(4)) => "processing metadata",
        (_, Some(5)) => "processed",
        (_, Some(9)) => "deleted",
        _ => "changed",
    };
    write!(f, "{what} {}", or_unknown(&t.item_id))?;
    if let Some(title) = t.title.as_deref().filter(|t| !t.is_empty()) {
        write!(f, " {title:?}")?;
    }
    if let Some(section) = &t.library_section_id {
        write!(f, " in section {section}")?;
    }
    write!(f, " {state}")
}

fn activity(f: &mut fmt::Formatter<'_>, a: &ActivityNotification) -> fmt::Result {
    let act = a.activity.as_ref();
    write!(f, "{} ", or_unknown(&a.event))?;
    words(
        f,
        [
            act.and_then(|a| a.title.as_deref()),
            act.and_then(|a| a.subtitle.as_deref()),
        ],
    )?;
    if let Some(p) = act.and_then(|a| a.progress) {
        write!(f, " {p:.0}%")?;
    }
    Ok(())
}

fn transcode(f: &mut fmt::Formatter<'_>, t: &TranscodeSession) -> fmt::Result {
    f.write_str(or_unknown(&t.key))?;
    match t.progress {
        Some(p) if p >= 0.0 => write!(f, " {p:.0}%")?,
        _ => {}
    }
    if let Some(speed) = t.speed {
        write!(f, " at {speed:.1}x")?;
    }
    if t.video_decision.is_some() || t.audio_decision.is_some() {
        write!(
            f,
            " (video {}, audio {})",
            or_unknown(&t.video_decision),
            or_unknown(&t.audio_decision)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    fn line(frame: &str) -> String {
        crate::alert::frame(frame).unwrap().alert.to_string()
    }

    #[test]
    fn lines_read_well() {
        assert_eq!(
            line(
                r#"{"NotificationContainer":{"type":"playing","size":1,"PlaySessionStateNotification":[{"sessionKey":"2","key":"/library/metadata/1","viewOffset":3725000,"state":"paused"}]}}"#
            ),
            "playing: session 2 paused at 1:02:05 (/library/metadata/1)"
        );
        assert_eq!(
            line(
                r#"{"NotificationContainer":{"type":"timeline","size":1,"TimelineEntry":[{"itemID":583,"sectionID":2,"type":4,"state":9,"metadataState":"deleted"}]}}"#
            ),
            "timeline: episode 583 in section 2 deleted"
        );
        assert_eq!(
            line(
                r#"{"NotificationContainer":{"type":"activity","size":1,"ActivityNotification":[{"event":"updated","Activity":{"title":"Scanning","subtitle":"Movies","progress":40}}]}}"#
            ),
            "activity: updated Scanning — Movies 40%"
        );
        assert_eq!(
            line(r#"{"NotificationContainer":{"type":"new.thing","size":1,"X":[{"a":1}]}}"#),
            r#"new.thing: {"type":"new.thing","size":1,"X":[{"a":1}]}"#
        );
    }
}
