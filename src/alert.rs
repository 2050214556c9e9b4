//! [`Alert`], and turning what the server sent into one, whichever transport carried it.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use serde_json::Value;

use crate::decode::{self, EventFast, intern};
use crate::notification::Notification;
use crate::{Error, error, lenient};

/// One notification from the server: its type, a typed view, and the raw JSON.
///
/// An alert is the same whichever transport carried it: [`raw`](Alert::raw) is always the
/// object python-plexapi hands its callback, `{"type": .., "size": .., "<Child>": [..]}`,
/// and [`notification`](Alert::notification) holds every element of the child array.
///
/// ```
/// # use plex_alerts::{Alert, Notification};
/// # fn show(alert: &Alert) {
/// match alert.notification() {
///     Notification::Playing(sessions) => {
///         for s in sessions {
///             println!("{:?} is {:?} at {:?} ms", s.rating_key, s.playback_state(), s.view_offset);
///         }
///     }
///     _ => println!("{}: {}", alert.kind(), alert.raw_json()),
/// }
/// # }
/// ```
#[derive(Clone)]
pub struct Alert {
    kind: Cow<'static, str>,
    /// The typed view: made at once, or from `source` on first use (see [`View`]).
    notification: OnceLock<Notification>,
    source: Source,
    /// The container's JSON text, made from `source` on first use.
    container: OnceLock<Box<str>>,
    /// The container parsed, on first use.
    raw: OnceLock<Value>,
}

/// The text an alert was decoded from.
#[derive(Clone)]
enum Source {
    /// A whole WebSocket frame, `{"NotificationContainer": {...}}`.
    Frame(Box<str>),
    /// An event's data, the inner object of the event-stream shape.
    Event(Box<str>),
    /// The container itself, already in `container`.
    Container,
}

/// When the listener makes an alert's typed view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum View {
    /// At once, on the listener's thread: the alert is read there (callbacks).
    Now,
    /// On first use, on the thread that reads the alert (a channel's receiver). The
    /// listener still checks that the view fits, so a misfit is reported as it arrives,
    /// but leaves the strings to be made, and later freed, on the receiving thread.
    OnFirstUse,
}

impl Alert {
    fn new(kind: Cow<'static, str>, notification: Option<Notification>, source: Source) -> Alert {
        Alert {
            kind,
            notification: notification.map_or_else(OnceLock::new, OnceLock::from),
            source,
            container: OnceLock::new(),
            raw: OnceLock::new(),
        }
    }

    /// The typed view made from the source, which was checked to fit when the alert was
    /// made (a source that did not is never left to this).
    fn view(&self) -> Notification {
        let view = match &self.source {
            Source::Frame(frame) => decode::websocket_fast(frame).map(|fast| fast.notification),
            Source::Event(data) => match decode::event_fast(&self.kind, data) {
                Some(EventFast::Typed(notification)) => Some(notification),
                _ => None,
            },
            Source::Container => None,
        };
        debug_assert!(view.is_some(), "a checked view did not decode: {self:?}");
        view.unwrap_or(Notification::Other)
    }

    /// The notification type as the server names it: `playing`, `timeline`, `activity`,
    /// `transcodeSession.update`, ... (python-plexapi's `data['type']`).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The typed view. A type without one is [`Notification::Other`]; read [`raw`](Self::raw).
    ///
    /// An alert handed to a channel usually makes it on the first call, on the calling
    /// thread (the listener has already checked that it fits); a callback's alert has it
    /// made.
    pub fn notification(&self) -> &Notification {
        self.notification.get_or_init(|| self.view())
    }

    /// The typed view, by value.
    pub fn into_notification(mut self) -> Notification {
        match self.notification.take() {
            Some(notification) => notification,
            None => self.view(),
        }
    }

    /// The JSON under `NotificationContainer` (`{"type":..,"size":..,"<Child>":[..]}`),
    /// exactly what python-plexapi hands its callback, with every field the server sent.
    /// Parsed on first use.
    ///
    /// JSON that a [`Value`] cannot hold (a number beyond `f64`, a lone UTF-16 surrogate
    /// escape, nesting deeper than 128 levels) gives `Value::Null`; [`raw_json`](Self::raw_json)
    /// still has the text as sent.
    pub fn raw(&self) -> &Value {
        self.raw.get_or_init(|| {
            // One parse of the source, whichever shape it came in.
            match &self.source {
                Source::Frame(frame) => decode::container_value(frame),
                Source::Event(data) => decode::normalise_value(&self.kind, data),
                Source::Container => serde_json::from_str(self.raw_json()),
            }
            .unwrap_or(Value::Null)
        })
    }

