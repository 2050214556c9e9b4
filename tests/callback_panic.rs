//! A panic in the user's code is caught, reported, and survived: the listener keeps its
//! connection and goes on delivering, and `stop()` still returns.
//!
//! The default panic hook prints the (expected) panics of these tests; it is left alone so
//! that other tests in this binary are not affected.

mod common;

use std::time::Duration;

use common::*;
use crossbeam_channel::{Receiver, Sender};
use plex_alerts::mock::{MockServer, Raw};
use plex_alerts::{AlertListener, Builder, ConnectionState, Error, Event};

/// What the user's code was called with, in order.
#[derive(Debug)]
enum Got {
    Alert(u64),
    Error(Error),
    State(ConnectionState),
}

/// A builder for `server` with its token and a fast reconnect (no callbacks yet).
fn bare_builder(server: &MockServer) -> Builder {
    AlertListener::builder(server.url())
        .token(server.token())
        .reconnect(plex_alerts::Reconnect::exponential(
            Duration::from_millis(20),
            Duration::from_millis(200),
        ))
}

/// A builder whose `on_state` reports to `tx`.
fn builder_reporting_states(server: &MockServer, tx: &Sender<Got>) -> Builder {
    let states = tx.clone();
    bare_builder(server).on_state(move |s| {
        let _ = states.send(Got::State(s));
    })
}

/// Starts `builder` and waits until the listener is connected (its state report).
fn start_connected(server: &MockServer, builder: Builder, rx: &Receiver<Got>) -> AlertListener {
    let listener = builder.start().expect("start");
    assert!(server.wait_for_handshakes(1, HANG_GUARD), "no handshake");
    for _ in 0..10 {
        match rx.recv_timeout(HANG_GUARD).expect("a state in time") {
            Got::State(ConnectionState::Connected { .. }) => return listener,
            Got::State(ConnectionState::Connecting { .. }) => {}
            other => panic!("expected the connection, got {other:?}"),
        }
    }
    panic!("never connected");
}

/// The next report, which must not be a state change: nothing reconnects in these tests.
fn next(rx: &Receiver<Got>) -> Got {
    match rx.recv_timeout(HANG_GUARD).expect("a call in time") {
        Got::State(s) => panic!("the connection changed state: {s:?}"),
        got => got,
    }
}

fn expect_alert(rx: &Receiver<Got>, seq: u64) {
    match next(rx) {
        Got::Alert(n) if n == seq => {}
        other => panic!("expected alert {seq}, got {other:?}"),
    }
}

/// Expects `Error::CallbackPanicked` carrying `message`.
fn expect_panic_report(rx: &Receiver<Got>, message: &str) {
    match next(rx) {
        Got::Error(Error::CallbackPanicked { message: m }) => {
            assert_eq!(m, message, "the panic's message is reported");
        }
        other => panic!("expected Error::CallbackPanicked, got {other:?}"),
    }
}

/// Checks the listener kept its one connection, then stops it; fails if `stop()` hangs.
fn still_running_then_stop(server: &MockServer, listener: AlertListener) {
    assert!(listener.is_running(), "the listener ended");
    assert_eq!(server.handshakes(), 1, "the listener reconnected");
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        listener.stop();
        let _ = done_tx.send(());
    });
    done_rx
        .recv_timeout(HANG_GUARD)
        .expect("stop() returned in time");
}

#[test]
fn a_panicking_callback_is_reported_to_callback_error_and_later_alerts_still_arrive() {
    let server = MockServer::start();
    let (tx, rx) = crossbeam_channel::unbounded();
    let (alerts, errors) = (tx.clone(), tx.clone());
    let builder = builder_reporting_states(&server, &tx)
        .callback(move |alert| {
            let seq = seq_of(&alert);
            if seq == 2 {
                panic!("the callback refused alert {seq}");
            }
            let _ = alerts.send(Got::Alert(seq));
        })
        .callback_error(move |error| {
            let _ = errors.send(Got::Error(error));
        });
    let listener = start_connected(&server, builder, &rx);
    for seq in 1..=3 {
        assert_eq!(server.send(&numbered_frame(seq)), 1);
    }
    expect_alert(&rx, 1);
    expect_panic_report(&rx, "the callback refused alert 2");
    expect_alert(&rx, 3);
    still_running_then_stop(&server, listener);
}

