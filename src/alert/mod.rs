//! [`Alert`]: one notification, whichever transport carried it.

mod decode;
mod display;

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use serde_json::Value;

use crate::Error;
use crate::notification::Notification;

pub(crate) use decode::{event, frame};
#[cfg(feature = "fuzzing")]
pub(crate) use decode::{event_in_steps, frame_in_steps};
#[cfg(feature = "mock")]
pub(crate) use decode::{kind_and_key, kind_of_frame};

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
///             println!("{:?} is {:?} at {:?} ms", s.rating_key, s.state, s.view_offset);
///         }
///     }
///     _ => println!("{}: {}", alert.kind(), alert.raw_json()),
/// }
/// # }
/// ```
#[derive(Clone)]
pub struct Alert {
    kind: Cow<'static, str>,
    notification: Notification,
    source: Source,
    /// The container parsed, on first use.
    raw: OnceLock<Value>,
}

/// The text an alert was decoded from.
#[derive(Clone)]
enum Source {
    /// Text holding `{"NotificationContainer": {...}}` (a WebSocket frame, or an event's
    /// data in that shape), and where the container's object is in it.
    Frame {
        text: Box<str>,
        container: Range<usize>,
    },
    /// An event's data, the inner object of the event-stream shape, and the container
    /// made from it on first use.
    Event {
        data: Box<str>,
        container: OnceLock<Box<str>>,
    },
}

impl Alert {
    /// The notification type as the server names it: `playing`, `timeline`, `activity`,
    /// `transcodeSession.update`, ... (python-plexapi's `data['type']`).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The typed view. A type without one is [`Notification::Other`]; read [`raw`](Self::raw).
    pub fn notification(&self) -> &Notification {
        &self.notification
    }

    /// The typed view, by value.
    pub fn into_notification(self) -> Notification {
        self.notification
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
            match &self.source {
                Source::Frame { .. } => serde_json::from_str(self.raw_json()),
                // One parse of the data, straight into the container's shape.
                Source::Event { data, .. } => decode::normalise_value(&self.kind, data),
            }
            .unwrap_or(Value::Null)
        })
    }

    /// [`raw`](Self::raw) as JSON text, without parsing it: as the server sent it over
    /// WebSocket, or normalised to the same shape for an event stream.
    pub fn raw_json(&self) -> &str {
        match &self.source {
            Source::Frame { text, container } => &text[container.clone()],
            // The data was checked to be a JSON object when the alert was made.
            Source::Event { data, container } => container.get_or_init(|| {
                decode::normalise(&self.kind, data)
                    .unwrap_or_else(|_| "{}".to_owned())
                    .into()
            }),
        }
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
            && self.notification == other.notification
            && self.raw() == other.raw()
    }
}

/// An alert, and the problem with its typed view if it did not fit (the alert then has
/// [`Notification::Other`] and its raw JSON).
#[derive(Debug)]
pub(crate) struct Decoded {
    pub alert: Alert,
    pub problem: Option<Error>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notification::PlaybackState;
    use serde_json::Value;

    fn from_websocket_text(text: &str) -> Result<Decoded, Error> {
        decode::frame(text)
    }

    fn from_event_stream(event_type: &str, data: &str) -> Result<Decoded, Error> {
        decode::event(event_type, data)
    }

    const PLAYING: &str = r#"{"NotificationContainer":{"type":"playing","size":1,"PlaySessionStateNotification":[{"sessionKey":"2","ratingKey":"147967","viewOffset":4910,"state":"paused"}]}}"#;

    #[test]
    fn websocket_frame_decodes_to_typed_view_and_keeps_raw() {
        let d = from_websocket_text(PLAYING).unwrap();
        assert!(d.problem.is_none());
        assert_eq!(d.alert.kind(), "playing");
        let Notification::Playing(s) = d.alert.notification() else {
            panic!("{:?}", d.alert.notification())
        };
        assert_eq!(s[0].view_offset, Some(4910));
        assert_eq!(s[0].state, PlaybackState::Paused);
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

    #[test]
    fn floats_are_read_exactly_as_python_reads_them() {
        // Sent by a real server; without exact parsing it was read one unit in the last
        // place off, in the typed view and in raw() alike.
        let sent = "139.70743333333335";
        let exact: f64 = sent.parse().unwrap();
        let frame = format!(
            r#"{{"NotificationContainer":{{"type":"transcodeSession.update","size":1,"TranscodeSession":[{{"maxOffsetAvailable":{sent}}}]}}}}"#
        );
        let alert = from_websocket_text(&frame).unwrap().alert;
        let Notification::TranscodeSessionUpdate(t) = alert.notification() else {
            panic!("{alert:?}")
        };
        assert_eq!(
            t[0].max_offset_available.map(f64::to_bits),
            Some(exact.to_bits())
        );
        let raw = alert.raw()["TranscodeSession"][0]["maxOffsetAvailable"].as_f64();
        assert_eq!(raw.map(f64::to_bits), Some(exact.to_bits()));
    }
}
