//! The fuzz targets' invariants as property tests, so they run on stable in CI: the same
//! entry points (`plex_alerts::fuzzing`), fed by proptest instead of libFuzzer. Each entry
//! point panics if an invariant breaks; see `src/fuzzing.rs` for what it checks.
//!
//! The `regression_*` tests at the end are inputs fuzzing found (or that share the root
//! cause of one it found): each failed on the decoder of its day, and is kept so that
//! the bug cannot come back.

use plex_alerts::fuzzing;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value};

/// The known notification types and the key of their child array.
const KNOWN: &[(&str, &str)] = &[
    ("playing", "PlaySessionStateNotification"),
    ("timeline", "TimelineEntry"),
    ("activity", "ActivityNotification"),
    ("status", "StatusNotification"),
    ("progress", "ProgressNotification"),
    ("reachability", "ReachabilityNotification"),
    ("transcodeSession.start", "TranscodeSession"),
    ("transcodeSession.update", "TranscodeSession"),
    ("transcodeSession.end", "TranscodeSession"),
    ("preference", "Setting"),
    ("update.statechange", "AutoUpdateNotification"),
    (
        "backgroundProcessingQueue",
        "BackgroundProcessingQueueEventNotification",
    ),
    (
        "provider.content.change",
        "MediaProviderContentNotification",
    ),
    ("log", "LogSentNotification"),
    ("account", "AccountUpdateNotification"),
];

/// Field names the typed views read, so generated values reach the lenient decoders.
const FIELDS: &[&str] = &[
    "sessionKey",
    "clientIdentifier",
    "guid",
    "ratingKey",
    "url",
    "key",
    "viewOffset",
    "playQueueItemID",
    "playQueueID",
    "state",
    "transcodeSession",
    "identifier",
    "sectionID",
    "itemID",
    "parentItemID",
    "rootItemID",
    "type",
    "title",
    "metadataState",
    "mediaState",
    "queueSize",
    "updatedAt",
    "event",
    "uuid",
    "Activity",
    "userID",
    "subtitle",
    "progress",
    "cancellable",
    "Context",
    "description",
    "notificationName",
    "message",
    "reachability",
    "throttled",
    "complete",
    "speed",
    "duration",
    "remaining",
    "context",
    "sourceVideoCodec",
    "videoDecision",
    "audioDecision",
    "protocol",
    "container",
    "audioChannels",
    "transcodeHwRequested",
    "timeStamp",
    "maxOffsetAvailable",
    "id",
    "label",
    "summary",
    "default",
    "value",
    "hidden",
    "advanced",
    "group",
    "version",
    "queueID",
    "level",
    "thread",
    "time",
];

fn known_child(kind: &str) -> Option<&'static str> {
    KNOWN.iter().find(|(k, _)| *k == kind).map(|(_, c)| *c)
}

/// A notification type: a known one, or a made-up one.
fn kind() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(KNOWN).prop_map(|(k, _)| k.to_owned()),
        1 => "[a-z][a-zA-Z.]{0,15}",
    ]
}

/// The child key for `kind`: usually its own, else another type's or a made-up one.
fn child_key(kind: &str) -> BoxedStrategy<String> {
    let own = known_child(kind).map_or_else(|| "Thing".to_owned(), str::to_owned);
    prop_oneof![
        3 => Just(own),
        1 => select(KNOWN).prop_map(|(_, c)| c.to_owned()),
        1 => "[A-Z][A-Za-z]{0,11}",
    ]
    .boxed()
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(FIELDS).prop_map(str::to_owned),
        1 => "[a-zA-Z]{1,10}",
    ]
}

/// A value of any JSON kind, leaning to what servers send: numbers, numbers as text,
/// words the typed views know, flags.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        2 => (-3i64..20).prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(Value::from), // non-finite becomes null
        1 => (-1000i64..100_000).prop_map(|n| Value::from(n as f64 / 8.0)),
        2 => prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|f| f.to_string()),
            (-3i64..20).prop_map(|n| format!(" {n} ")),
            select(&["", "1.5", "17.0", "1e3", "-0", "9e15", "NaN", "inf", "0x10", "1_000"][..])
                .prop_map(str::to_owned),
        ]
        .prop_map(Value::String),
        2 => select(
            &["playing", "paused", "stopped", "buffering", "error", "true", "false", "True", "1",
              "0", "deleted", "ended", "/library/metadata/1"][..]
        )
        .prop_map(Value::from),
        1 => ".{0,12}".prop_map(Value::String),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
    ]
}

/// Any JSON value, objects and arrays nested a couple of levels.
fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..4)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// One child: an object with fields the typed views read and some they don't.
fn child() -> impl Strategy<Value = Value> {
    prop::collection::vec((field_name(), value()), 0..6)
        .prop_map(|fields| Value::Object(fields.into_iter().collect()))
}

