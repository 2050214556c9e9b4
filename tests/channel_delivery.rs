//! Events delivered to a channel given as the handler: std's mpsc, crossbeam's in a
//! `select!` loop, a full bounded channel that must not hold up `stop()`, a dropped
//! receiver that ends the listener, and the same alerts and errors a callback sees.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use crossbeam_channel::select;
use plex_alerts::mock::MockServer;
use plex_alerts::{Alert, AlertListener, ConnectionState, Event, Filters, Notification};

/// Calls `stop()` on a helper thread and returns how long it took; a `stop()` that hangs
/// fails the test after [`HANG_GUARD`] instead of hanging it.
fn timed_stop(listener: AlertListener, what: &str) -> Duration {
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        let started = Instant::now();
        listener.stop();
        let _ = done_tx.send(started.elapsed());
    });
    let took = done_rx
        .recv_timeout(HANG_GUARD)
        .unwrap_or_else(|_| panic!("{what}: stop() did not return within {HANG_GUARD:?}"));
    println!("{what}: stop() took {took:?}");
    took
}

#[test]
fn std_mpsc_sender_receives_states_and_alerts_and_stopped_comes_last() {
    for transport in BOTH {
        let server = MockServer::start();
        let (tx, rx) = mpsc::channel::<Event>();
        let listener = AlertListener::builder(server.url())
            .token(server.token())
            .transport(transport)
            .handler(tx)
            .start()
            .expect("start");

        match rx.recv_timeout(HANG_GUARD).expect("a first event") {
            Event::State(ConnectionState::Connecting { attempt }) => {
                assert_eq!(attempt, 1, "{transport:?}")
            }
            other => panic!("{transport:?}: expected Connecting first, got {other:?}"),
        }
        match rx.recv_timeout(HANG_GUARD).expect("a second event") {
            Event::State(ConnectionState::Connected { .. }) => {}
            other => panic!("{transport:?}: expected Connected second, got {other:?}"),
        }

        // The mock registers a client only after it has answered the handshake.
        assert!(
            server.wait_for_clients(1, HANG_GUARD),
            "{transport:?}: the server has no client"
        );
        assert_eq!(server.send(&numbered_frame(42)), 1, "{transport:?}");
        match rx.recv_timeout(HANG_GUARD).expect("the alert") {
            Event::Alert(alert) => {
                assert_eq!(alert.kind(), "playing");
                assert_eq!(seq_of(&alert), 42);
            }
            other => panic!("{transport:?}: expected the alert, got {other:?}"),
        }

        listener.stop();
        // The thread has ended: everything it sent is already in the channel.
        let rest: Vec<Event> = rx.try_iter().collect();
        assert!(
            matches!(rest.last(), Some(Event::State(ConnectionState::Stopped))),
            "{transport:?}: the last event must be Stopped: {rest:?}"
        );
        assert_eq!(
            rest.iter()
                .filter(|e| matches!(e, Event::State(ConnectionState::Stopped)))
                .count(),
            1,
            "{transport:?}: Stopped once: {rest:?}"
        );
        assert!(
            matches!(rx.try_recv(), Err(mpsc::TryRecvError::Disconnected)),
            "{transport:?}: the listener let go of the sender"
        );
    }
}

#[test]
fn crossbeam_select_over_alerts_and_an_app_shutdown_channel_works() {
    for transport in BOTH {
        let server = MockServer::start();
        let (listener, alerts) = connected(&server, transport);
        let (shutdown_tx, shutdown_rx) = crossbeam_channel::bounded::<()>(1);
        for i in 0..3 {
            assert_eq!(server.send(&numbered_frame(i)), 1, "{transport:?}");
        }

        let mut received = Vec::new();
        let mut shut_down = false;
        // Bounded: 3 alerts, a few state events, the shutdown.
        for _ in 0..100 {
            select! {
                recv(alerts) -> event => match event.expect("the listener is running") {
                    Event::Alert(alert) => {
                        received.push(seq_of(&alert));
                        if received.len() == 3 {
                            // As a Ctrl-C handler of the app would.
                            shutdown_tx.send(()).unwrap();
                        }
                    }
                    Event::Error(error) => panic!("{transport:?}: unexpected error {error}"),
                    Event::State(_) => {}
                    other => panic!("{transport:?}: unexpected event {other:?}"),
                },
                recv(shutdown_rx) -> _ => {
                    shut_down = true;
                    break;
                }
                default(HANG_GUARD) => panic!("{transport:?}: nothing arrived; got {received:?}"),
            }
        }
        assert!(
            shut_down,
            "{transport:?}: the loop did not see the shutdown"
        );
        assert_eq!(received, [0, 1, 2], "{transport:?}");

        let took = timed_stop(listener, &format!("{transport:?} after the select loop"));
        assert!(took < HANG_GUARD, "{transport:?}: stop() took {took:?}");
    }
}

