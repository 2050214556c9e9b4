//! [`Alert`], and turning what the server sent into one, whichever transport carried it.

use std::fmt;
use std::marker::PhantomData;
use std::sync::OnceLock;

use serde::de::value::MapAccessDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::notification::{Notification, child_key};
use crate::{Error, error};

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
    kind: Box<str>,
    notification: Notification,
    raw_json: Box<str>,
    raw: OnceLock<Value>,
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
    pub fn raw(&self) -> &Value {
        self.raw
            .get_or_init(|| serde_json::from_str(&self.raw_json).unwrap_or(Value::Null))
    }

    /// [`raw`](Self::raw) as JSON text, without parsing it: as the server sent it over
    /// WebSocket, or normalised to the same shape for an event stream.
    pub fn raw_json(&self) -> &str {
        &self.raw_json
    }
}

impl fmt::Debug for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Alert")
            .field("kind", &self.kind)
            .field("raw", &self.raw_json)
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

/// An alert, and the problem with its typed view if it did not fit.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub alert: Alert,
    pub problem: Option<Error>,
}

/// Decodes a WebSocket text frame: `{"NotificationContainer": {...}}`.
pub(crate) fn from_websocket_text(text: &str) -> Result<Decoded, Error> {
    #[derive(Deserialize)]
    struct Frame<'a> {
        #[serde(borrow, rename = "NotificationContainer")]
        container: Option<&'a RawValue>,
    }
    let frame: Frame = serde_json::from_str(text).map_err(|e| Error::decode(e, text))?;
    let container = frame
        .container
        .ok_or_else(|| Error::decode("no NotificationContainer in the message", text))?;
    from_container(container.get())
}

