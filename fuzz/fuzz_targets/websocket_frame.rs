//! A WebSocket text frame: the input as (lossy) UTF-8.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    plex_alerts::fuzzing::websocket_text(&String::from_utf8_lossy(data));
});
