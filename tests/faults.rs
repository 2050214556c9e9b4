//! Every fault a real network throws at a listener: it is reported, the listener
//! reconnects (or ends, for a token the server refuses), and the alerts sent after the
//! recovery arrive. Over both transports.

mod common;

use std::time::Duration;

use common::*;
use crossbeam_channel::Receiver;
use plex_alerts::mock::{Fault, MockServer};
use plex_alerts::{AlertListener, ConnectionState, Error, Event, Heartbeat, Reconnect, Transport};

/// Waits for the listener to report `want` and then to connect again, and checks an
/// alert sent after that arrives.
fn recovers(
    server: &MockServer,
    rx: &Receiver<Event>,
    transport: Transport,
    want: impl Fn(&Error) -> bool,
) {
    let e = next_error(rx);
    assert!(want(&e), "{transport:?}: unexpected error {e:?}");
    let state = wait_state(rx, |s| matches!(s, ConnectionState::Disconnected { .. }));
    let ConnectionState::Disconnected {
        retry_in: Some(_), ..
    } = state
    else {
        panic!("{transport:?}: {e} must be retried: {state:?}")
    };
    delivers_once_connected(server, rx, 42);
}

fn fast_heartbeat() -> Heartbeat {
    Heartbeat::new(Duration::from_millis(100), Duration::from_millis(100))
}

#[test]
fn a_polite_close_is_reported_and_the_listener_reconnects() {
    let server = MockServer::start();
    for transport in BOTH {
        let (listener, rx) = connected(&server, transport);
        server.close_all();
        recovers(&server, &rx, transport, |e| {
            matches!(e, Error::Closed { .. })
        });
        listener.stop();
    }
}

#[test]
fn a_tcp_reset_is_reported_and_the_listener_reconnects() {
    let server = MockServer::start();
    for transport in BOTH {
        let (listener, rx) = connected(&server, transport);
        server.reset_all();
        recovers(&server, &rx, transport, |e| {
            matches!(e, Error::ConnectionLost { .. } | Error::Closed { .. })
        });
        listener.stop();
    }
}

#[test]
fn a_stream_cut_mid_frame_is_reported_and_the_listener_reconnects() {
    let server = MockServer::start();
    for transport in BOTH {
        let (listener, rx) = connected(&server, transport);
        assert_eq!(server.send_cut(&numbered_frame(1), 40), 1);
        recovers(&server, &rx, transport, |e| {
            matches!(
                e,
                Error::ConnectionLost { .. } | Error::Closed { .. } | Error::Protocol { .. }
            )
        });
        listener.stop();
        // The server sees the stopped client leave a moment after stop() returns; the
        // next transport's cut frame must reach its listener alone.
        assert!(
            server.wait_for_no_clients(HANG_GUARD),
            "a stopped client stays"
        );
    }
}

#[test]
fn a_server_gone_silent_is_found_out_by_the_heartbeat() {
    let server = MockServer::start();
    for transport in BOTH {
        server.set_fault(Fault::Unresponsive);
        let (builder, rx) = builder(&server, transport);
        let listener = builder.heartbeat(fast_heartbeat()).start().unwrap();
        wait_state(&rx, |s| matches!(s, ConnectionState::Connected { .. }));
        server.set_fault(Fault::None);
        recovers(&server, &rx, transport, |e| {
            matches!(e, Error::HeartbeatTimeout { .. })
        });
        listener.stop();
    }
}

#[test]
fn a_server_that_stops_answering_pings_is_found_out() {
    let server = MockServer::start();
    let (builder, rx) = builder(&server, Transport::WebSocket);
    let listener = builder.heartbeat(fast_heartbeat()).start().unwrap();
    wait_state(&rx, |s| matches!(s, ConnectionState::Connected { .. }));
    server.set_answer_pings(false);
    let e = next_error(&rx);
    assert!(
        matches!(e, Error::HeartbeatTimeout { silent_for } if silent_for >= Duration::from_millis(200)),
        "{e:?}"
    );
    server.set_answer_pings(true);
    delivers_once_connected(&server, &rx, 7);
    listener.stop();
}