    /// [`raw`](Self::raw) as JSON text, without parsing it: as the server sent it over
    /// WebSocket, or normalised to the same shape for an event stream.
    pub fn raw_json(&self) -> &str {
        // The source was checked to be a notification when the alert was made.
        self.container.get_or_init(|| match &self.source {
            Source::Frame(frame) => decode::container_of(frame)
                .ok()
                .flatten()
                .unwrap_or("{}")
                .into(),
            Source::Event(data) => decode::normalise(&self.kind, data)
                .unwrap_or_else(|_| "{}".to_owned())
                .into(),
            Source::Container => "{}".into(),
        })
    }
}

impl fmt::Debug for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Alert")
            .field("kind", &self.kind)
            .field("raw", &self.raw_json())
            .finish()
    }
}

impl PartialEq for Alert {
    fn eq(&self, other: &Alert) -> bool {
        self.kind == other.kind
            && self.notification() == other.notification()
            && self.raw() == other.raw()
    }
}

/// An alert, and the problem with its typed view if it did not fit.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub alert: Alert,
    pub problem: Option<Error>,
}

/// Runs a fast path: as it is for [`View::Now`]; for [`View::OnFirstUse`] only checking the
/// typed view, whose text fields then come back empty (see [`kept`]).
fn fast<T>(view: View, path: impl FnOnce() -> T) -> T {
    match view {
        View::Now => path(),
        View::OnFirstUse => lenient::checking(path),
    }
}

/// The typed view a fast path made, unless it only checked it.
fn kept(view: View, notification: Notification) -> Option<Notification> {
    (view == View::Now).then_some(notification)
}

/// Decodes a WebSocket text frame: `{"NotificationContainer": {...}}`.
pub(crate) fn from_websocket_text(text: &str, view: View) -> Result<Decoded, Error> {
    if let Some(f) = fast(view, || decode::websocket_fast(text)) {
        let notification = kept(view, f.notification);
        return Ok(Decoded {
            alert: Alert::new(f.kind, notification, Source::Frame(text.into())),
            problem: None,
        });
    }
    let container = decode::container_of(text)
        .map_err(|e| Error::decode(e, text))?
        .ok_or_else(|| Error::decode("no NotificationContainer in the message", text))?;
    from_container(container)
}

/// Decodes an event-stream event: `event: <type>` and `data: <inner object>`, where the
/// child is usually a single object rather than an array. Normalised to the WebSocket shape.
pub(crate) fn from_event_stream(
    event_type: &str,
    data: &str,
    view: View,
) -> Result<Decoded, Error> {
    // The event-stream default type: the event had no `event:` line, so no Plex type.
    let untyped = || {
        Error::decode(
            "an event without a notification type (no `event:` line)",
            data,
        )
    };
    match fast(view, || decode::event_fast(event_type, data)) {
        Some(EventFast::Wrapped(container)) => return from_container(container),
        Some(EventFast::Typed(_)) if event_type == "message" => return Err(untyped()),
        Some(EventFast::Typed(notification)) => {
            let notification = kept(view, notification);
            return Ok(Decoded {
                alert: Alert::new(intern(event_type), notification, Source::Event(data.into())),
                problem: None,
            });
        }
        None => {}
    }
    if let Some(container) = decode::wrapped(data) {
        return from_container(container);
    }
    let container = match decode::normalise(event_type, data) {
        Ok(_) if event_type == "message" => return Err(untyped()),
        Ok(container) => container,
        Err(e) => {
            let event = error::excerpt(event_type);
            return Err(Error::decode(format!("event {event:?}: {e}"), data));
        }
    };
    from_container(&container)
}

/// The careful path: decodes the object under `NotificationContainer`, telling a typed
/// view that did not fit (delivered raw, with a problem) from text that is not a
/// notification (an error).
fn from_container(container: &str) -> Result<Decoded, Error> {
    let kind = decode::kind_of(container)
        .map_err(|e| Error::decode(e, container))?
        .ok_or_else(|| Error::decode("the notification has no type", container))?;
    let (notification, problem) = match decode::typed_view(&kind, container) {
        Ok(n) => (n, None),
        Err(e) => (
            Notification::Other,
            Some(Error::decode(
                format!(
                    "a {:?} notification did not fit its typed view ({e}); it was delivered with its raw JSON",
                    error::excerpt(&kind)
                ),
                container,
            )),
        ),
    };
    let alert = Alert::new(intern(&kind), Some(notification), Source::Container);
    let _ = alert.container.set(container.into());
    Ok(Decoded { alert, problem })
}

