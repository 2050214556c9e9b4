//! Entry points shared by the fuzz targets in `fuzz/` and the property tests: each runs a
//! decoder on arbitrary input and panics if an invariant breaks. Not public API.

use crate::alert::{self, Decoded};
use crate::sse;

/// Decodes a WebSocket text frame; checks the alert if it decodes.
pub fn websocket_text(text: &str) {
    if let Ok(decoded) = alert::from_websocket_text(text) {
        check(&decoded);
    }
}

/// Decodes an event-stream event; checks the alert if it decodes.
pub fn event(event_type: &str, data: &str) {
    if let Ok(decoded) = alert::from_event_stream(event_type, data) {
        check(&decoded);
        let size = decoded.alert.raw()["size"].as_u64();
        assert!(size.is_some(), "a normalised alert has a numeric size");
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
    for piece in bytes.chunks(chunk) {
        parser.push(piece);
        while let Some(item) = parser.next_event() {
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
    }
}

fn check(decoded: &Decoded) {
    let alert = &decoded.alert;
    let raw = alert.raw();
    assert!(raw.is_object(), "raw() is an object: {}", alert.raw_json());
    assert_eq!(
        raw["type"].as_str(),
        Some(alert.kind()),
        "raw() carries the type"
    );
    let _ = alert.to_string();
    serde_json::to_string(alert.notification()).expect("a typed view serialises");
    if let Some(problem) = &decoded.problem {
        let _ = problem.to_string();
    }
}
