//! An event-stream event: the input as (lossy) UTF-8, split at the first newline into the
//! event type and its data. Without a newline it is all data, of the default type "message".
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (event_type, data) = text.split_once('\n').unwrap_or(("message", &text));
    plex_alerts::fuzzing::event(event_type, data);
});
