//! From what a transport received to an [`Alert`], by one path for both transports.
//!
//! What a notification means is defined by reading it in steps. Its object's members are
//! split first, each value kept as raw JSON text, so that nothing depends on their order,
//! and a member given twice counts as its last copy (as in a `serde_json::Value`, and
//! python's `json.loads`). Then the child under the key its type names is decoded into the
//! typed view. A child that does not fit its view leaves the alert with
//! [`Notification::Other`], its raw JSON, and a problem to report; text that is not a
//! notification at all is an error.
//!
//! Plex writes every notification the same way: a frame is `{"NotificationContainer":`
//! and one object whose `type` comes before its child, an event's data names its child
//! once. Such a notification is read in one pass, straight into the typed view, and means
//! what the steps would make of it. Anything else (a member given twice, a child before
//! its type, a wrapper, a child that does not fit, text that is not a notification) ends
//! the pass, and the steps read it from the start.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;

use super::{Alert, Decoded, Source};
use crate::error::Error;
use crate::notification::*;

/// Decodes a WebSocket text frame: `{"NotificationContainer": {...}}`.
pub(crate) fn frame(text: &str) -> Result<Decoded, Error> {
    match frame_in_one_pass(text) {
        Some(decoded) => Ok(decoded),
        None => frame_in_steps(text),
    }
}

/// Decodes an event-stream event: `event: <type>` and `data: <inner object>`, where the
/// child is usually a single object rather than an array. A data object that is a whole
/// `{"NotificationContainer": {...}}` and nothing else is read as a WebSocket frame.
pub(crate) fn event(event_type: &str, data: &str) -> Result<Decoded, Error> {
    match event_in_one_pass(event_type, data) {
        Some(decoded) => Ok(decoded),
        None => event_in_steps(event_type, data),
    }
}

/// [`frame`], read in steps whatever its shape.
pub(crate) fn frame_in_steps(text: &str) -> Result<Decoded, Error> {
    let members: Members<&RawValue> = parse(text).map_err(|e| {
        Error::decode_json(format!("the message is {}", not_an_object(&e)), &e, text)
    })?;
    let container = members
        .last("NotificationContainer")
        .ok_or_else(|| Error::decode("no NotificationContainer in the message", text))?;
    wrapped(text, container.get())
}

/// [`event`], read in steps whatever its shape.
pub(crate) fn event_in_steps(event_type: &str, data: &str) -> Result<Decoded, Error> {
    let members: Members<&RawValue> = parse(data).map_err(|e| {
        let what = format!(
            "the data of {} is {}",
            an_event(event_type),
            not_an_object(&e)
        );
        Error::decode_json(what, &e, data)
    })?;
    if let [(key, container)] = members.0.as_slice() {
        if key == "NotificationContainer" {
            return wrapped(data, container.get());
        }
    }
    // The event-stream default type: the event had no `event:` line, so no Plex type.
    if event_type == "message" {
        return Err(Error::decode(
            "an event without a notification type (no `event:` line)",
            data,
        ));
    }
    let (notification, problem) = view(event_type, members.child_raw(event_type), data);
    let alert = event_alert(intern(event_type), notification, data);
    Ok(Decoded { alert, problem })
}

/// The alert of `text`, which holds the container object `container` (a slice of it).
fn wrapped(text: &str, container: &str) -> Result<Decoded, Error> {
    let members: Members<&RawValue> = parse(container).map_err(|e| {
        let what = format!("the NotificationContainer is {}", not_an_object(&e));
        Error::decode_json(what, &e, container)
    })?;
    let kind: Cow<'_, str> = match members.last("type") {
        None => return Err(Error::decode("the notification has no type", container)),
        Some(raw) => serde_json::from_str(raw.get()).map_err(|e| {
            Error::decode_json("the notification's type is not a string", &e, container)
        })?,
    };
    let (notification, problem) = view(&kind, members.child_raw(&kind), container);
    let alert = frame_alert(intern(&kind), notification, text, container);
    Ok(Decoded { alert, problem })
}

/// The alert of a frame, `text`, whose container object is `container` (a slice of it).
fn frame_alert(
    kind: Cow<'static, str>,
    notification: Notification,
    text: &str,
    container: &str,
) -> Alert {
    // Where the container is in the text, by address (no copy, no second parse).
    let start = container.as_ptr() as usize - text.as_ptr() as usize;
    Alert {
        kind,
        notification,
        source: Source::Frame {
            text: text.into(),
            container: start..start + container.len(),
        },
        raw: Default::default(),
    }
}