/// The excerpt kept for text that is not a notification at all (binary frames).
pub(crate) fn binary_excerpt(bytes: &[u8]) -> String {
    error::excerpt(&String::from_utf8_lossy(&bytes[..bytes.len().min(256)]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::both_views;
    use crate::notification::PlaybackState;

    // Every test decodes both ways, and checks that both give the same.
    fn from_websocket_text(text: &str) -> Result<Decoded, Error> {
        both_views(|view| super::from_websocket_text(text, view))
    }

    fn from_event_stream(event_type: &str, data: &str) -> Result<Decoded, Error> {
        both_views(|view| super::from_event_stream(event_type, data, view))
    }

    const PLAYING: &str = r#"{"NotificationContainer":{"type":"playing","size":1,"PlaySessionStateNotification":[{"sessionKey":"2","ratingKey":"147967","viewOffset":4910,"state":"paused"}]}}"#;

    #[test]
    fn a_view_on_first_use_is_only_checked_until_then() {
        let event = r#"{"PlaySessionStateNotification":{"sessionKey":"2","viewOffset":4910}}"#;
        for decoded in [
            super::from_websocket_text(PLAYING, View::OnFirstUse).unwrap(),
            super::from_event_stream("playing", event, View::OnFirstUse).unwrap(),
        ] {
            let alert = decoded.alert;
            assert!(alert.notification.get().is_none(), "made before use");
            let Notification::Playing(s) = alert.notification() else {
                panic!("{alert:?}")
            };
            assert_eq!(s[0].session_key.as_deref(), Some("2"));
            assert!(alert.notification.get().is_some(), "made once, then kept");
        }
        // A misfit is known when the alert is made, with its view already Other.
        let misfit = r#"{"NotificationContainer":{"type":"playing","size":1,"PlaySessionStateNotification":[{"sessionKey":{"a":1}}]}}"#;
        let d = super::from_websocket_text(misfit, View::OnFirstUse).unwrap();
        assert!(d.problem.is_some());
        assert_eq!(d.alert.notification.get(), Some(&Notification::Other));
    }

    #[test]
    fn websocket_frame_decodes_to_typed_view_and_keeps_raw() {
        let d = from_websocket_text(PLAYING).unwrap();
        assert!(d.problem.is_none());
        assert_eq!(d.alert.kind(), "playing");
        let Notification::Playing(s) = d.alert.notification() else {
            panic!("{:?}", d.alert.notification())
        };
        assert_eq!(s[0].view_offset, Some(4910));
        assert_eq!(s[0].playback_state(), PlaybackState::Paused);
        assert_eq!(
            d.alert.raw()["PlaySessionStateNotification"][0]["sessionKey"],
            "2"
        );
    }

    #[test]
    fn event_stream_shape_normalises_to_websocket_shape() {
        let ws = from_websocket_text(PLAYING).unwrap().alert;
        let sse = from_event_stream(
            "playing",
            r#"{"PlaySessionStateNotification":{"sessionKey":"2","ratingKey":"147967","viewOffset":4910,"state":"paused"}}"#,
        )
        .unwrap()
        .alert;
        assert_eq!(ws, sse);
        assert_eq!(sse.raw()["size"], 1);
    }

    #[test]
    fn every_child_is_delivered() {
        let d = from_websocket_text(r#"{"NotificationContainer":{"type":"timeline","size":3,"TimelineEntry":[{"itemID":1},{"itemID":"2"},{"itemID":3}]}}"#).unwrap();
        let Notification::Timeline(t) = d.alert.notification() else {
            panic!()
        };
        let ids: Vec<_> = t.iter().map(|e| e.item_id.as_deref().unwrap()).collect();
        assert_eq!(ids, ["1", "2", "3"]);
    }

    #[test]
    fn unknown_type_is_delivered_raw() {
        let d = from_websocket_text(
            r#"{"NotificationContainer":{"type":"brand.new","size":1,"Thing":[{"a":1}]}}"#,
        )
        .unwrap();
        assert!(d.problem.is_none());
        assert_eq!(d.alert.kind(), "brand.new");
        assert_eq!(d.alert.notification(), &Notification::Other);
        assert_eq!(d.alert.raw()["Thing"][0]["a"], 1);
    }

    #[test]
    fn typed_view_that_does_not_fit_is_delivered_raw_with_a_problem() {
        let d = from_websocket_text(r#"{"NotificationContainer":{"type":"playing","size":1,"PlaySessionStateNotification":[{"viewOffset":"soon"}]}}"#).unwrap();
        assert_eq!(d.alert.notification(), &Notification::Other);
        assert!(matches!(d.problem, Some(Error::Decode { .. })));
        assert_eq!(
            d.alert.raw()["PlaySessionStateNotification"][0]["viewOffset"],
            "soon"
        );
    }

    #[test]
    fn a_child_before_its_type_decodes_the_same() {
        let reordered = r#"{"NotificationContainer":{"PlaySessionStateNotification":[{"sessionKey":"2","ratingKey":"147967","viewOffset":4910,"state":"paused"}],"size":1,"type":"playing"}}"#;
        let a = from_websocket_text(PLAYING).unwrap().alert;
        let b = from_websocket_text(reordered).unwrap().alert;
        assert_eq!(a, b);
    }

    #[test]
    fn event_data_wrapping_a_whole_container_is_accepted() {
        let wrapped = r#"{"NotificationContainer":{"type":"playing","size":1,"PlaySessionStateNotification":[{"sessionKey":"2","ratingKey":"147967","viewOffset":4910,"state":"paused"}]}}"#;
        let sse = from_event_stream("playing", wrapped).unwrap().alert;
        assert_eq!(sse, from_websocket_text(PLAYING).unwrap().alert);
    }

    #[test]
    fn raw_json_is_made_on_first_use_and_matches() {
        let d = from_event_stream(
            "reachability",
            r#"{"ReachabilityNotification":{"reachability":false}}"#,
        )
        .unwrap();
        assert_eq!(
            d.alert.raw_json(),
            r#"{"type":"reachability","size":1,"ReachabilityNotification":[{"reachability":false}]}"#
        );
        let ws = from_websocket_text(PLAYING).unwrap().alert;
        assert!(PLAYING.contains(ws.raw_json()));
    }

    #[test]
    fn raw_and_raw_json_agree_for_every_source() {
        let alerts = [
            from_websocket_text(PLAYING).unwrap().alert,
            from_event_stream(
                "timeline",
                r#"{"TimelineEntry":[{"itemID":1},{"itemID":2}],"size":"x","type":"y"}"#,
            )
            .unwrap()
            .alert,
            from_event_stream("new.thing", r#"{"Thing":{"a":1},"Other":[1]}"#)
                .unwrap()
                .alert,
            from_websocket_text(r#"{"NotificationContainer":{"size":1,"X":[{"a":1}],"type":"z"}}"#)
                .unwrap()
                .alert,
        ];
        for alert in alerts {
            let parsed: Value = serde_json::from_str(alert.raw_json()).unwrap();
            assert_eq!(alert.raw(), &parsed, "{}", alert.raw_json());
        }
    }

    #[test]
    fn only_the_last_copy_of_a_child_counts_on_both_paths() {
        // The first copy does not fit its view, the last does: the last wins, as in raw().
        let frame = r#"{"NotificationContainer":{"PlaySessionStateNotification":[{"viewOffset":"soon"}],"type":"playing","PlaySessionStateNotification":[{"viewOffset":5}]}}"#;
        let d = from_websocket_text(frame).unwrap();
        assert!(d.problem.is_none(), "{:?}", d.problem);
        let Notification::Playing(s) = d.alert.notification() else {
            panic!()
        };
        assert_eq!(s[0].view_offset, Some(5));
        assert_eq!(
            d.alert.raw()["PlaySessionStateNotification"][0]["viewOffset"],
            5
        );
    }

    #[test]
    fn a_wrapped_container_is_recognised_however_its_key_is_written() {
        let plain = r#"{"NotificationContainer":{"type":"timeline","size":1,"TimelineEntry":[{"itemID":1}]}}"#;
        let escaped = r#"{"Notification\u0043ontainer":{"type":"timeline","size":1,"TimelineEntry":[{"itemID":1}]}}"#;
        let a = from_event_stream("playing", plain).unwrap().alert;
        let b = from_event_stream("playing", escaped).unwrap().alert;
        assert_eq!(a.kind(), "timeline");
        assert_eq!(a, b);
    }

    #[test]
    fn error_texts_stay_short_whatever_the_server_sends() {
        let long_type = "x".repeat(500_000);
        let e = from_event_stream(&long_type, "not json").unwrap_err();
        assert!(e.to_string().len() < 1_000, "{} bytes", e.to_string().len());
    }

    #[test]
    fn not_a_notification_is_an_error() {
        for bad in [
            "",
            "{",
            "[]",
            r#"{"a":1}"#,
            r#"{"NotificationContainer":{"size":1}}"#,
            r#"{"NotificationContainer":[1]}"#,
        ] {
            assert!(
                matches!(from_websocket_text(bad), Err(Error::Decode { .. })),
                "{bad}"
            );
        }
        assert!(from_event_stream("playing", "not json").is_err());
        assert!(from_event_stream("message", r#"{"hello":1}"#).is_err());
        let wrapped = r#"{"NotificationContainer":{"type":"reachability","size":1,"ReachabilityNotification":[{"reachability":true}]}}"#;
        assert_eq!(
            from_event_stream("message", wrapped).unwrap().alert.kind(),
            "reachability"
        );
    }
}