#[test]
fn stop_returns_promptly_when_a_bounded_channel_is_full_and_not_drained() {
    for transport in BOTH {
        let server = MockServer::start();
        let (tx, rx) = crossbeam_channel::bounded::<Event>(1);
        let listener = AlertListener::builder(server.url())
            .token(server.token())
            .transport(transport)
            .handler(tx)
            .start()
            .expect("start");
        // Drain only the connection's state changes, so that the channel is empty when
        // the alerts come.
        wait_state(&rx, |s| matches!(s, ConnectionState::Connected { .. }));
        assert!(
            server.wait_for_clients(1, HANG_GUARD),
            "{transport:?}: not connected"
        );

        for i in 0..20 {
            assert_eq!(server.send(&numbered_frame(i)), 1, "{transport:?}");
        }
        // The app stops draining. The first alert fills the channel; wait until the
        // listener has read the second, i.e. is blocked handing it over. (No event marks
        // that moment: yield, bounded by the hang guard.)
        let deadline = Instant::now() + HANG_GUARD;
        while listener.stats().alerts < 2 {
            assert!(
                Instant::now() < deadline,
                "{transport:?}: the listener read {} alerts",
                listener.stats().alerts
            );
            std::thread::yield_now();
        }
        assert!(rx.is_full(), "{transport:?}");

        let took = timed_stop(
            listener,
            &format!("{transport:?} with a full bounded(1) channel"),
        );
        assert!(
            took < HANG_GUARD,
            "{transport:?}: stop() waited for the app to drain ({took:?})"
        );

        let left: Vec<Event> = rx.try_iter().collect();
        let alerts = left.iter().filter(|e| matches!(e, Event::Alert(_))).count();
        assert!(
            alerts <= 1,
            "{transport:?}: {alerts} alerts in a bounded(1) channel: {left:?}"
        );
    }
}

#[test]
fn dropping_the_receiver_ends_the_listener() {
    for transport in BOTH {
        let server = MockServer::start();
        let (listener, rx) = connected(&server, transport);
        server.send(&numbered_frame(0));
        assert_eq!(seq_of(&next_alert(&rx)), 0, "{transport:?}");

        drop(rx);
        assert_eq!(server.send(&numbered_frame(1)), 1, "{transport:?}");

        // The listener hangs up on the server...
        assert!(
            server.wait_for_no_clients(HANG_GUARD),
            "{transport:?}: the listener stayed connected after the receiver was dropped"
        );
        // ...and its thread ends (join on a helper thread, so a hang fails the test).
        let handle = listener.stop_handle();
        let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(1);
        std::thread::spawn(move || {
            assert!(
                listener.join().is_ok(),
                "a dropped receiver is not an error"
            );
            let _ = done_tx.send(());
        });
        assert!(
            done_rx.recv_timeout(HANG_GUARD).is_ok(),
            "{transport:?}: the listener thread did not end (is_running = {})",
            handle.is_running()
        );
        assert!(!handle.is_running(), "{transport:?}");
        // Nothing reconnects: the server sees no new handshake.
        assert_eq!(server.handshakes(), 1, "{transport:?}");
    }
}

/// What a listener delivered, in order: alerts, and errors as their text.
#[derive(Debug, PartialEq)]
enum Seen {
    Alert(Alert),
    Error(String),
}