/// The alert of an event whose data is `data`.
fn event_alert(kind: Cow<'static, str>, notification: Notification, data: &str) -> Alert {
    Alert {
        kind,
        notification,
        source: Source::Event {
            data: data.into(),
            container: Default::default(),
        },
        raw: Default::default(),
    }
}

/// How Plex begins every frame.
const FRAME_START: &str = r#"{"NotificationContainer":"#;

/// JSON's whitespace (Rust's `trim` knows more, which JSON does not allow).
const JSON_SPACE: [char; 4] = [' ', '\t', '\n', '\r'];

/// A frame as Plex writes it, in one pass; `None` for any other shape.
fn frame_in_one_pass(text: &str) -> Option<Decoded> {
    // `{"NotificationContainer":` and `}` around one JSON value, whole, is an object of that
    // one member: the container is the text between them.
    let rest = text.strip_prefix(FRAME_START)?;
    let container = rest
        .trim_end_matches(JSON_SPACE)
        .strip_suffix('}')?
        .trim_matches(JSON_SPACE);
    let (kind, notification) = read_whole(container, Container)?;
    let alert = frame_alert(kind, notification, text, container);
    Some(Decoded {
        alert,
        problem: None,
    })
}

/// An event whose data names its child once, in one pass; `None` for any other shape.
fn event_in_one_pass(event_type: &str, data: &str) -> Option<Decoded> {
    if event_type == "message" {
        return None; // not a notification, or a wrapped one
    }
    let notification = read_whole(data, EventData { kind: event_type })?;
    let alert = event_alert(intern(event_type), notification, data);
    Some(Decoded {
        alert,
        problem: None,
    })
}

/// Reads all of `text` with `seed`; `None` if it ends the pass.
fn read_whole<'de, S: DeserializeSeed<'de>>(text: &'de str, seed: S) -> Option<S::Value> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = seed.deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(value)
}

/// What ends a pass: a shape that only reading in steps gives its meaning to.
fn not_in_one_pass<E: de::Error>() -> E {
    E::custom("read in steps")
}

/// A container object, `type` before the child: its type and typed view.
struct Container;

impl<'de> DeserializeSeed<'de> for Container {
    type Value = (Cow<'static, str>, Notification);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Container {
    type Value = (Cow<'static, str>, Notification);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a NotificationContainer object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut kind: Option<Cow<'static, str>> = None;
        let mut child = None;
        let mut named = Named { child: None };
        while let Some(member) = map.next_key_seed(named)? {
            match (member, &kind) {
                (Member::Type, None) => {
                    let k = intern(&map.next_value::<Text>()?.0);
                    named.child = child_key(&k);
                    kind = Some(k);
                }
                (Member::Child, Some(k)) if child.is_none() => {
                    child = Some(map.next_value_seed(Typed { kind: k })?);
                }
                (Member::Size, _) | (Member::Other | Member::Wrapper, Some(_)) => {
                    map.next_value::<IgnoredAny>()?;
                }
                // Given twice, or before the type.
                _ => return Err(not_in_one_pass()),
            }
        }
        let kind = kind.ok_or_else(not_in_one_pass)?;
        let notification = child.unwrap_or_else(|| empty(&kind));
        Ok((kind, notification))
    }
}

/// An event's data object, of a type known from its `event:` line: its typed view.
struct EventData<'k> {
    kind: &'k str,
}

impl<'de> DeserializeSeed<'de> for EventData<'_> {
    type Value = Notification;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Notification, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EventData<'_> {
    type Value = Notification;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an event's data object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Notification, A::Error> {
        let named = Named {
            child: child_key(self.kind),
        };
        let mut child = None;
        while let Some(member) = map.next_key_seed(named)? {
            match member {
                Member::Child if child.is_none() => {
                    child = Some(map.next_value_seed(Typed { kind: self.kind })?);
                }
                Member::Type | Member::Size | Member::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
                // Given twice, or a wrapped container.
                Member::Child | Member::Wrapper => return Err(not_in_one_pass()),
            }
        }
        Ok(child.unwrap_or_else(|| empty(self.kind)))
    }
}

/// What a member of a container or of an event's data is, by its key.
#[derive(Clone, Copy)]
enum Member {
    Type,
    Size,
    /// The child, under the key of the type's view.
    Child,
    /// `NotificationContainer`.
    Wrapper,
    Other,
}