#[test]
fn a_stalled_handshake_times_out_and_is_retried() {
    let server = MockServer::start();
    for transport in BOTH {
        server.set_fault(Fault::Silent);
        let (builder, rx) = builder(&server, transport);
        let listener = builder
            .handshake_timeout(Duration::from_millis(200))
            .start()
            .unwrap();
        let e = next_error(&rx);
        assert!(
            matches!(
                e,
                Error::Timeout {
                    phase: plex_alerts::Phase::Handshake,
                    ..
                }
            ),
            "{e:?}"
        );
        server.set_fault(Fault::None);
        delivers_once_connected(&server, &rx, 3);
        listener.stop();
    }
}

#[test]
fn any_handshake_status_is_reported_and_only_server_errors_are_retried() {
    let server = MockServer::start();
    for (status, retried) in [
        (500, true),
        (502, true),
        (503, true),
        (429, true),
        (400, false),
        (401, false),
        (403, false),
        (404, false),
        (498, false),
    ] {
        server.set_fault(Fault::Status(status));
        let (builder, rx) = builder(&server, Transport::EventSource);
        let listener = builder.start().unwrap();
        let e = next_error(&rx);
        let got = match e {
            Error::HttpStatus { status, .. } | Error::Unauthorized { status } => status,
            other => panic!("{status}: {other:?}"),
        };
        assert_eq!(got, status);
        let state = wait_state(&rx, |s| matches!(s, ConnectionState::Disconnected { .. }));
        let ConnectionState::Disconnected { retry_in, .. } = state else {
            unreachable!()
        };
        assert_eq!(retry_in.is_some(), retried, "HTTP {status}");
        listener.stop();
    }
}