#[test]
fn a_channel_receives_the_alerts_and_errors_a_callback_sees() {
    // A channel's alerts get their typed view on the receiving thread (the listener only
    // checks that it fits): the alerts, and the misfit's error, must not differ.
    // Misfits in a number field and in a text field (text is checked without being kept).
    let misfits = [
        r#"{"NotificationContainer":{"type":"playing","size":1,"PlaySessionStateNotification":[{"sessionKey":"7","viewOffset":"soon"}]}}"#,
        r#"{"NotificationContainer":{"type":"timeline","size":1,"TimelineEntry":[{"title":"x","itemID":{"id":1}}]}}"#,
    ];
    let mut frames = all_fixture_frames();
    let first_misfit = frames.len();
    frames.extend(misfits.map(str::to_owned));
    frames.push(numbered_frame(1));
    for transport in BOTH {
        let server = MockServer::start();
        let start = |builder: plex_alerts::Builder| {
            builder
                .transport(transport)
                .filters(Filters::all())
                .start()
                .expect("start")
        };
        let base = || AlertListener::builder(server.url()).token(server.token());

        let (seen_tx, by_callback) = crossbeam_channel::unbounded();
        let error_tx = seen_tx.clone();
        let callbacks = start(
            base()
                .callback(move |a| drop(seen_tx.send(Seen::Alert(a))))
                .callback_error(move |e| drop(error_tx.send(Seen::Error(e.to_string())))),
        );
        let (tx, by_crossbeam) = crossbeam_channel::unbounded();
        let crossbeam = start(base().handler(tx));
        let (tx, by_mpsc) = mpsc::channel();
        let mpsc_listener = start(base().handler(tx));
        assert!(
            server.wait_for_clients(3, HANG_GUARD),
            "{transport:?}: not all connected"
        );
        for frame in &frames {
            assert_eq!(server.send(frame), 3, "{transport:?}");
        }

        let n = frames.len() + misfits.len(); // every frame is an alert; a misfit adds an error
        let from_callback: Vec<Seen> = (0..n)
            .map(|_| by_callback.recv_timeout(HANG_GUARD).expect("in time"))
            .collect();
        let seen = |next: &mut dyn FnMut() -> Event| -> Vec<Seen> {
            let mut out = Vec::new();
            while out.len() < n {
                match next() {
                    Event::Alert(a) => out.push(Seen::Alert(a)),
                    Event::Error(e) => out.push(Seen::Error(e.to_string())),
                    _ => {}
                }
            }
            out
        };
        let from_crossbeam = seen(&mut || by_crossbeam.recv_timeout(HANG_GUARD).expect("in time"));
        let from_mpsc = seen(&mut || by_mpsc.recv_timeout(HANG_GUARD).expect("in time"));

        assert_eq!(from_crossbeam, from_callback, "{transport:?}: crossbeam");
        assert_eq!(from_mpsc, from_callback, "{transport:?}: mpsc");
        // And what they agree on is right: typed views, each misfit raw and then reported.
        let misfit = |i: usize| {
            (first_misfit..first_misfit + 2 * misfits.len())
                .contains(&i)
                .then(|| (i - first_misfit) % 2 == 0)
        };
        for (i, seen) in from_crossbeam.iter().enumerate() {
            match (misfit(i), seen) {
                (Some(true), Seen::Alert(a)) => {
                    assert_eq!(a.notification(), &Notification::Other, "{transport:?}")
                }
                (Some(false), Seen::Error(e)) => {
                    assert!(
                        e.contains("did not fit its typed view"),
                        "{transport:?}: {e}"
                    )
                }
                (None, Seen::Alert(a)) => assert_ne!(
                    a.notification(),
                    &Notification::Other,
                    "{transport:?}: {}",
                    a.raw_json()
                ),
                (_, other) => panic!("{transport:?}: at {i}: {other:?}"),
            }
        }
        for listener in [callbacks, crossbeam, mpsc_listener] {
            listener.stop();
        }
    }
}
