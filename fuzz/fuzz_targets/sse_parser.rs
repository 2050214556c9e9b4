//! The event-stream parser, fed in chunks: the first byte picks the chunk size (0: the
//! whole input at once), the rest is the stream. Every event is decoded as well.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((&first, stream)) = data.split_first() {
        let chunk = match first {
            0 => stream.len(),
            n => usize::from(n),
        };
        plex_alerts::fuzzing::event_stream(stream, chunk);
    }
});
