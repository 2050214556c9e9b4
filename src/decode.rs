//! From the server's JSON to a typed [`Notification`], in as few passes as the input allows.
//!
//! The fast paths read a notification in one pass: an event stream names its type in
//! `event:`, and a WebSocket frame writes `type` before the child array, so the child can be
//! decoded straight into its typed view. Anything unusual (the child before the type, a
//! payload that does not fit its view, broken JSON) fails the fast path and is handled by
//! the careful one, which tells a typed view that did not fit from input that is not a
//! notification at all.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::notification::*;

/// A notification read in one pass: its type and typed view.
pub(crate) struct Fast {
    pub kind: Cow<'static, str>,
    pub notification: Notification,
}

/// One pass over a WebSocket frame, `{"NotificationContainer": {"type": .., <child>: ..}}`.
pub(crate) fn websocket_fast(frame: &str) -> Option<Fast> {
    struct FrameSeed;
    impl<'de> DeserializeSeed<'de> for FrameSeed {
        type Value = Fast;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Fast, D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de> Visitor<'de> for FrameSeed {
        type Value = Fast;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a notification frame")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fast, A::Error> {
            let mut found = None;
            while let Some(key) = map.next_key::<&str>()? {
                if key == "NotificationContainer" {
                    if found.is_some() {
                        return Err(duplicate());
                    }
                    found = Some(map.next_value_seed(ContainerSeed)?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            found.ok_or_else(|| de::Error::missing_field("NotificationContainer"))
        }
    }
    whole(frame, FrameSeed)
}

/// One pass over an event's data, the inner object of a notification of type `kind`.
pub(crate) enum EventFast<'a> {
    /// The typed view, read from the data directly.
    Typed(Notification),
    /// The data wraps a whole WebSocket-shaped container: decode that instead.
    Wrapped(&'a str),
}

pub(crate) fn event_fast<'a>(kind: &str, data: &'a str) -> Option<EventFast<'a>> {
    struct DataSeed<'k> {
        kind: &'k str,
    }
    impl<'de, 'k> DeserializeSeed<'de> for DataSeed<'k> {
        type Value = EventFast<'de>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de, 'k> Visitor<'de> for DataSeed<'k> {
        type Value = EventFast<'de>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an event's data object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let child = child_key(self.kind);
            let mut notification = None;
            let mut wrapped = None;
            let mut members = 0;
            while let Some(key) = map.next_key::<&str>()? {
                members += 1;
                if Some(key) == child {
                    if notification.is_some() {
                        return Err(duplicate());
                    }
                    notification = Some(map.next_value_seed(TypedSeed { kind: self.kind })?);
                } else if key == "NotificationContainer" {
                    wrapped = Some(map.next_value::<&RawValue>()?.get());
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(match (wrapped, notification) {
                // A whole container, alone: the WebSocket shape sent as an event.
                (Some(container), None) if members == 1 => EventFast::Wrapped(container),
                (_, Some(n)) => EventFast::Typed(n),
                _ => EventFast::Typed(empty(self.kind)),
            })
        }
    }
    whole(data, DataSeed { kind })
}

/// A member given twice: the careful path then reads it as the last one, as a
/// `serde_json::Value` (and python's `json.loads`) would.
fn duplicate<E: de::Error>() -> E {
    E::custom("a member given twice")
}

/// Deserializes all of `text` with `seed`; None on any error (the careful path then runs).
fn whole<'de, S: DeserializeSeed<'de>>(text: &'de str, seed: S) -> Option<S::Value> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = seed.deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(value)
}

/// The container object: `type` first (as Plex writes it), then the child, typed at once.
struct ContainerSeed;

impl<'de> DeserializeSeed<'de> for ContainerSeed {
    type Value = Fast;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Fast, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ContainerSeed {
    type Value = Fast;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a NotificationContainer object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fast, A::Error> {
        let mut kind: Option<Cow<'static, str>> = None;
        let mut notification = None;
        while let Some(key) = map.next_key::<&str>()? {
            match (key, &kind) {
                ("type", None) => kind = Some(intern(map.next_value::<&str>()?)),
                ("type", Some(_)) => return Err(duplicate()),
                (key, Some(k)) if Some(key) == child_key(k) => {
                    if notification.is_some() {
                        return Err(duplicate());
                    }
                    notification = Some(map.next_value_seed(TypedSeed { kind: k })?);
                }
                // A child before the type: leave it to the careful path.
                (key, None) if key != "size" => {
                    return Err(de::Error::custom("the child comes before the type"));
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let kind = kind.ok_or_else(|| de::Error::missing_field("type"))?;
        let notification = notification.unwrap_or_else(|| empty(&kind));
        Ok(Fast { kind, notification })
    }
}

/// Decodes a child (array or single object) into the typed view for `kind`.
struct TypedSeed<'k> {
    kind: &'k str,
}

impl<'de> DeserializeSeed<'de> for TypedSeed<'_> {
    type Value = Notification;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Notification, D::Error> {
        typed(self.kind, d)
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
        pub(crate) fn intern(kind: &str) -> Cow<'static, str> {
            match kind {
                $($kind => Cow::Borrowed($kind),)*
                "account" => Cow::Borrowed("account"),
                other => Cow::Owned(other.to_owned()),
            }
        }

        /// Decodes a child into the typed view for `kind`.
        fn typed<'de, D: Deserializer<'de>>(kind: &str, d: D) -> Result<Notification, D::Error> {
            match kind {
                $($kind => OneOrMany::<$view>::deserialize(d).map(|m| Notification::$variant(m.0)),)*
                "account" => IgnoredAny::deserialize(d).map(|_| Notification::Account),
                _ => IgnoredAny::deserialize(d).map(|_| Notification::Other),
            }
        }

        /// The typed view of a notification of type `kind` whose child is absent.
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

/// The careful path's typed view: the child under its key in `container`, decoded alone.
pub(crate) fn typed_view(kind: &str, container: &str) -> serde_json::Result<Notification> {
    let Some(key) = child_key(kind) else {
        return Ok(Notification::Other);
    };
    let mut de = serde_json::Deserializer::from_str(container);
    let out = ChildOf { key, kind }.deserialize(&mut de)?;
    de.end()?;
    Ok(out)
}

struct ChildOf<'k> {
    key: &'k str,
    kind: &'k str,
}

impl<'de> DeserializeSeed<'de> for ChildOf<'_> {
    type Value = Notification;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Notification, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ChildOf<'_> {
    type Value = Notification;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a notification object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Notification, A::Error> {
        // Only the last child given counts, as in a Value: earlier copies are not decoded.
        let mut last: Option<&'de RawValue> = None;
        while let Some(is_child) = map.next_key_seed(KeyIs(self.key))? {
            if is_child {
                last = Some(map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        let Some(child) = last else {
            return Ok(empty(self.kind));
        };
        let mut de = serde_json::Deserializer::from_str(child.get());
        TypedSeed { kind: self.kind }
            .deserialize(&mut de)
            .map_err(de::Error::custom)
    }
}

/// Compares a map key with an expected one without allocating, escaped or not.
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

/// The members of a JSON object in order: values left as raw JSON (`&RawValue`) or parsed.
pub(crate) struct Entries<V>(pub Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Members<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Members<V> {
            type Value = Entries<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(1);
                while let Some(key) = map.next_key::<String>()? {
                    out.push((key, map.next_value()?));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(Members(PhantomData))
    }
}

impl<V> Entries<V> {
    /// The members that go into a container: all but the container's own `type` and `size`.
    fn members(&self) -> impl Iterator<Item = &(String, V)> {
        self.0.iter().filter(|(k, _)| k != "type" && k != "size")
    }

    /// The child's value: under the known key for `kind` (the last, if given twice), or
    /// else the first member.
    fn child(&self, kind: &str) -> Option<&V> {
        match child_key(kind) {
            Some(key) => self.members().filter(|(k, _)| k == key).last(),
            None => self.members().next(),
        }
        .map(|(_, v)| v)
    }
}

/// The container text of an event's data: `{"type":<kind>,"size":N,<child>:[..]}`, each
/// single child object wrapped in an array, the data's text otherwise kept as sent.
/// `data` must be a JSON object.
pub(crate) fn normalise(kind: &str, data: &str) -> serde_json::Result<String> {
    let entries: Entries<&RawValue> = serde_json::from_str(data)?;
    let size = entries.child(kind).map_or(0, |v| count_children(v.get()));
    let mut out = String::with_capacity(data.len() + kind.len() + 32);
    out.push_str(r#"{"type":"#);
    out.push_str(&serde_json::to_string(kind)?);
    out.push_str(r#","size":"#);
    out.push_str(&size.to_string());
    for (key, value) in entries.members() {
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
    let entries: Entries<Value> = serde_json::from_str(data)?;
    let size = match entries.child(kind) {
        Some(Value::Array(items)) => items.len(),
        Some(Value::Object(_)) => 1,
        _ => 0,
    };
    let mut container = serde_json::Map::new();
    container.insert("type".to_owned(), Value::from(kind));
    container.insert("size".to_owned(), Value::from(size));
    for (key, value) in entries.0 {
        if key == "type" || key == "size" {
            continue;
        }
        let value = match value {
            Value::Object(object) => Value::Array(vec![Value::Object(object)]),
            other => other,
        };
        container.insert(key, value);
    }
    Ok(Value::Object(container))
}

/// A frame's `NotificationContainer`, parsed, in one parse of the frame.
pub(crate) fn container_value(frame: &str) -> serde_json::Result<Value> {
    let mut members: Entries<Value> = serde_json::from_str(frame)?;
    let at = members
        .0
        .iter()
        .rposition(|(k, _)| k == "NotificationContainer");
    Ok(at.map_or(Value::Null, |i| members.0.swap_remove(i).1))
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

/// The container of event data that is nothing but `{"NotificationContainer": {...}}`.
pub(crate) fn wrapped(data: &str) -> Option<&str> {
    let members: Entries<&RawValue> = serde_json::from_str(data).ok()?;
    match members.0.as_slice() {
        [(key, container)] if key == "NotificationContainer" => Some(container.get()),
        _ => None,
    }
}

/// The `NotificationContainer` object of a frame, as text (the last, if given twice).
pub(crate) fn container_of(frame: &str) -> serde_json::Result<Option<&str>> {
    let members: Entries<&RawValue> = serde_json::from_str(frame)?;
    Ok(last(&members, "NotificationContainer")
        .copied()
        .map(RawValue::get))
}

/// The `type` of a container object (the last, if given twice). An array is refused.
pub(crate) fn kind_of(container: &str) -> serde_json::Result<Option<String>> {
    let members: Entries<&RawValue> = serde_json::from_str(container)?;
    last(&members, "type")
        .map(|raw| serde_json::from_str(raw.get()))
        .transpose()
}

/// The value of the last member named `key`: duplicates resolve as in a `Value`.
fn last<'a, V>(members: &'a Entries<V>, key: &str) -> Option<&'a V> {
    members
        .0
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}
