//! Soak: numbered alerts over each transport while the server forces a reconnect every so
//! often. Within a connection nothing is lost, duplicated or reordered; every gap in the
//! numbers falls exactly at a reported disconnect.
//!
//! CI runs 100,000 alerts per transport with a forced reconnect every 10,000. The full
//! size (1,000,000, a reconnect every 50,000) runs in release, in minutes:
//!
//! ```text
//! PLEX_ALERTS_SOAK_ALERTS=1000000 PLEX_ALERTS_SOAK_RECONNECT_EVERY=50000 \
//!     cargo test --release --all-features --test soak -- --nocapture
//! ```

mod common;

use std::thread;
use std::time::Instant;

use common::*;
use plex_alerts::mock::MockServer;
use plex_alerts::{ConnectionState, Event, Transport};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the receiving side saw.
#[derive(Debug, Default)]
struct Tally {
    delivered: u64,
    disconnects: u64,
    gaps: u64,
    last: Option<u64>,
}

/// Checks the stream of events as it comes; panics on loss, duplication or reordering
/// within a connection, and on a gap that is not at a disconnect. Signals `at_last` when
/// the number `last` arrives.
fn check(
    rx: crossbeam_channel::Receiver<Event>,
    last: u64,
    at_last: crossbeam_channel::Sender<()>,
) -> Tally {
    let mut tally = Tally::default();
    // The next number expected on this connection; None right after a disconnect.
    let mut expected: Option<u64> = None;
    loop {
        match rx.recv_timeout(HANG_GUARD).expect("events keep coming") {
            Event::Alert(alert) => {
                let seq = seq_of(&alert);
                match (expected, tally.last) {
                    (Some(want), _) => assert_eq!(seq, want, "within a connection"),
                    (None, Some(prev)) => {
                        assert!(seq > prev, "{seq} after {prev}: duplicated or reordered");
                        tally.gaps += u64::from(seq != prev + 1);
                    }
                    (None, None) => {}
                }
                expected = Some(seq + 1);
                tally.last = Some(seq);
                tally.delivered += 1;
                if seq == last {
                    let _ = at_last.send(());
                }
            }
            Event::State(ConnectionState::Disconnected { .. }) => {
                expected = None;
                tally.disconnects += 1;
            }
            Event::State(ConnectionState::Stopped) => return tally,
            _ => {}
        }
    }
}

fn soak(transport: Transport) {
    let total = env_or("PLEX_ALERTS_SOAK_ALERTS", 100_000);
    let every = env_or("PLEX_ALERTS_SOAK_RECONNECT_EVERY", 10_000).clamp(1, total);
    let batches = total.div_ceil(every);
    let server = MockServer::start();
    let (builder, rx) = builder(&server, transport);
    let listener = builder.start().unwrap();
    let last = total - 1;
    let (at_last_tx, at_last) = crossbeam_channel::bounded(1);
    let checker = thread::spawn(move || check(rx, last, at_last_tx));

    let started = Instant::now();
    let mut seq = 0;
    for batch in 0..batches {
        assert!(
            server.wait_for_handshakes(batch + 1, HANG_GUARD),
            "reconnect {batch}"
        );
        assert!(server.wait_for_clients(1, HANG_GUARD));
        while seq < total.min((batch + 1) * every) {
            server.send(&numbered_frame(seq));
            seq += 1;
        }
        if batch + 1 < batches {
            // Alternate a polite close and a reset; alerts still queued are lost with it.
            if batch % 2 == 0 {
                server.close_all()
            } else {
                server.reset_all()
            }
        }
    }
    // The last batch is never cut: all of it arrives.
    at_last
        .recv_timeout(HANG_GUARD * 10)
        .expect("the last alert arrives");
    let elapsed = started.elapsed();
    listener.stop();
    let tally = checker
        .join()
        .expect("the checker found no loss within a connection");
    println!(
        "{transport:?}: {} of {total} alerts delivered in {elapsed:.2?} ({:.0}/s), {} disconnects, {} gaps, all at disconnects",
        tally.delivered,
        tally.delivered as f64 / elapsed.as_secs_f64(),
        tally.disconnects,
        tally.gaps
    );
    assert_eq!(tally.last, Some(last), "the last alert arrived");
    assert_eq!(
        tally.disconnects,
        batches - 1,
        "one disconnect per forced reconnect"
    );
    assert!(tally.gaps <= tally.disconnects);
}

#[test]
fn soak_websocket() {
    soak(Transport::WebSocket);
}

#[test]
fn soak_eventsource() {
    soak(Transport::EventSource);
}
