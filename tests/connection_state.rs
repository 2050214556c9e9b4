//! The connection state tells a first connect from a reconnect after a gap, and reads
//! every failed attempt (and every connection that dropped before it proved healthy) of
//! one outage as that one outage.

mod common;

use std::time::Duration;

use common::*;
use plex_alerts::mock::{Fault, MockServer};
use plex_alerts::{ConnectionState, Event, Outage};

/// The next Connected or Disconnected state's outage, skipping other events.
fn next_outage(rx: &crossbeam_channel::Receiver<Event>) -> (bool, Option<Outage>) {
    let state = wait_state(rx, |s| {
        matches!(
            s,
            ConnectionState::Connected { .. } | ConnectionState::Disconnected { .. }
        )
    });
    match state {
        ConnectionState::Connected { outage } => (true, outage),
        ConnectionState::Disconnected { outage, .. } => (false, Some(outage)),
        _ => unreachable!(),
    }
}

#[test]
fn the_first_connection_has_no_outage_and_a_reconnect_reports_the_one_it_ends() {
    let server = MockServer::start();
    for transport in BOTH {
        let (builder, rx) = builder(&server, transport);
        // Every connection counts as healthy at once: the next drop starts a new outage.
        let listener = builder
            .reconnect(fast_reconnect().healthy_after(Duration::ZERO))
            .start()
            .unwrap();
        assert_eq!(
            next_outage(&rx),
            (true, None),
            "{transport:?}: first connect"
        );

        server.stop_listening();
        let (_, first) = next_outage(&rx);
        let first = first.expect("a disconnect has an outage");
        assert_eq!(first.attempts, 0, "{transport:?}: it began with the drop");
        // Refused attempts while the server is down: the same outage, growing.
        let mut last = first;
        for _ in 0..3 {
            let (connected, outage) = next_outage(&rx);
            let outage = outage.unwrap();
            assert!(!connected);
            assert_eq!(outage.since, first.since, "{transport:?}: one outage");
            assert_eq!(outage.attempts, last.attempts + 1);
            assert!(outage.duration >= last.duration);
            last = outage;
        }
        server.start_listening().unwrap();
        let (connected, outage) = loop {
            let next = next_outage(&rx);
            if next.0 {
                break next;
            }
        };
        assert!(connected);
        let outage = outage.expect("a reconnect reports the outage it ends");
        assert_eq!(outage.since, first.since, "{transport:?}");
        assert!(outage.attempts > last.attempts);
        assert!(outage.duration >= last.duration);
        listener.stop();
    }
}

#[test]
fn connections_that_drop_before_they_are_healthy_stay_in_one_outage() {
    let server = MockServer::start();
    for transport in BOTH {
        let (builder, rx) = builder(&server, transport);
        let listener = builder
            .reconnect(fast_reconnect().healthy_after(Duration::from_secs(600)))
            .start()
            .unwrap();
        assert_eq!(next_outage(&rx), (true, None), "{transport:?}");
        // From now on the server accepts every connection and drops it at once.
        server.set_fault(Fault::CloseAfterHandshake);
        server.close_all();
        let (_, first) = next_outage(&rx);
        let since = first.unwrap().since;
        let mut reconnects = 0;
        while reconnects < 3 {
            let (connected, outage) = next_outage(&rx);
            let outage = outage.expect("after the first connection, every state has one");
            assert_eq!(
                outage.since, since,
                "{transport:?}: a flap is not a new outage"
            );
            reconnects += usize::from(connected);
        }
        listener.stop();
    }
}