/// A generated notification: its type, and the inner object the event stream sends
/// (`{"<Child>": [..] or {..}, ...}`, without type and size).
#[derive(Debug, Clone)]
struct Generated {
    kind: String,
    inner: Map<String, Value>,
    size: usize,
}

impl Generated {
    /// The WebSocket frame: `{"NotificationContainer":{"type":..,"size":..,...inner}}`.
    fn frame(&self) -> String {
        let mut container = Map::new();
        container.insert("type".into(), self.kind.clone().into());
        container.insert("size".into(), self.size.into());
        container.extend(self.inner.clone());
        let mut frame = Map::new();
        frame.insert("NotificationContainer".into(), container.into());
        Value::Object(frame).to_string()
    }

    /// The frame as Plex writes it, `type` and `size` first (the order the one-pass read
    /// takes), where [`frame`](Self::frame) sorts the keys and puts the child first.
    fn plex_frame(&self) -> String {
        let mut container = format!(
            r#"{{"NotificationContainer":{{"type":{},"size":{}"#,
            Value::from(self.kind.as_str()),
            self.size
        );
        for (key, value) in &self.inner {
            container.push_str(&format!(",{}:{value}", Value::from(key.as_str())));
        }
        container + "}}"
    }

    fn data(&self) -> String {
        Value::Object(self.inner.clone()).to_string()
    }
}

fn notification() -> impl Strategy<Value = Generated> {
    kind().prop_flat_map(|kind| {
        let children = prop_oneof![
            2 => prop::collection::vec(child(), 0..3).prop_map(|v| { let n = v.len(); (Value::Array(v), n) }),
            1 => child().prop_map(|c| (c, 1)),
        ];
        let extras = prop::collection::vec(
            ("[a-zA-Z]{1,8}".prop_filter("type and size are the container's", |k| {
                k != "type" && k != "size"
            }), value()),
            0..3,
        );
        (Just(kind.clone()), child_key(&kind), children, extras).prop_map(
            |(kind, key, (children, size), extras)| {
                let mut inner: Map<String, Value> = extras.into_iter().collect();
                inner.insert(key, children);
                Generated { kind, inner, size }
            },
        )
    })
}

/// An event-stream line end.
fn line_end() -> impl Strategy<Value = &'static str> {
    select(&["\n", "\r", "\r\n"][..])
}