/// Tells what a member is by its key, without keeping the key; `child` is the key of the
/// type's view, once the type is known.
#[derive(Clone, Copy)]
struct Named {
    child: Option<&'static str>,
}

impl<'de> DeserializeSeed<'de> for Named {
    type Value = Member;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Member, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Named {
    type Value = Member;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<Member, E> {
        Ok(match key {
            "type" => Member::Type,
            "size" => Member::Size,
            "NotificationContainer" => Member::Wrapper,
            _ if self.child == Some(key) => Member::Child,
            _ => Member::Other,
        })
    }
}

/// Decodes a child into the typed view for `kind`.
struct Typed<'k> {
    kind: &'k str,
}

impl<'de> DeserializeSeed<'de> for Typed<'_> {
    type Value = Notification;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Notification, D::Error> {
        typed(self.kind, d)
    }
}

/// The typed view of a `kind` notification whose child is `child`, and the problem if it
/// does not fit (`whole` is the text an error excerpt shows).
fn view(kind: &str, child: Option<&RawValue>, whole: &str) -> (Notification, Option<Error>) {
    let notification = match child {
        Some(child) => {
            let mut de = serde_json::Deserializer::from_str(child.get());
            typed(kind, &mut de).and_then(|n| de.end().map(|()| n))
        }
        None => Ok(empty(kind)),
    };
    match notification {
        Ok(notification) => (notification, None),
        // Only a known type has a typed view to miss: `kind` is one of this crate's names.
        Err(e) => (
            Notification::Other,
            Some(Error::decode_json(
                format!(
                    "a {kind:?} notification did not fit its typed view; it was delivered with its raw JSON"
                ),
                &e,
                whole,
            )),
        ),
    }
}

/// What JSON that failed to parse as an object is, in an error's message.
fn not_an_object(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Data => "not a JSON object",
        _ => "not JSON",
    }
}

/// An event of `event_type`, in an error's message: named if it is a type this crate
/// knows (its own words), not quoted from the server otherwise.
fn an_event(event_type: &str) -> String {
    match intern(event_type) {
        Cow::Borrowed(kind) => format!("a {kind:?} event"),
        Cow::Owned(_) => "an event of a type this crate does not know".to_owned(),
    }
}

/// The one table of the known types: each type's name, typed view and child key. Every
/// list the crate needs (names, child keys, decoders, empty views) is made from it, so a
/// type cannot be known to one and missed by another.
macro_rules! known_types {
    ($($kind:literal => $variant:ident($view:ty) under $key:literal,)*) => {
        /// The key of the child array for each known type.
        pub(crate) fn child_key(kind: &str) -> Option<&'static str> {
            match kind {
                $($kind => Some($key),)*
                "account" => Some("AccountUpdateNotification"),
                _ => None,
            }
        }

        /// A known type's name as a static string, so that its alerts do not allocate it.
        fn intern(kind: &str) -> Cow<'static, str> {
            match kind {
                $($kind => Cow::Borrowed($kind),)*
                "account" => Cow::Borrowed("account"),
                other => Cow::Owned(other.to_owned()),
            }
        }

        /// The type and child key of a typed view, for writing it as a notification.
        #[cfg(feature = "mock")]
        pub(crate) fn kind_and_key(n: &Notification) -> Option<(&'static str, &'static str)> {
            match n {
                $(Notification::$variant(_) => Some(($kind, $key)),)*
                _ => None,
            }
        }

        /// Decodes a child (an array, one object, or `null`) into the typed view for `kind`.
        fn typed<'de, D: Deserializer<'de>>(kind: &str, d: D) -> Result<Notification, D::Error> {
            match kind {
                $($kind => OneOrMany::<$view>::deserialize(d).map(|m| Notification::$variant(m.0)),)*
                _ => IgnoredAny::deserialize(d).map(|_| empty(kind)),
            }
        }

        /// The typed view for `kind` when its child is absent.
        fn empty(kind: &str) -> Notification {
            match kind {
                $($kind => Notification::$variant(Vec::new()),)*
                "account" => Notification::Account,
                _ => Notification::Other,
            }
        }
    };
}