#[test]
fn a_panicking_callback_error_does_not_end_the_listener() {
    let server = MockServer::start();
    let (tx, rx) = crossbeam_channel::unbounded();
    let (alerts, errors) = (tx.clone(), tx.clone());
    let builder = builder_reporting_states(&server, &tx)
        .callback(move |alert| {
            let _ = alerts.send(Got::Alert(seq_of(&alert)));
        })
        .callback_error(move |error| {
            let _ = errors.send(Got::Error(error));
            panic!("callback_error panicked");
        });
    let listener = start_connected(&server, builder, &rx);
    for round in 1..=2 {
        assert_eq!(server.send_raw(Raw::Text("{not json".to_owned())), 1);
        assert_eq!(server.send(&numbered_frame(round)), 1);
        match next(&rx) {
            Got::Error(Error::Decode { .. }) => {}
            other => panic!("round {round}: expected callback_error with Decode, got {other:?}"),
        }
        expect_alert(&rx, round);
    }
    still_running_then_stop(&server, listener);
}

#[test]
fn a_panicking_callback_whose_callback_error_also_panics_does_not_end_the_listener() {
    let server = MockServer::start();
    let (tx, rx) = crossbeam_channel::unbounded();
    let (alerts, errors) = (tx.clone(), tx.clone());
    let builder = builder_reporting_states(&server, &tx)
        .callback(move |alert| {
            let seq = seq_of(&alert);
            if seq == 1 {
                panic!("the callback refused alert 1");
            }
            let _ = alerts.send(Got::Alert(seq));
        })
        .callback_error(move |error| {
            let _ = errors.send(Got::Error(error));
            panic!("callback_error panicked too");
        });
    let listener = start_connected(&server, builder, &rx);
    assert_eq!(server.send(&numbered_frame(1)), 1);
    assert_eq!(server.send(&numbered_frame(2)), 1);
    expect_panic_report(&rx, "the callback refused alert 1");
    expect_alert(&rx, 2);
    still_running_then_stop(&server, listener);
}

/// A handler closure taking [`Event`] that reports everything to `tx`, and panics with
/// `message` when `panics_on` says so.
fn panicking_handler(
    tx: Sender<Got>,
    panics_on: impl Fn(&Event) -> bool + Send + 'static,
    message: &'static str,
) -> impl FnMut(Event) + Send + 'static {
    move |event: Event| {
        if panics_on(&event) {
            panic!("{}", message);
        }
        let _ = tx.send(match event {
            Event::Alert(alert) => Got::Alert(seq_of(&alert)),
            Event::Error(error) => Got::Error(error),
            Event::State(state) => Got::State(state),
            other => panic!("an event of a new kind: {other:?}"),
        });
    }
}

fn is_alert(event: &Event, seq: u64) -> bool {
    matches!(event, Event::Alert(a) if seq_of(a) == seq)
}

#[test]
fn a_panicking_handler_gets_the_panic_as_an_error_event_and_later_alerts_still_arrive() {
    let server = MockServer::start();
    let (tx, rx) = crossbeam_channel::unbounded();
    let handler = panicking_handler(tx, |e| is_alert(e, 2), "the handler refused alert 2");
    let listener = start_connected(&server, bare_builder(&server).handler(handler), &rx);
    for seq in 1..=3 {
        assert_eq!(server.send(&numbered_frame(seq)), 1);
    }
    expect_alert(&rx, 1);
    expect_panic_report(&rx, "the handler refused alert 2");
    expect_alert(&rx, 3);
    still_running_then_stop(&server, listener);
}

#[test]
fn a_handler_that_panics_on_every_error_does_not_end_the_listener() {
    let server = MockServer::start();
    let (tx, rx) = crossbeam_channel::unbounded();
    let handler = panicking_handler(
        tx,
        |e| matches!(e, Event::Error(_)),
        "the handler refused an error",
    );
    let listener = start_connected(&server, bare_builder(&server).handler(handler), &rx);
    for round in 1..=2 {
        assert_eq!(server.send_raw(Raw::Text("{not json".to_owned())), 1);
        assert_eq!(server.send(&numbered_frame(round)), 1);
        expect_alert(&rx, round);
    }
    still_running_then_stop(&server, listener);
}

#[test]
fn a_handler_that_panics_on_a_state_change_still_gets_alerts() {
    let server = MockServer::start();
    let (tx, rx) = crossbeam_channel::unbounded();
    let handler = panicking_handler(
        tx,
        |e| matches!(e, Event::State(ConnectionState::Connected { .. })),
        "the handler refused the connection",
    );
    let listener = bare_builder(&server).handler(handler).start().unwrap();
    assert!(server.wait_for_handshakes(1, HANG_GUARD), "no handshake");
    match rx.recv_timeout(HANG_GUARD).expect("a call in time") {
        Got::State(ConnectionState::Connecting { .. }) => {}
        other => panic!("expected Connecting, got {other:?}"),
    }
    expect_panic_report(&rx, "the handler refused the connection");
    assert_eq!(server.send(&numbered_frame(1)), 1);
    expect_alert(&rx, 1);
    still_running_then_stop(&server, listener);
}
