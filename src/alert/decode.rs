//! From what a transport received to an [`Alert`], by one path for both transports.
//!
//! A notification is read in two steps. Its object's members are split first, each value
//! kept as raw JSON text, so that nothing depends on their order, and a member given twice
//! counts as its last copy (as in a `serde_json::Value`, and python's `json.loads`). Then
//! the child under the key its type names is decoded into the typed view. A child that
//! does not fit its view leaves the alert with [`Notification::Other`], its raw JSON, and a
//! problem to report; text that is not a notification at all is an error.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;

use super::{Alert, Decoded, Source};
use crate::error::Error;
use crate::notification::*;

/// Decodes a WebSocket text frame: `{"NotificationContainer": {...}}`.
pub(crate) fn frame(text: &str) -> Result<Decoded, Error> {
    let members: Members<&RawValue> = parse(text).map_err(|e| {
        Error::decode_json(format!("the message is {}", not_an_object(&e)), &e, text)
    })?;
    let container = members
        .last("NotificationContainer")
        .ok_or_else(|| Error::decode("no NotificationContainer in the message", text))?;
    wrapped(text, container.get())
}

/// Decodes an event-stream event: `event: <type>` and `data: <inner object>`, where the
/// child is usually a single object rather than an array. A data object that is a whole
/// `{"NotificationContainer": {...}}` and nothing else is read as a WebSocket frame.
pub(crate) fn event(event_type: &str, data: &str) -> Result<Decoded, Error> {
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
    let alert = Alert {
        kind: intern(event_type),
        notification,
        source: Source::Event {
            data: data.into(),
            container: Default::default(),
        },
        raw: Default::default(),
    };
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
    // The container is a slice of the text: where, by address (no copy, no second parse).
    let start = container.as_ptr() as usize - text.as_ptr() as usize;
    let alert = Alert {
        kind: intern(&kind),
        notification,
        source: Source::Frame {
            text: text.into(),
            container: start..start + container.len(),
        },
        raw: Default::default(),
    };
    Ok(Decoded { alert, problem })
}

/// The typed view of a `kind` notification whose child is `child`, and the problem if it
/// does not fit (`whole` is the text an error excerpt shows).
fn view(kind: &str, child: Option<&RawValue>, whole: &str) -> (Notification, Option<Error>) {
    match typed(kind, child.map(RawValue::get)) {
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

        /// Decodes a child (an array, one object, or absent) into the typed view for `kind`.
        fn typed(kind: &str, child: Option<&str>) -> serde_json::Result<Notification> {
            match (kind, child) {
                $(($kind, Some(json)) => serde_json::from_str::<OneOrMany<$view>>(json)
                    .map(|m| Notification::$variant(m.0)),)*
                $(($kind, None) => Ok(Notification::$variant(Vec::new())),)*
                ("account", _) => Ok(Notification::Account),
                _ => Ok(Notification::Other),
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
                while let Some(Key(key)) = map.next_key()? {
                    out.push((key, map.next_value()?));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(Object(PhantomData))
    }
}

/// An object key, borrowed from the text unless it had escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
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