/// A server restarted twenty times in a row: the listener is connected again after each,
/// with its backoff visible in the state events while the server is down.
#[test]
fn twenty_server_restarts_each_end_connected_with_backoff_while_down() {
    let server = MockServer::start();
    for transport in BOTH {
        // Every connection counts as healthy at once: the backoff starts from the first
        // attempt after each restart.
        let (listener, rx) = connected_with(&server, transport, |b| {
            b.reconnect(fast_reconnect().healthy_after(Duration::ZERO))
        });
        for round in 0..20 {
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
        server.send(&numbered_frame(20));
        assert_eq!(seq_of(&next_alert(&rx)), 20);
        let stats = listener.stats();
        println!(
            "{transport:?}: {} reconnects over 20 restarts",
            stats.reconnects
        );
        assert!(stats.reconnects >= 20 * 3);
        listener.stop();
    }
}

#[test]
fn a_server_that_is_down_is_retried_with_growing_attempts_until_it_is_back() {
    let server = MockServer::start();
    for transport in BOTH {
        let (builder, rx) = builder(&server, transport);
        // Every connection counts as healthy at once, so the count starts over after it.
        let listener = builder
            .reconnect(fast_reconnect().healthy_after(Duration::ZERO))
            .start()
            .unwrap();
        wait_state(&rx, |s| matches!(s, ConnectionState::Connected { .. }));
        server.stop_listening();
        // Refused connections: the attempt count climbs while the server is down.
        assert_eq!(next_attempts(&rx, 4), [1, 2, 3, 4], "{transport:?}");
        server.start_listening().unwrap();
        delivers_once_connected(&server, &rx, 8);
        listener.stop();
    }
}

#[test]
fn backoff_restarts_only_after_a_connection_stayed_up_long_enough() {
    // Every connection is accepted and dropped at once: connecting alone must not reset
    // the backoff, or a flapping server would be hammered.
    let server = MockServer::start();
    server.set_fault(Fault::CloseAfterHandshake);
    let healthy_after = Duration::from_millis(300);
    for transport in BOTH {
        let (builder, rx) = builder(&server, transport);
        let listener = builder
            .reconnect(fast_reconnect().healthy_after(healthy_after))
            .start()
            .unwrap();
        assert_eq!(next_attempts(&rx, 4), [1, 2, 3, 4], "{transport:?}");
        listener.stop();
    }
    // A connection that stayed up that long starts the count again from 1.
    server.set_fault(Fault::None);
    for transport in BOTH {
        let (builder, rx) = builder(&server, transport);
        let listener = builder
            .reconnect(fast_reconnect().healthy_after(healthy_after))
            .start()
            .unwrap();
        wait_state(&rx, |s| matches!(s, ConnectionState::Connected { .. }));
        // Nothing happens on the connection for longer than it takes to turn healthy.
        assert!(rx.recv_timeout(healthy_after * 2).is_err(), "{transport:?}");
        server.close_all();
        let state = wait_state(&rx, |s| matches!(s, ConnectionState::Connecting { .. }));
        assert!(
            matches!(state, ConnectionState::Connecting { attempt: 1 }),
            "{transport:?}: {state:?}"
        );
        listener.stop();
    }
}

#[test]
fn with_reconnect_never_the_first_disconnect_ends_the_listener() {
    let server = MockServer::start();
    for transport in BOTH {
        let (builder, rx) = builder(&server, transport);
        let listener = builder.reconnect(Reconnect::never()).start().unwrap();
        wait_state(&rx, |s| matches!(s, ConnectionState::Connected { .. }));
        let handshakes = server.handshakes();
        server.reset_all();
        let error = next_error(&rx);
        let ended = ends_for_good(listener, &rx).expect_err("join says why it ended");
        assert_eq!(ended.to_string(), error.to_string());
        assert_eq!(server.handshakes(), handshakes, "no second connection");
    }
}

#[test]
fn every_disconnect_reaches_callback_error_and_the_state_callback() {
    let server = MockServer::start();
    let (etx, errors) = crossbeam_channel::unbounded();
    let (stx, states) = crossbeam_channel::unbounded();
    let listener = AlertListener::builder(server.url())
        .token(server.token())
        .reconnect(Reconnect::exponential(
            Duration::from_millis(10),
            Duration::from_millis(50),
        ))
        .callback(|_| {})
        .callback_error(move |e| etx.send(e).unwrap())
        .on_state(move |s| stx.send(s).unwrap())
        .start()
        .unwrap();
    for round in 1..=3u64 {
        assert!(server.wait_for_handshakes(round, HANG_GUARD));
        server.close_all();
        assert!(matches!(
            errors.recv_timeout(HANG_GUARD).unwrap(),
            Error::Closed { .. }
        ));
    }
    listener.stop();
    let states: Vec<_> = states.try_iter().collect();
    let disconnects = states
        .iter()
        .filter(|s| {
            matches!(
                s,
                ConnectionState::Disconnected {
                    error: Error::Closed { .. },
                    retry_in: Some(_),
                    ..
                }
            )
        })
        .count();
    assert!(disconnects >= 3, "{states:?}");
    assert!(matches!(states.last(), Some(ConnectionState::Stopped)));
}

#[test]
fn counters_follow_what_happened() {
    let server = MockServer::start();
    let (listener, rx) = connected(&server, Transport::WebSocket);
    for i in 0..5 {
        server.send(&numbered_frame(i));
    }
    for _ in 0..5 {
        next_alert(&rx);
    }
    server.close_all();
    let _ = next_error(&rx);
    wait_state(&rx, |s| matches!(s, ConnectionState::Connected { .. }));
    let stats = listener.stats();
    assert_eq!(stats.alerts, 5);
    assert_eq!(stats.errors, 1);
    assert_eq!(stats.reconnects, 1);
    assert!(stats.bytes_received > 5 * 300, "{stats:?}");
    assert!(stats.connected);
    assert!(stats.time_connected > Duration::ZERO);
    listener.stop();
}

#[test]
fn timeouts_too_large_to_add_to_a_clock_mean_never_rather_than_a_panic() {
    let server = MockServer::start();
    for transport in BOTH {
        let (builder, rx) = builder(&server, transport);
        let listener = builder
            .connect_timeout(Duration::MAX)
            .handshake_timeout(Duration::MAX)
            .heartbeat(Heartbeat::new(Duration::from_millis(100), Duration::MAX))
            .start()
            .unwrap();
        delivers_once_connected(&server, &rx, 5);
        // An idle read or two, with the huge heartbeat timeout in play.
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
        assert!(listener.is_running(), "{transport:?}");
        listener.stop();
    }
}

#[test]
fn retry_after_is_honoured_in_seconds_and_as_a_date_within_an_hour() {
    let server = MockServer::start();
    let cases = [
        (503, "120", Duration::from_secs(120)),
        (
            429,
            "Fri, 01 Jan 2100 00:00:00 GMT",
            Duration::from_secs(3600),
        ),
    ];
    for transport in BOTH {
        for (status, retry_after, expected) in cases {
            server.set_fault(Fault::Busy {
                status,
                retry_after: retry_after.to_owned(),
            });
            let (builder, rx) = builder(&server, transport);
            let listener = builder.start().unwrap();
            let state = wait_state(&rx, |s| matches!(s, ConnectionState::Disconnected { .. }));
            let ConnectionState::Disconnected {
                retry_in: Some(retry_in),
                error,
                ..
            } = state
            else {
                panic!("{status} is retried: {state:?}")
            };
            assert!(
                matches!(
                    error,
                    Error::HttpStatus {
                        retry_after: Some(_),
                        ..
                    }
                ),
                "{error:?}"
            );
            // The fast reconnect of these tests would come back within 20 ms.
            assert_eq!(retry_in, expected, "{transport:?} {status} {retry_after}");
            listener.stop();
        }
        // A date in the past asks for no wait: the usual backoff applies.
        server.set_fault(Fault::Busy {
            status: 503,
            retry_after: "Sun, 06 Nov 1994 08:49:37 GMT".to_owned(),
        });
        let (builder, rx) = builder(&server, transport);
        let listener = builder.start().unwrap();
        let state = wait_state(&rx, |s| matches!(s, ConnectionState::Disconnected { .. }));
        assert!(
            matches!(state, ConnectionState::Disconnected { retry_in: Some(d), .. } if d <= Duration::from_millis(20)),
            "{state:?}"
        );
        listener.stop();
    }
}

#[test]
fn a_server_that_drops_every_connection_after_a_burst_is_reconnected_ever_more_slowly() {
    let server = std::sync::Arc::new(MockServer::start());
    for transport in BOTH {
        let (builder, rx) = builder(&server, transport);
        // Counted before the listener starts: its first handshake may come at once.
        let start = server.handshakes();
        let listener = builder.start().unwrap();
        // Each time the listener connects: three alerts, then the server closes.
        let flapper = {
            let server = std::sync::Arc::clone(&server);
            std::thread::spawn(move || {
                for n in 1..=4 {
                    if !server.wait_for_handshakes(start + n, HANG_GUARD) {
                        return;
                    }
                    for seq in 0..3 {
                        server.send(&numbered_frame(n * 10 + seq));
                    }
                    server.close_all();
                }
            })
        };
        let mut attempts = Vec::new();
        let mut delays = Vec::new();
        let mut alerts = 0;
        while delays.len() < 4 {
            match rx.recv_timeout(HANG_GUARD).expect("an event") {
                Event::State(ConnectionState::Connecting { attempt }) => attempts.push(attempt),
                Event::State(ConnectionState::Disconnected {
                    retry_in: Some(d), ..
                }) => delays.push(d),
                Event::Alert(_) => alerts += 1,
                _ => {}
            }
        }
        // The bursts arrived, yet no connection counted as healthy: the count climbs and
        // each wait stays under its doubled cap (20, 40, 80, 160 ms).
        assert!(alerts >= 3, "{transport:?}: {alerts} alerts");
        assert_eq!(attempts, [1, 2, 3, 4], "{transport:?}");
        for (i, d) in delays.iter().enumerate() {
            assert!(
                *d <= Duration::from_millis(20 << i),
                "{transport:?}: {delays:?}"
            );
        }
        listener.stop();
        flapper.join().unwrap();
    }
}