/// Event-stream text: fields, comments, overlong lines and data, and whole events
/// carrying generated notifications, with mixed line ends.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        3 => notification().prop_map(|g| format!("event: {}\ndata: {}\n", g.kind, g.data())),
        2 => "[a-z]{0,6}".prop_map(|t| format!("event: {t}")),
        2 => ".{0,40}".prop_map(|d| format!("data: {d}")),
        1 => "[a-z0-9]{0,6}".prop_map(|i| format!("id: {i}")),
        1 => "[0-9a]{0,5}".prop_map(|r| format!("retry: {r}")),
        1 => ".{0,20}".prop_map(|c| format!(":{c}")),
        1 => (250usize..300).prop_map(|n| format!("data: {}", "x".repeat(n))),
        1 => (0usize..3).prop_map(|n| "data: ".to_owned() + &"y".repeat(200) + &"\ndata: z".repeat(n)),
        3 => Just(String::new()),
    ];
    (
        any::<bool>(),
        prop::collection::vec((line, line_end()), 0..24),
    )
        .prop_map(|(bom, lines)| {
            let mut out = Vec::new();
            if bom {
                out.extend_from_slice(b"\xEF\xBB\xBF");
            }
            for (line, end) in lines {
                out.extend_from_slice(line.as_bytes());
                out.extend_from_slice(end.as_bytes());
            }
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_websocket_text_decodes_or_fails_cleanly(text in any::<String>()) {
        fuzzing::websocket_text(&text);
    }

    #[test]
    fn json_like_websocket_text_decodes_or_fails_cleanly(
        text in r#"\{"NotificationContainer":[\{\}\[\]":,a-zA-Z0-9 .\-]{0,60}"#,
    ) {
        fuzzing::websocket_text(&text);
    }

    #[test]
    fn any_event_decodes_or_fails_cleanly(event_type in any::<String>(), data in any::<String>()) {
        fuzzing::event(&event_type, &data);
    }

    #[test]
    fn json_like_event_data_decodes_or_fails_cleanly(
        event_type in kind(),
        data in r#"\{[\{\}\[\]":,a-zA-Z0-9 .\-]{0,60}"#,
    ) {
        fuzzing::event(&event_type, &data);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn notification_frames_decode_to_a_consistent_alert(g in notification()) {
        fuzzing::websocket_text(&g.frame());
    }

    #[test]
    fn notification_frames_in_plex_order_decode_to_a_consistent_alert(g in notification()) {
        fuzzing::websocket_text(&g.plex_frame());
    }

    #[test]
    fn notification_events_normalise_to_a_consistent_alert(g in notification()) {
        fuzzing::event(&g.kind, &g.data());
    }

    #[test]
    fn notification_streams_memory_stays_bounded_and_split_does_not_matter(
        bytes in stream(),
        chunk in prop_oneof![1usize..16, 16usize..1000],
    ) {
        fuzzing::event_stream(&bytes, chunk);
    }
}

#[test]
fn captured_fixtures_pass_every_check() {
    let frames = include_str!("fixtures/captured-websocket-frames.jsonl");
    let shapes = include_str!("fixtures/shape-only-frames.jsonl");
    for frame in frames.lines().chain(shapes.lines()) {
        fuzzing::websocket_text(frame);
    }
    let stream = include_bytes!("fixtures/captured-eventsource-stream.txt");
    for chunk in [1, 7, 64, 4096] {
        fuzzing::event_stream(stream, chunk);
    }
}

// Regressions: minimal inputs on which a check failed, found by the fuzz targets or sharing
// the root cause of one they found. Each guards a fix.

/// Found by `websocket_frame` and `event_data` (as `15e6551117` and `14E462` in a child): a
/// number beyond f64 passes the decoder, which only skips it, but `raw()` cannot hold it
/// and is `null` (documented on `Alert::raw`); the check once wanted an object.
#[test]
fn regression_number_out_of_range_keeps_raw_an_object() {
    fuzzing::websocket_text(r#"{"NotificationContainer":{"type":"x","a":1e400}}"#);
    fuzzing::event("x", r#"{"a":1e400}"#);
}

/// Same root cause: a lone UTF-16 surrogate escape is skipped but not parsed.
#[test]
fn regression_lone_surrogate_keeps_raw_an_object() {
    fuzzing::websocket_text(r#"{"NotificationContainer":{"type":"x","a":"\ud800"}}"#);
    fuzzing::event("x", r#"{"a":"\ud800"}"#);
}

/// Same root cause: nesting past serde_json's recursion limit (128) is skipped but not
/// parsed.
#[test]
fn regression_deep_nesting_keeps_raw_an_object() {
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    fuzzing::websocket_text(&format!(
        r#"{{"NotificationContainer":{{"type":"x","a":{deep}}}}}"#
    ));
    fuzzing::event("x", &format!(r#"{{"a":{deep}}}"#));
}

/// Found by `websocket_frame`: with two `type` members the alert once took the first and
/// `raw()` (like any JSON reader) the last, so `raw()["type"]` was not `kind()`.
#[test]
fn regression_duplicate_type_gives_one_type() {
    fuzzing::websocket_text(r#"{"NotificationContainer":{"type":"x","type":"y"}}"#);
    fuzzing::websocket_text(r#"{"NotificationContainer":{"type":"x","type":1}}"#);
}

/// Two `NotificationContainer` members: the alert was once decoded from the first, and
/// `raw_json()` fell back to `{}`, which has no type.
#[test]
fn regression_duplicate_container_gives_one_alert() {
    fuzzing::websocket_text(r#"{"NotificationContainer":{"type":"x"},"NotificationContainer":1}"#);
}

/// Two child members: a one-pass decoder once kept the first, `raw()` and `size` the last.
#[test]
fn regression_duplicate_child_counts_as_its_last_copy() {
    fuzzing::websocket_text(
        r#"{"NotificationContainer":{"type":"playing","PlaySessionStateNotification":[],"PlaySessionStateNotification":[{"viewOffset":"x"}]}}"#,
    );
    fuzzing::event(
        "playing",
        r#"{"PlaySessionStateNotification":[],"PlaySessionStateNotification":[{},{}]}"#,
    );
}

/// An event whose data wraps a whole `{"NotificationContainer": ..}` without a "size" is
/// passed through as sent; the check "a normalised alert has a numeric size" once failed
/// on it, and now exempts wrapped events.
#[test]
fn regression_wrapped_event_without_size() {
    fuzzing::event("message", r#"{"NotificationContainer":{"type":"x"}}"#);
}

/// A container that is an array: serde reads a struct from an array too, so `["x"]` once
/// decoded as type "x" with an array for `raw()`.
#[test]
fn regression_container_array_is_not_an_alert() {
    fuzzing::websocket_text(r#"{"NotificationContainer":["x"]}"#);
    fuzzing::event("x", r#"{"NotificationContainer":["playing"]}"#);
}

/// Found by `event_data` and `sse_parser` (as `{"size":{..}}`): an event's own "size"
/// member was copied after the computed one, so `raw()["size"]` was the event's.
#[test]
fn regression_event_size_member_does_not_replace_the_count() {
    fuzzing::event("x", r#"{"size":"x"}"#);
    fuzzing::event("x", r#"{"size":{"a":true}}"#);
    fuzzing::event("x", r#"{"type":"y"}"#);
}
