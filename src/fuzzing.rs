//! Entry points shared by the fuzz targets in `fuzz/` and the property tests (feature
//! `fuzzing`, not for users): each runs a decoder on arbitrary input and panics if an
//! invariant breaks. And [`client_frames`], for the tests' raw servers.

use serde_json::Value;

use crate::Error;
use crate::alert::{self, Decoded};
use crate::transport::{frames, sse};

/// The whole frames at the start of `bytes`, as a client writes them: (opcode, payload
/// unmasked), read with the crate's one frame codec. For tests that read what the client
/// sent to a raw server.
pub fn client_frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some((header, payload, used)) = frames::decode(bytes) {
        out.push((header.opcode, payload));
        bytes = &bytes[used..];
    }
    out
}

/// What the listener decodes (in one pass where the shape allows), checked against the
/// same input read in steps whatever its shape: the same alert (type, view, raw JSON),
/// the same problem, the same error.
fn both_paths(
    decoded: Result<Decoded, Error>,
    in_steps: Result<Decoded, Error>,
) -> Result<Decoded, Error> {
    match (&decoded, &in_steps) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.alert, b.alert, "one pass and the steps give other alerts");
            assert_eq!(
                a.alert.raw_json(),
                b.alert.raw_json(),
                "one pass and the steps give other raw JSON"
            );
            assert_eq!(
                a.problem.as_ref().map(Error::to_string),
                b.problem.as_ref().map(Error::to_string),
                "one pass and the steps report other problems"
            );
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "other errors"),
        _ => panic!("one way decodes, the other does not: {decoded:?} / {in_steps:?}"),
    }
    decoded
}

/// Decodes a WebSocket text frame; checks the alert if it decodes.
pub fn websocket_text(text: &str) {
    if let Ok(decoded) = both_paths(alert::frame(text), alert::frame_in_steps(text)) {
        check(&decoded);
    }
}

/// Decodes an event-stream event; checks the alert if it decodes.
pub fn event(event_type: &str, data: &str) {
    let in_steps = alert::event_in_steps(event_type, data);
    if let Ok(decoded) = both_paths(alert::event(event_type, data), in_steps) {
        check(&decoded);
        // A whole container sent as the data passes as sent, like a WebSocket frame.
        if is_normalised(data) {
            let size = decoded.alert.raw()["size"].as_u64();
            assert!(size.is_some(), "a normalised alert has a numeric size");
            check_normalised(&decoded, event_type, size);
        }
    }
}

/// Feeds `bytes` to an event-stream parser with small limits, `chunk` bytes at a time,
/// decoding every event; checks that memory stays bounded.
pub fn event_stream(bytes: &[u8], chunk: usize) {
    let limits = sse::Limits {
        max_line: 256,
        max_event: 512,
    };
    let chunk = chunk.clamp(1, 4096);
    let mut parser = sse::Parser::new(limits);
    let mut chunked = Vec::new();
    for piece in bytes.chunks(chunk) {
        parser.push(piece);
        while let Some(item) = parser.next_event() {
            chunked.push(Item::from(&item));
            if let Ok(ev) = item {
                assert!(ev.data.len() <= limits.max_event, "an event over the limit");
                event(ev.event_type, ev.data);
            }
        }
        assert!(
            parser.buffered() <= limits.max_line + chunk + 8,
            "the parser holds {} bytes",
            parser.buffered()
        );
        // Drained, it keeps at most the unfinished line (or the start of a byte order mark).
        assert!(
            parser.buffered() <= limits.max_line + 3,
            "the drained parser holds {} bytes",
            parser.buffered()
        );
    }
    // The same bytes pushed at once give the same events and errors, in the same order.
    let mut whole = sse::Parser::new(limits);
    whole.push(bytes);
    let mut at_once = Vec::new();
    while let Some(item) = whole.next_event() {
        at_once.push(Item::from(&item));
    }
    assert_eq!(
        chunked, at_once,
        "the result depends on how the bytes were split"
    );
    assert_eq!(parser.retry(), whole.retry(), "retry depends on the split");
}

fn check(decoded: &Decoded) {
    let alert = &decoded.alert;
    let raw = alert.raw();
    // raw() is the parse of raw_json(): Null exactly for JSON a serde_json Value cannot hold
    // (a number beyond f64, a lone surrogate, nesting past 128), as Alert::raw documents.
    match serde_json::from_str::<Value>(alert.raw_json()) {
        Ok(parsed) => {
            assert_eq!(raw, &parsed, "raw() is the parse of raw_json()");
            assert!(raw.is_object(), "raw() is an object: {}", alert.raw_json());
            assert_eq!(
                raw["type"].as_str(),
                Some(alert.kind()),
                "raw() carries the type"
            );
        }
        Err(_) => assert!(raw.is_null(), "raw() of text a Value cannot hold is Null"),
    }
    // The same notification sent as a WebSocket frame is the same alert: an event's
    // normalised container decodes, through the frame path, to what the event gave.
    if raw.is_object() {
        let frame = format!(r#"{{"NotificationContainer":{}}}"#, alert.raw_json());
        match alert::frame(&frame) {
            Ok(again) => {
                assert_eq!(
                    &again.alert, alert,
                    "the frame of raw_json() is another alert"
                );
                assert_eq!(
                    again.problem.is_some(),
                    decoded.problem.is_some(),
                    "the frame of raw_json() fits its view differently"
                );
            }
            Err(e) => panic!("the frame of raw_json() does not decode: {e}"),
        }
    }
    let _ = alert.to_string();
    serde_json::to_string(alert.notification()).expect("a typed view serialises");
    if let Some(problem) = &decoded.problem {
        let _ = problem.to_string();
    }
}

/// Whether `data` takes the normalising path: a JSON object that is not just a wrapped
/// `{"NotificationContainer": {...}}`. False when unsure (text `Value` cannot hold).
fn is_normalised(data: &str) -> bool {
    match serde_json::from_str::<serde_json::Map<String, Value>>(data) {
        Ok(map) => !(map.len() == 1 && map.contains_key("NotificationContainer")),
        Err(_) => false,
    }
}

/// An alert built from an event's `event:` type and inner object carries that type, and
/// its `size` counts the children its typed view delivered.
fn check_normalised(decoded: &Decoded, event_type: &str, size: Option<u64>) {
    let alert = &decoded.alert;
    assert_eq!(alert.kind(), event_type, "the alert has the event's type");
    if decoded.problem.is_some() {
        return;
    }
    // A typed view serialises as {"Variant": [children]}; `Account` and `Other` as a string.
    let view = serde_json::to_value(alert.notification()).expect("a typed view serialises");
    let delivered = view
        .as_object()
        .and_then(|m| m.values().next())
        .and_then(Value::as_array)
        .map(Vec::len);
    if let Some(n) = delivered {
        assert_eq!(
            size,
            Some(n as u64),
            "size counts the children delivered: {}",
            alert.raw_json()
        );
    }
}

/// An owned copy of one `next_event` item, to compare two parses.
#[derive(Debug, PartialEq)]
enum Item {
    Event {
        event_type: String,
        data: String,
        last_event_id: String,
    },
    Error(sse::SseError),
}

impl From<&Result<sse::Event<'_>, sse::SseError>> for Item {
    fn from(item: &Result<sse::Event<'_>, sse::SseError>) -> Item {
        match item {
            Ok(ev) => Item::Event {
                event_type: ev.event_type.to_owned(),
                data: ev.data.to_owned(),
                last_event_id: ev.last_event_id.to_owned(),
            },
            Err(e) => Item::Error(e.clone()),
        }
    }
}
