//! The WebSocket heartbeat on the wire: real Ping frames after silence, Pongs only in
//! answer to the server's Pings, never a text keep-alive; a disabled heartbeat sends nothing.

mod common;

use std::time::Duration;

use common::*;
use plex_alerts::mock::{ClientFrame, MockServer};
use plex_alerts::{ConnectionState, Heartbeat, Transport};

fn pings(server: &MockServer) -> usize {
    server
        .received_frames()
        .iter()
        .filter(|f| matches!(f, ClientFrame::Ping(_)))
        .count()
}

#[test]
fn an_idle_connection_sends_real_pings_and_nothing_else() {
    let server = MockServer::start();
    let (builder, rx) = builder(&server, Transport::WebSocket);
    let listener = builder
        .heartbeat(Heartbeat::new(
            Duration::from_millis(50),
            Duration::from_secs(5),
        ))
        .start()
        .unwrap();
    wait_state(&rx, |s| matches!(s, ConnectionState::Connected { .. }));
    assert!(
        server.wait_until(HANG_GUARD, |s| pings(s) >= 3),
        "pings after silence"
    );
    // Answered pings keep the connection: no error, no reconnect.
    assert!(
        rx.try_iter()
            .all(|e| !matches!(e, plex_alerts::Event::Error(_)))
    );
    assert_eq!(server.handshakes(), 1);
    for frame in server.received_frames() {
        assert!(
            matches!(frame, ClientFrame::Ping(_)),
            "only Pings are sent unasked: {frame:?}"
        );
    }
    listener.stop();
}

#[test]
fn alerts_flowing_mean_no_pings_are_needed() {
    let server = MockServer::start();
    let (builder, rx) = builder(&server, Transport::WebSocket);
    let listener = builder
        .heartbeat(Heartbeat::new(
            Duration::from_secs(5),
            Duration::from_secs(5),
        ))
        .start()
        .unwrap();
    wait_state(&rx, |s| matches!(s, ConnectionState::Connected { .. }));
    for i in 0..50 {
        server.send(&numbered_frame(i));
        assert_eq!(seq_of(&next_alert(&rx)), i);
    }
    assert_eq!(pings(&server), 0);
    listener.stop();
}

#[test]
fn a_disabled_heartbeat_sends_nothing() {
    let server = MockServer::start();
    let (builder, rx) = builder(&server, Transport::WebSocket);
    let listener = builder.heartbeat(Heartbeat::disabled()).start().unwrap();
    wait_state(&rx, |s| matches!(s, ConnectionState::Connected { .. }));
    // Half a second of silence, waiting on the event that must not come.
    assert!(!server.wait_until(Duration::from_millis(500), |s| {
        !s.received_frames().is_empty()
    }));
    listener.stop();
}
