//! Twenty server restarts in a row: the listener is connected again after each, with its
//! backoff visible in the state events while the server is down.

mod common;

use std::time::Duration;

use common::*;
use plex_alerts::mock::MockServer;
use plex_alerts::{ConnectionState, Error, Event};

const RESTARTS: u64 = 20;

#[test]
fn twenty_restarts_each_end_connected_with_backoff_while_down() {
    let server = MockServer::start();
    for transport in BOTH {
        // Every connection counts as healthy at once: the backoff starts from the first
        // attempt after each restart.
        let (listener, rx) = connected_with(&server, transport, |b| {
            b.reconnect(fast_reconnect().healthy_after(Duration::ZERO))
        });
        for round in 0..RESTARTS {
            server.send(&numbered_frame(round));
            assert_eq!(seq_of(&next_alert(&rx)), round, "{transport:?}");
            server.stop_listening();
            // While the server is down, attempts fail and are retried after a delay.
            let mut retries = Vec::new();
            while retries.len() < 3 {
                match rx.recv_timeout(HANG_GUARD).expect("an event") {
                    Event::State(ConnectionState::Disconnected {
                        retry_in: Some(d),
                        error,
                        ..
                    }) => retries.push((d, error)),
                    Event::State(ConnectionState::Disconnected {
                        retry_in: None,
                        error,
                        ..
                    }) => {
                        panic!("{transport:?}: gave up after {error}")
                    }
                    _ => {}
                }
            }
            // The first is the dropped connection; the next are refused connects, each
            // waiting at most its doubled cap (20 ms, 40 ms, 80 ms, ... up to 200 ms).
            assert!(
                retries[1..]
                    .iter()
                    .all(|(_, e)| matches!(e, Error::Connect { .. })),
                "{retries:?}"
            );
            for (i, (delay, _)) in retries.iter().enumerate() {
                let cap = Duration::from_millis((20u64 << i).min(200));
                assert!(
                    *delay <= cap,
                    "{transport:?}: retry {i} waited {delay:?} > {cap:?}"
                );
            }
            server.start_listening().unwrap();
            wait_state(&rx, |s| matches!(s, ConnectionState::Connected { .. }));
            assert!(server.wait_for_clients(1, HANG_GUARD));
        }
        server.send(&numbered_frame(RESTARTS));
        assert_eq!(seq_of(&next_alert(&rx)), RESTARTS);
        let stats = listener.stats();
        println!(
            "{transport:?}: {} reconnects over {RESTARTS} restarts",
            stats.reconnects
        );
        assert!(stats.reconnects >= RESTARTS * 3);
        listener.stop();
    }
}