known_types! {
    "playing" => Playing(PlaySessionState) under "PlaySessionStateNotification",
    "timeline" => Timeline(TimelineEntry) under "TimelineEntry",
    "activity" => Activity(ActivityNotification) under "ActivityNotification",
    "status" => Status(StatusNotification) under "StatusNotification",
    "progress" => Progress(ProgressNotification) under "ProgressNotification",
    "reachability" => Reachability(ReachabilityNotification) under "ReachabilityNotification",
    "transcodeSession.start" => TranscodeSessionStart(TranscodeSession) under "TranscodeSession",
    "transcodeSession.update" => TranscodeSessionUpdate(TranscodeSession) under "TranscodeSession",
    "transcodeSession.end" => TranscodeSessionEnd(TranscodeSession) under "TranscodeSession",
    "preference" => Preference(Setting) under "Setting",
    "update.statechange" => UpdateStateChange(AutoUpdateNotification) under "AutoUpdateNotification",
    "backgroundProcessingQueue" => BackgroundProcessingQueue(BackgroundProcessingQueueEvent) under "BackgroundProcessingQueueEventNotification",
    "provider.content.change" => ProviderContentChange(MediaProviderContentNotification) under "MediaProviderContentNotification",
    "log" => Log(LogSentNotification) under "LogSentNotification",
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

/// The members of a JSON object in order, keys borrowed where they have no escapes, values
/// left as raw JSON (`&RawValue`) or parsed.
struct Members<'de, V>(Vec<(Cow<'de, str>, V)>);