/// Decodes an event-stream event: `event: <type>` and `data: <inner object>`, where the
/// child is usually a single object rather than an array. Normalised to the WebSocket shape.
pub(crate) fn from_event_stream(event_type: &str, data: &str) -> Result<Decoded, Error> {
    let entries: Entries = serde_json::from_str(data)
        .map_err(|e| Error::decode(format!("event {event_type:?}: {e}"), data))?;
    if let [(key, inner)] = entries.0.as_slice()
        && key == "NotificationContainer"
    {
        return from_container(inner.get());
    }
    // The event-stream default type: the event had no `event:` line, so no Plex type.
    if event_type == "message" {
        return Err(Error::decode(
            "an event without a notification type (no `event:` line)",
            data,
        ));
    }
    let child = child_key(event_type);
    let mut container = String::with_capacity(data.len() + event_type.len() + 32);
    container.push_str(r#"{"type":"#);
    push_json_string(&mut container, event_type);
    let mut size = 0;
    for (i, (key, value)) in entries.0.iter().enumerate() {
        let is_child = match child {
            Some(child) => key == child,
            None => i == 0,
        };
        if is_child {
            size = count_children(value.get());
        }
    }
    container.push_str(r#","size":"#);
    container.push_str(&size.to_string());
    for (key, value) in &entries.0 {
        container.push(',');
        push_json_string(&mut container, key);
        container.push(':');
        let json = value.get();
        if json.starts_with('{') {
            container.push('[');
            container.push_str(json);
            container.push(']');
        } else {
            container.push_str(json);
        }
    }
    container.push('}');
    from_container(&container)
}

/// Decodes the object under `NotificationContainer`.
fn from_container(container: &str) -> Result<Decoded, Error> {
    #[derive(Deserialize)]
    struct Kind<'a> {
        #[serde(borrow, rename = "type")]
        kind: Option<std::borrow::Cow<'a, str>>,
    }
    let kind = serde_json::from_str::<Kind>(container)
        .map_err(|e| Error::decode(e, container))?
        .kind
        .ok_or_else(|| Error::decode("the notification has no type", container))?;
    let typed = match child_key(&kind) {
        None => Ok(Notification::Other),
        Some(key) => typed_view(&kind, key, container),
    };
    let (notification, problem) = match typed {
        Ok(n) => (n, None),
        Err(e) => (
            Notification::Other,
            Some(Error::decode(
                format!(
                    "a {kind:?} notification did not fit its typed view ({e}); it was delivered with its raw JSON"
                ),
                container,
            )),
        ),
    };
    Ok(Decoded {
        alert: Alert {
            kind: kind.into(),
            notification,
            raw_json: container.into(),
            raw: OnceLock::new(),
        },
        problem,
    })
}

fn typed_view(kind: &str, key: &str, container: &str) -> serde_json::Result<Notification> {
    use Notification as N;
    Ok(match kind {
        "playing" => N::Playing(children(container, key)?),
        "timeline" => N::Timeline(children(container, key)?),
        "activity" => N::Activity(children(container, key)?),
        "status" => N::Status(children(container, key)?),
        "progress" => N::Progress(children(container, key)?),
        "reachability" => N::Reachability(children(container, key)?),
        "transcodeSession.start" => N::TranscodeSessionStart(children(container, key)?),
        "transcodeSession.update" => N::TranscodeSessionUpdate(children(container, key)?),
        "transcodeSession.end" => N::TranscodeSessionEnd(children(container, key)?),
        "preference" => N::Preference(children(container, key)?),
        "update.statechange" => N::UpdateStateChange(children(container, key)?),
        "backgroundProcessingQueue" => N::BackgroundProcessingQueue(children(container, key)?),
        "provider.content.change" => N::ProviderContentChange(children(container, key)?),
        "log" => N::Log(children(container, key)?),
        "account" => N::Account,
        _ => N::Other,
    })
}

/// The elements under `key` in the container: an array, or a single object, or none.
fn children<T: DeserializeOwned>(container: &str, key: &str) -> serde_json::Result<Vec<T>> {
    let mut de = serde_json::Deserializer::from_str(container);
    let out = ChildrenOf {
        key,
        _t: PhantomData,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(out)
}

struct ChildrenOf<'k, T> {
    key: &'k str,
    _t: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for ChildrenOf<'_, T> {
    type Value = Vec<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<T>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for ChildrenOf<'_, T> {
    type Value = Vec<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a notification object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<T>, A::Error> {
        let mut out = Vec::new();
        while let Some(is_child) = map.next_key_seed(KeyIs(self.key))? {
            if is_child {
                out = map.next_value::<OneOrMany<T>>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
    }
}

/// Compares a map key with an expected one without allocating.
struct KeyIs<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v == self.0)
    }
}

/// A child array, or a single child object (the event stream's shape), or `null`.
struct OneOrMany<T>(Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of objects or one object")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(64));
                while let Some(item) = seq.next_element()? {
                    out.push(item);
                }
                Ok(OneOrMany(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                Ok(OneOrMany(vec![T::deserialize(
                    MapAccessDeserializer::new(map),
                )?]))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(OneOrMany(Vec::new()))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// The members of a JSON object in order, values left as raw JSON.
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Entries<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Entries<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(1);
                while let Some(key) = map.next_key::<String>()? {
                    out.push((key, map.next_value::<&'a RawValue>()?));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// How many children a child value holds: one object, or an array's length.
fn count_children(json: &str) -> usize {
    if json.starts_with('[') {
        serde_json::from_str::<Vec<IgnoredAny>>(json).map_or(0, |v| v.len())
    } else if json.starts_with('{') {
        1
    } else {
        0
    }
}

fn push_json_string(out: &mut String, s: &str) {
    // Serialising a &str to JSON can't fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

/// The excerpt kept for text that is not a notification at all (binary frames).
pub(crate) fn binary_excerpt(bytes: &[u8]) -> String {
    error::excerpt(&String::from_utf8_lossy(&bytes[..bytes.len().min(256)]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notification::PlaybackState;

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