fn parse<'de, V: Deserialize<'de>>(text: &'de str) -> serde_json::Result<Members<'de, V>> {
    serde_json::from_str(text)
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Members<'de, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Object<'de, V>(PhantomData<(&'de (), V)>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Object<'de, V> {
            type Value = Members<'de, V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(3));
                while let Some(Text(key)) = map.next_key()? {
                    out.push((key, map.next_value()?));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(Object(PhantomData))
    }
}

/// A string (an object key, a type), borrowed from the text unless it had escapes.
struct Text<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de, V> Members<'de, V> {
    /// The value of the last member named `key`.
    fn last(&self, key: &str) -> Option<&V> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The members that go into a container: all but the container's own `type` and `size`.
    fn members(&self) -> impl Iterator<Item = &(Cow<'de, str>, V)> {
        self.0.iter().filter(|(k, _)| k != "type" && k != "size")
    }

    /// The child's value: under the known key for `kind` (the last, if given twice), or
    /// else, for a type without a view, the first member.
    fn child(&self, kind: &str) -> Option<&V> {
        match child_key(kind) {
            Some(key) => self.last(key),
            None => self.members().next().map(|(_, v)| v),
        }
    }
}

impl<'de> Members<'de, &'de RawValue> {
    fn child_raw(&self, kind: &str) -> Option<&'de RawValue> {
        self.child(kind).copied()
    }
}

/// The container text of an event's data: `{"type":<kind>,"size":N,<child>:[..]}`, each
/// single child object wrapped in an array, the data's text otherwise kept as sent.
/// `data` must be a JSON object.
pub(crate) fn normalise(kind: &str, data: &str) -> serde_json::Result<String> {
    let members: Members<&RawValue> = parse(data)?;
    let size = members
        .child_raw(kind)
        .map_or(0, |v| count_children(v.get()));
    let mut out = String::with_capacity(data.len() + kind.len() + 32);
    out.push_str(r#"{"type":"#);
    out.push_str(&serde_json::to_string(kind)?);
    out.push_str(r#","size":"#);
    out.push_str(&size.to_string());
    for (key, value) in members.members() {
        out.push(',');
        out.push_str(&serde_json::to_string(key)?);
        out.push(':');
        let json = value.get();
        if json.starts_with('{') {
            out.push('[');
            out.push_str(json);
            out.push(']');
        } else {
            out.push_str(json);
        }
    }
    out.push('}');
    Ok(out)
}

/// [`normalise`], parsed: the same container as a `Value`, in one parse of the data.
pub(crate) fn normalise_value(kind: &str, data: &str) -> serde_json::Result<Value> {
    let members: Members<Value> = parse(data)?;
    let size = match members.child(kind) {
        Some(Value::Array(items)) => items.len(),
        Some(Value::Object(_)) => 1,
        _ => 0,
    };
    let mut container = serde_json::Map::new();
    container.insert("type".to_owned(), Value::from(kind));
    container.insert("size".to_owned(), Value::from(size));
    for (key, value) in members.0 {
        if key == "type" || key == "size" {
            continue;
        }
        let value = match value {
            Value::Object(object) => Value::Array(vec![Value::Object(object)]),
            other => other,
        };
        container.insert(key.into_owned(), value);
    }
    Ok(Value::Object(container))
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

/// The `type` of a frame's notification, read as the listener reads it; `None` if the
/// text is not a notification. (The mock server routes frames by it.)
#[cfg(feature = "mock")]
pub(crate) fn kind_of_frame(text: &str) -> Option<String> {
    let members: Members<&RawValue> = parse(text).ok()?;
    let container: Members<&RawValue> = parse(members.last("NotificationContainer")?.get()).ok()?;
    serde_json::from_str(container.last("type")?.get()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAMES: &str = include_str!("../../tests/fixtures/captured-websocket-frames.jsonl");
    const SHAPES: &str = include_str!("../../tests/fixtures/shape-only-frames.jsonl");
    const STREAM: &str = include_str!("../../tests/fixtures/captured-eventsource-stream.txt");

    /// The (type, data) of each event in the captured stream but its pings.
    fn events() -> Vec<(&'static str, &'static str)> {
        let mut out = Vec::new();
        let mut kind = "message";
        for line in STREAM.lines() {
            if let Some(k) = line.strip_prefix("event: ") {
                kind = k;
            } else if let Some(data) = line.strip_prefix("data: ") {
                if kind != "ping" {
                    out.push((kind, data));
                }
            }
        }
        out
    }

    #[test]
    fn every_captured_notification_is_read_in_one_pass() {
        for text in FRAMES.lines().chain(SHAPES.lines()) {
            let one = frame_in_one_pass(text).unwrap_or_else(|| panic!("{text}"));
            let steps = frame_in_steps(text).unwrap();
            assert_eq!(one.alert, steps.alert, "{text}");
            assert_eq!(one.alert.raw_json(), steps.alert.raw_json());
        }
        let events = events();
        assert_eq!(events.len(), 17);
        for (kind, data) in events {
            let one = event_in_one_pass(kind, data).unwrap_or_else(|| panic!("{data}"));
            assert_eq!(
                one.alert,
                event_in_steps(kind, data).unwrap().alert,
                "{data}"
            );
        }
    }

    #[test]
    fn spaces_where_json_allows_them_are_still_one_pass() {
        let text = "{\"NotificationContainer\": \n{ \"type\" : \"status\" , \"StatusNotification\":[]}\t} \r\n";
        let one = frame_in_one_pass(text).unwrap();
        assert_eq!(one.alert.kind(), "status");
        assert_eq!(
            one.alert.raw_json(),
            "{ \"type\" : \"status\" , \"StatusNotification\":[]}"
        );
    }

    #[test]
    fn other_shapes_are_left_to_the_steps() {
        let child = r#""PlaySessionStateNotification":[{"viewOffset":5}]"#;
        for text in [
            // The child before its type, given twice, the type given twice.
            format!(r#"{{"NotificationContainer":{{{child},"type":"playing"}}}}"#),
            format!(r#"{{"NotificationContainer":{{"type":"playing",{child},{child}}}}}"#),
            format!(r#"{{"NotificationContainer":{{"type":"playing",{child},"type":"x"}}}}"#),
            // A member before the type; no type.
            r#"{"NotificationContainer":{"a":1,"type":"x"}}"#.to_owned(),
            r#"{"NotificationContainer":{"size":1}}"#.to_owned(),
            // Another member beside the container, the container twice, or not an object.
            r#"{"NotificationContainer":{"type":"x"},"a":1}"#.to_owned(),
            r#"{"NotificationContainer":{"type":"x"},"NotificationContainer":{"type":"y"}}"#
                .to_owned(),
            r#"{"NotificationContainer":["x"]}"#.to_owned(),
            // Space before the container's key, a child that does not fit.
            r#" {"NotificationContainer":{"type":"x"}}"#.to_owned(),
            r#"{"NotificationContainer":{"type":"playing","PlaySessionStateNotification":[{"viewOffset":"soon"}]}}"#.to_owned(),
        ] {
            assert!(frame_in_one_pass(&text).is_none(), "{text}");
        }
        for (kind, data) in [
            ("playing", format!("{{{child},{child}}}")),
            (
                "playing",
                r#"{"NotificationContainer":{"type":"playing"}}"#.to_owned(),
            ),
            ("message", r#"{"a":1}"#.to_owned()),
            (
                "playing",
                r#"{"PlaySessionStateNotification":{"viewOffset":"soon"}}"#.to_owned(),
            ),
        ] {
            assert!(event_in_one_pass(kind, &data).is_none(), "{data}");
        }
    }
}
